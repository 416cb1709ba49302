"""``mlsre notify``: deliver, inspect and retry notifications; test a channel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mlsre.cli import common, output
from mlsre.cli.common import AsOpt, JsonOpt, config_path
from mlsre.errors import ExitCode
from mlsre.incident.model import MAX_ROW_ID

if TYPE_CHECKING:
    pass

app = typer.Typer(
    help="Notifications: deliver the outbox, see what failed, retry, test a channel.\n\n"
    "Example: mlsre notify flush   (from cron every minute: delivery and escalation without a server)",
    no_args_is_help=True,
)


@app.command("flush")
def flush(ctx: typer.Context, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Escalate what is due, then deliver every queued notification that is due.

    Run it from cron (every minute) for delivery and escalation without `mlsre serve`.
    Exit 1 while anything is still waiting or dead-lettered (see `notify list --failed`).

    Example: mlsre notify flush
    """
    from mlsre.actor import resolve_actor
    from mlsre.notify.service import flush_all

    settings, store = common.settings_and_store(ctx)
    report = flush_all(store, settings, resolve_actor(as_))
    pending = store.pending_outbox()
    dead = len(store.outbox("dead"))
    if as_json:
        output.print_json({**output.to_jsonable(report), "pending": pending, "dead_total": dead})
    else:
        for e in report.escalated:
            output.line(f"escalated {e}")
        output.line(
            f"sent {report.sent}, retrying later {report.retrying}, dead-lettered {report.dead}; "
            f"{pending} waiting, {dead} dead-lettered in all"
        )
        for err in report.errors:
            output.err(f"  {err}")
    if dead or pending:
        raise typer.Exit(int(ExitCode.FAILED))


@app.command("list")
def list_(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only dead-lettered ones.")] = False,
    pending: Annotated[bool, typer.Option("--pending", help="Only ones still to send.")] = False,
    limit: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="At most this many, newest first.")
    ] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List notifications, newest first, with their delivery state and last error.

    Example: mlsre notify list --failed
    """
    _, store = common.settings_and_store(ctx)
    status = "dead" if failed else ("pending" if pending else None)
    rows = store.outbox(status, limit)
    if as_json:
        output.print_json(rows)
        return
    from mlsre.timeutil import iso

    output.table(
        None,
        ["id", "incident", "event", "channel", "action", "status", "tries", "last error"],
        [
            [
                str(r.id),
                f"INC-{r.incident_id}",
                r.event_kind,
                r.channel,
                r.action,
                r.status if r.status != "pending" else f"pending (next {iso(r.next_attempt_at)})",
                str(r.attempts),
                r.last_error or "",
            ]
            for r in rows
        ],
    )


@app.command("retry")
def retry(
    ctx: typer.Context,
    notification: Annotated[
        int | None,
        typer.Argument(
            min=1, max=MAX_ROW_ID, help="A notification id (default: every dead-lettered one)."
        ),
    ] = None,
) -> None:
    """Send dead-lettered notifications again (then `notify flush`, or it happens now).

    Example: mlsre notify retry 42
    """
    from mlsre.notify.service import after_command
    from mlsre.timeutil import utcnow

    _, store = common.settings_and_store(ctx)
    n = store.retry_outbox(notification, utcnow())
    output.line(f"requeued {n} notification(s)")
    left = after_command(store, config_path(ctx))
    if left:
        output.err(left)


@app.command("test")
def test(
    ctx: typer.Context,
    channel: Annotated[str, typer.Argument(help="A channel name from notify.channels.")],
) -> None:
    """Send a test message on a channel and show the endpoint's answer.

    PagerDuty gets an info-level alert that is resolved at once.

    Example: mlsre notify test ml-slack
    """
    from mlsre.notify.service import test_channel

    settings, store = common.settings_and_store(ctx)
    result = test_channel(store, settings, channel)
    if result.ok:
        output.line(f"{channel}: delivered ({result.detail})")
        return
    output.err(f"{channel}: not delivered: {result.detail}")
    raise typer.Exit(int(ExitCode.FAILED))
