"""``mlsre change``: the team's change log (deploys, data, config flips) for "what changed?"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mlsre.changes.model import ChangeKind
from mlsre.cli import common, output
from mlsre.cli.common import AsOpt, JsonOpt

if TYPE_CHECKING:
    pass

app = typer.Typer(
    help="The team's change log, read by `mlsre incident changes`.\n\n"
    "Example: mlsre change record 'feature store schema v12' --kind data --model fraud-detector",
    no_args_is_help=True,
)


@app.command("record")
def record(
    ctx: typer.Context,
    summary: Annotated[str, typer.Argument(help="What changed, in a few words.")],
    kind: Annotated[ChangeKind, typer.Option("--kind", "-k", help="What kind of change.")],
    model: Annotated[str | None, typer.Option(help="The model it touches.")] = None,
    service: Annotated[str | None, typer.Option(help="The service it touches.")] = None,
    at: Annotated[
        str | None,
        typer.Option(help="When it reached production: -2h, or an ISO time (default: now)."),
    ] = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a change (a deploy, a data refresh, a config flip) in the team's change log.

    CI/CD pipelines can call this after each deploy, so `incident changes` ranks it.

    Example: mlsre change record 'feature store schema v12' --kind data --model fraud-detector --at -3h
    """
    from mlsre.actor import resolve_actor
    from mlsre.changes.service import record_change

    row = record_change(
        common.store(ctx), summary, kind, resolve_actor(as_), model=model, service=service, at=at
    )
    if as_json:
        output.print_json(row)
    else:
        output.line(f"Recorded change {row.id}: {row.summary}")


@app.command("list")
def list_(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Only changes from this time: -7d, or an ISO time.")
    ] = "-7d",
    model: Annotated[
        str | None, typer.Option(help="Only changes of this model (and those of no model).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the change log, oldest first.

    Example: mlsre change list --since -30d --model fraud-detector
    """
    from mlsre.changes.service import list_changes

    rows = list_changes(common.store(ctx), since, model)
    if as_json:
        output.print_json(rows)
        return
    from mlsre.cli.changes_view import render_log

    render_log(rows)
