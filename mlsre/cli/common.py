"""What many commands share, defined once: option aliases and the settings and store they run on.

An option that means the same thing in two commands is declared here, with one help text;
an option whose meaning differs per command (``--output``, ``--seed``) stays with its command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mlsre.incident.store import Store
    from mlsre.settings import Settings

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
IncidentOpt = Annotated[
    str | None, typer.Option("--incident", help="Record it on this incident, e.g. INC-7.")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
]
ApproveOpt = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Approve confirm-gated steps (mitigations) without asking."),
]
NonInteractiveOpt = Annotated[
    bool,
    typer.Option(
        "--non-interactive",
        help="No prompts: confirm-gated steps wait for approval unless --yes;"
        " manual steps stay pending.",
    ),
]
InputOpt = Annotated[
    list[str] | None, typer.Option("--input", "-i", help="Runbook input, name=value (repeatable).")
]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="Evaluate as of this time: now (default), -2h, ISO 8601, unix."),
]
_REPLAY = "Answer from recorded evidence (an incident export) instead of live systems."
ReplayOpt = Annotated[Path | None, typer.Option("--replay", help=_REPLAY)]
ReplayRequiredOpt = Annotated[Path, typer.Option("--replay", help=_REPLAY)]
ConfigInputOpt = Annotated[
    list[str] | None,
    typer.Option("--input", "-i", help="CanaryConfig input, name=value (repeatable)."),
]
StepOpt = Annotated[str, typer.Option("--step", help="Resolution of the range queries.")]


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


def settings(ctx: typer.Context) -> Settings:
    """The validated settings the command runs with: flag > env > file > default."""
    from mlsre.settings import load_settings

    flag = store_flag(ctx)
    loaded, _ = load_settings(config_path(ctx), {("store", "url"): flag} if flag else None)
    return loaded


def store(ctx: typer.Context) -> Store:
    """The incident store, found without validating every setting (the 03:00 hot path)."""
    from mlsre.config_file import store_url
    from mlsre.incident.store import open_store

    return open_store(store_url(store_flag(ctx), config_path(ctx)))


def settings_and_store(ctx: typer.Context) -> tuple[Settings, Store]:
    """Both, for commands that need the settings anyway (one read of mlsre.yaml)."""
    from mlsre.incident.store import open_store

    loaded = settings(ctx)
    return loaded, open_store(loaded.store.url)
