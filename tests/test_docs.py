"""README stays true: its commands exist, their options exist, and CI runs its test command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.support.helpers import run

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def _mlsre_commands() -> list[list[str]]:
    commands = []
    for block in _shell_blocks():
        text = block.replace("\\\n", " ")
        for raw in text.splitlines():
            words = shlex.split(raw, comments=True)
            argv: list[str] = []
            for word in [*words, "&&"]:
                if word in ("&&", ";", "|"):
                    if argv and argv[0].endswith("mlsre") and len(argv) > 1:
                        commands.append(argv[1:])
                    argv = []
                else:
                    argv.append(word)
    return commands


def _command_path(argv: list[str]) -> list[str]:
    """The longest prefix of ``argv`` that names a command (group, subgroup, command)."""
    import click
    from typer.main import get_command

    from mlsre.cli.app import app

    cmd: click.Command = get_command(app)
    path: list[str] = []
    for word in argv:
        if not isinstance(cmd, click.Group):
            break
        sub = cmd.get_command(click.Context(cmd), word)
        if sub is None:
            break
        cmd, path = sub, [*path, word]
    return path


def test_every_readme_command_and_option_exists() -> None:
    commands = _mlsre_commands()
    assert len(commands) >= 20
    for argv in commands:
        path = _command_path(argv)
        assert path, f"README runs `mlsre {' '.join(argv)}`: no such command"
        r = run(*path, "--help")
        assert r.exit_code == 0, (argv, r.output)
        for opt in (a.split("=")[0] for a in argv if a.startswith("--")):
            assert opt in r.stdout, f"README passes {opt} to `mlsre {' '.join(path)}`"


def test_ci_runs_exactly_readmes_test_command() -> None:
    assert "./scripts/test" in _shell_blocks()[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == "exec ./scripts/test"
    script = (ROOT / "scripts" / "test").read_text()
    assert "pytest" in script and "mypy" in script and "ruff format --check" in script
    assert "scripts/install-test-servers" in script


def test_readme_first_command_is_the_demo() -> None:
    first = _shell_blocks()[0]
    assert "pip install" in first and first.strip().endswith("mlsre demo")


def test_step_kinds_doc_lists_exactly_the_registered_kinds_and_their_modules() -> None:
    """docs/step-kinds.md is checked against the step-kind registry, so it cannot fall behind."""
    import re

    from mlsre.steps.catalog import default_catalog

    text = (Path(__file__).resolve().parents[1] / "docs" / "step-kinds.md").read_text()
    documented: dict[str, str] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`") or not cells[1].startswith("`mlsre."):
            continue
        names = re.findall(r"`([a-z.]+)`", cells[0])
        family = ""
        for name in names:
            if name.startswith("."):  # `prometheus.query` / `.range`: the family's prefix
                name = family + name
            family = name.rsplit(".", 1)[0] if "." in name else name
            documented[name] = cells[1].strip("`")
    reg = default_catalog()
    registered = {name: reg.kinds[name].__module__ for name in reg.names()}
    assert documented == registered
