"""What ``mlsre notify ...`` and the incident commands ask of notifications, below the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlsre.errors import MlsreError, NotFoundError
from mlsre.notify.channels.base import Delivery, Message
from mlsre.notify.outbox import FlushReport, flush, send
from mlsre.timeutil import utcnow

if TYPE_CHECKING:
    from mlsre.incident.store import Store
    from mlsre.notify.plan import Snapshot


def notify_settings(config_path: Path | None) -> Any:
    """The validated settings when mlsre.yaml configures notify/escalation at all, else None
    (no pydantic for a workspace that does not page anyone)."""
    from mlsre.config_file import read_raw

    raw = read_raw(config_path)
    if not (raw.data.get("escalation") or raw.data.get("notify")):
        return None
    from mlsre.settings import load_settings

    settings, _ = load_settings(config_path)
    return settings


def escalation_for(
    settings: Any, severity: str, model: str | None, service: str | None
) -> Snapshot | None:
    """The escalation policy a new incident gets, frozen; None when none matches."""
    if settings is None:
        return None
    from mlsre.notify.plan import snapshot_for

    return snapshot_for(settings, severity, model, service)


def after_command(store: Store, config_path: Path | None, settings: Any = None) -> str | None:
    """Deliver what a command just queued, for about a second at most; a line to show when
    something is left for `notify flush` (a channel down never fails the command).
    ``settings``: when the command already loaded them."""
    try:
        if store.pending_outbox() == 0:
            return None
        if settings is None:
            from mlsre.settings import load_settings

            settings, _ = load_settings(config_path)
        report = flush(store, settings, budget_s=settings.notify.flush_budget_s)
    except MlsreError as exc:
        return f"notifications queued, not sent yet: {exc.message} (`mlsre notify flush` retries)"
    left = store.pending_outbox()
    if not left:
        return None
    last = report.errors[-1] if report.errors else None
    if last is None:  # nothing was due yet: say why the waiting ones wait
        last = next((r.last_error for r in store.outbox("pending", 20) if r.last_error), None)
    why = f": {last}" if last else ""
    return f"{left} notification(s) queued, not sent yet{why} (`mlsre notify flush` retries)"


def flush_all(store: Store, settings: Any, actor: str) -> FlushReport:
    return flush(store, settings, actor=actor)


def test_channel(store: Store, settings: Any, channel: str) -> Delivery:
    """Send a test message on ``channel`` (not through the outbox) and report the answer."""
    if channel not in settings.notify.channels:
        have = ", ".join(sorted(settings.notify.channels)) or "none"
        raise NotFoundError(f"no channel {channel!r} in notify.channels (have: {have})")
    now = utcnow().isoformat()
    msg = Message(
        row_id=0,
        channel=channel,
        action="update",
        event_kind="test",
        event={"kind": "test", "at": now, "data": {}},
        incident={
            "ref": "TEST",
            "title": "mlsre test notification: nothing is wrong",
            "severity": "SEV5",
            "status": "test",
            "roles": {},
        },
        dedup_key=f"mlsre-{store.store_id()}-test",
        idempotency_key=f"mlsre-{store.store_id()}-test-{now}",
    )
    if settings.notify.channels[channel].type != "pagerduty":
        return send(settings, msg)
    # PagerDuty has no test endpoint: an info-level alert, resolved at once
    from dataclasses import replace

    first = send(settings, replace(msg, action="trigger"))
    if not first.ok:
        return first
    second = send(settings, replace(msg, action="resolve"))
    return second if not second.ok else Delivery(True, detail=f"{first.detail}, then resolved")
