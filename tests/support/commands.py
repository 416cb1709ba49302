"""The CLI's command tree, walked once for the tests that hold every command to a rule (help
with an example, strict --json, a terminal view, shared option wording, no exit 3)."""

from __future__ import annotations

from functools import cache

import click
from typer.main import get_command

from mlsre.cli.app import app

Path = tuple[str, ...]


@cache
def _tree() -> tuple[tuple[Path, click.Command], ...]:
    found: list[tuple[Path, click.Command]] = []

    def walk(cmd: click.Command, path: Path) -> None:
        found.append((path, cmd))
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)
            for name in cmd.list_commands(ctx):
                child = cmd.get_command(ctx, name)
                assert child is not None, name
                walk(child, (*path, name))

    walk(get_command(app), ())
    return tuple(found)


def command_tree(*, groups: bool = False) -> list[tuple[Path, click.Command]]:
    """Every command as ``(path, command)`` in the order `--help` lists them; with ``groups``,
    the groups too (the root group's path is ``()``)."""
    return [(p, c) for p, c in _tree() if groups or not isinstance(c, click.Group)]


def takes_json(cmd: click.Command) -> bool:
    return any("--json" in getattr(p, "opts", []) for p in cmd.params)
