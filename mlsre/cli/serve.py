"""``mlsre serve``: the Alertmanager receiver and incident page; ``serve pause|resume``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from mlsre.cli import common, output
from mlsre.cli.common import AsOpt, JsonOpt

app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
)


@app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on (non-loopback needs MLSRE_SERVE_TOKEN).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 9095,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Open incidents and diagnose, but never mitigate automatically."
        ),
    ] = False,
    refresh: Annotated[
        int, typer.Option(help="Seconds between refreshes of the incident page (0: never).", min=0)
    ] = 3,
) -> None:
    """Run the alert receiver: POST /api/v1/alerts/alertmanager, the incident page on /,
    /api/v1/incidents, /healthz, /readyz and /metrics. Stops cleanly on SIGTERM.

    Example: MLSRE_SERVE_TOKEN=s3cret mlsre serve --host 0.0.0.0 --port 9095
    """
    if ctx.invoked_subcommand is not None:
        return
    from mlsre.serve.server import ServeOptions, build, run

    opts = ServeOptions(host=host, port=port, dry_run=dry_run, refresh_s=refresh)
    asgi = build(common.settings(ctx), opts)
    mode = " (dry run: no automatic mitigation)" if dry_run else ""

    def ready() -> None:
        sys.stderr.write(f"mlsre serve: listening on http://{host}:{port}{mode}\n")
        sys.stderr.flush()

    run(asgi, opts, on_ready=ready)


@app.command()
def pause(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (shown on the page).")] = "",
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Kill switch: stop every automatic action of every `mlsre serve` on this store at once.

    Diagnoses still run; mitigations wait for a person until `mlsre serve resume`.

    Example: mlsre serve pause --reason "registry migration tonight"
    """
    _flag(ctx, reason or "paused", as_, as_json)


@app.command()
def resume(ctx: typer.Context, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Turn automatic actions back on after `mlsre serve pause`.

    Example: mlsre serve resume
    """
    _flag(ctx, None, as_, as_json)


def _flag(ctx: typer.Context, value: str | None, as_: str | None, as_json: bool) -> None:
    from mlsre.actor import resolve_actor
    from mlsre.serve.guard import PAUSE_FLAG, paused
    from mlsre.timeutil import utcnow

    _, store = common.settings_and_store(ctx)
    store.set_flag(PAUSE_FLAG, value, resolve_actor(as_), utcnow())
    why = paused(store)
    if as_json:
        output.print_json({"paused": why is not None, "why": why})
    else:
        output.line(f"automation {why}" if why else "automation on")
