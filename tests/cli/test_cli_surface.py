"""The CLI as a whole: help text everywhere, errors without tracebacks, lazy imports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import typer

from mlsre import __version__
from tests.support.commands import command_tree
from tests.support.helpers import ok, run


def _leaf_commands() -> list[tuple[str, ...]]:
    return [p for p, _ in command_tree(groups=True)]


def test_every_command_has_help_with_an_example() -> None:
    commands = _leaf_commands()
    assert len(commands) > 40
    groups = {path[0] for path in commands if len(path) > 1}
    assert {
        "incident",
        "runbook",
        "config",
        "model",
        "drift",
        "data",
        "slo",
        "postmortem",
    } <= groups
    missing = []
    for path in commands:
        r = run(*path, "--help")
        assert r.exit_code == 0, (path, r.output)
        if "Example:" not in r.stdout:
            missing.append(" ".join(path) or "mlsre")
    assert not missing, f"commands without an Example in --help: {missing}"


def test_version() -> None:
    assert ok("--version").stdout.strip() == f"mlsre {__version__}"


def test_internal_error_is_code_3_without_traceback(isolated: Path) -> None:
    # A store file that is not a database: an expected error (1), not a crash.
    Path("bad.db").write_text("this is not sqlite")
    r = run("--store", "sqlite:///bad.db", "incident", "list")
    assert r.exit_code == 1, r.output
    assert "cannot open incident store" in r.stderr and "Traceback" not in r.stderr


def test_traceback_flag_shows_the_stack(isolated: Path) -> None:
    r = run("--traceback", "incident", "show", "42")
    assert r.exit_code == 1
    assert "Traceback" in r.stderr and "no incident INC-42" in r.stderr


def _imported_modules(*args: str, cwd: Path) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlsre", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    mods = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            mods.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return mods


HEAVY = {
    "requests",
    "jinja2",
    "git",
    "numpy",
    "psycopg",
    "psycopg2",
    "pyarrow",
    "matplotlib",
    "pandas",
    "mlflow",
    "scipy",
    "starlette",
    "uvicorn",
    "prometheus_client",
    "anyio",
    "playwright",
}


def test_incident_list_and_help_import_nothing_heavy(isolated: Path) -> None:
    ok("init", ".")
    ok("incident", "open", "x")
    for args in (("incident", "list"), ("--help",)):
        mods = _imported_modules(*args, cwd=isolated)
        assert "sqlite3" in mods or args == ("--help",)
        assert not (mods & HEAVY), f"{args} imported {sorted(mods & HEAVY)}"
    assert "pydantic" not in _imported_modules("incident", "list", cwd=isolated)


def test_typer_is_only_in_cli() -> None:
    pkg = Path(__file__).resolve().parents[2] / "mlsre"
    offenders = []
    for path in pkg.rglob("*.py"):
        if "cli" in path.relative_to(pkg).parts:
            continue
        text = path.read_text()
        for banned in (
            r"import typer",
            r"from typer",
            r"import rich",
            r"from rich",
            r"\bprint\(",
            r"sys\.exit\(",
        ):
            if re.search(banned, text):
                offenders.append(f"{path.relative_to(pkg)}: {banned}")
    assert not offenders, offenders
    assert typer  # the CLI layer itself uses typer


def test_a_group_says_of_itself_what_the_root_says_of_it() -> None:
    """One home for each group's summary: COMMANDS in cli/app.py (its module adds examples)."""
    from mlsre.cli.app import COMMANDS, SINGLE

    for name, (_, summary) in COMMANDS.items():
        if name in SINGLE:
            continue
        out = ok(name, "--help").stdout
        assert " ".join(summary.split()) in " ".join(out.split()), (name, out[:400])


def test_single_commands_do_not_offer_shell_completion_of_their_own() -> None:
    from mlsre.cli.app import SINGLE

    for name in SINGLE:
        assert "--install-completion" not in ok(name, "--help").stdout, name
