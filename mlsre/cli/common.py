"""Options shared by many commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")
]
AsOpt = Annotated[
    str | None,
    typer.Option("--as", help="Who is doing this (default: $MLSRE_USER, git user.name, $USER)."),
]
IncidentArg = Annotated[
    str, typer.Argument(help="Incident id, e.g. INC-7 or 7.", metavar="INCIDENT")
]


def state(ctx: typer.Context) -> dict[str, object]:
    """Global options set on the root command (config path, store URL)."""
    root = ctx.find_root()
    if root.obj is None:
        root.obj = {}
    obj: dict[str, object] = root.obj
    return obj


def config_path(ctx: typer.Context) -> Path | None:
    value = state(ctx).get("config")
    return value if isinstance(value, Path) else None


def store_flag(ctx: typer.Context) -> str | None:
    value = state(ctx).get("store")
    return value if isinstance(value, str) else None
