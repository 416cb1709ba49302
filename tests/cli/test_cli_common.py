"""CLI plumbing has one home: shared options keep one help text; settings and store come from
mlsre.cli.common, so a flag such as ``--store`` means the same in every command."""

from __future__ import annotations

import typing
from pathlib import Path

import click
from typer.main import get_command
from typer.models import OptionInfo

from mlsre.cli import common
from mlsre.cli.app import app
from tests.support.commands import command_tree

# Commands whose option shares a flag with a common alias but means something else there.
OWN_MEANING = {
    ("change", "record", "--at"): "when the change reached production, not an evaluation time",
    ("runbook", "show", "--input"): "fills templates for display; nothing runs",
    ("runbook", "run", "--dry-run"): "also promises that nothing is queried",
    ("model", "restore", "--incident"): "defaults to the incident the fallback went on",
    ("incident", "follow", "--json"): "one JSON object per line, a stream",
}


def _aliases() -> dict[str, set[str]]:
    """Every flag declared in mlsre.cli.common, with the help texts its aliases give it."""
    helps: dict[str, set[str]] = {}
    for name in dir(common):
        if not name.endswith("Opt"):
            continue
        for meta in typing.get_args(getattr(common, name))[1:]:
            if isinstance(meta, OptionInfo):
                decls: tuple[object, ...] = (meta.default, *(meta.param_decls or ()))
                for flag in decls:  # typer keeps the first flag in `default`
                    if isinstance(flag, str) and flag.startswith("--"):
                        helps.setdefault(flag, set()).add(str(meta.help))
    return helps


def _options() -> list[tuple[tuple[str, ...], click.Option]]:
    return [(p, o) for p, cmd in command_tree() for o in cmd.params if isinstance(o, click.Option)]


def test_the_common_aliases_cover_the_repeated_flags() -> None:
    aliases = _aliases()
    assert {"--json", "--as", "--yes", "--dry-run", "--incident", "--input", "--at"} <= set(aliases)


def test_a_shared_flag_has_the_help_of_its_alias_everywhere() -> None:
    aliases = _aliases()
    drifted = []
    used = 0
    for path, option in _options():
        for flag in option.opts:
            if flag not in aliases:
                continue
            used += 1
            if (*path, flag) in OWN_MEANING:
                continue
            if option.help not in aliases[flag]:
                drifted.append(f"mlsre {' '.join(path)} {flag}: {option.help!r}")
    assert used > 100, used  # the walk really saw the commands
    assert not drifted, "declare these with the alias in mlsre/cli/common.py:\n" + "\n".join(
        drifted
    )


def test_the_exceptions_still_exist() -> None:
    seen = {(*path, flag) for path, option in _options() for flag in option.opts}
    assert set(OWN_MEANING) <= seen, set(OWN_MEANING) - seen


def test_settings_and_store_are_opened_only_in_common() -> None:
    """A twin helper is how `--store` once meant different things in different commands."""
    cli = Path(common.__file__).parent
    twins = []
    for path in sorted(cli.glob("*.py")):
        if path.name in ("common.py", "config_cmd.py", "store.py"):
            continue  # config show needs each value's source; store opens the raw event store
        text = path.read_text(encoding="utf-8")
        for call in ("load_settings(", "open_store(", "store_url("):
            if call in text:
                twins.append(f"{path.name}: {call}")
    assert not twins, twins


def test_a_group_module_names_every_subcommand_it_has() -> None:
    """A reader opening mlsre/cli/<group>.py finds where each subcommand lives, in one hop."""
    import importlib
    import re

    from mlsre.cli.app import COMMANDS, SINGLE

    root = get_command(app)
    assert isinstance(root, click.Group)
    ctx = click.Context(root)
    hidden = []
    for name, (module_name, _) in COMMANDS.items():
        if name in SINGLE:
            continue
        module = importlib.import_module(module_name)
        text = Path(str(module.__file__)).read_text(encoding="utf-8")
        named = set(re.findall(r"""app\.command\(\s*["']([\w-]+)["']""", text))
        named |= set(re.findall(r"""add_typer\([^)]*name=["']([\w-]+)["']""", text))
        bare = re.findall(r"@app\.command\(\)\s*def (\w+)\(", text)  # named for the function
        named |= {f.rstrip("_").replace("_", "-") for f in bare}
        group = root.get_command(ctx, name)
        assert isinstance(group, click.Group), name
        for sub in group.list_commands(click.Context(group)):
            if sub not in named:
                hidden.append(f"mlsre {name} {sub} (not named in {module_name})")
    assert not hidden, hidden
