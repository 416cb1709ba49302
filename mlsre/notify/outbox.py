"""Delivering the outbox: at least once, in order per incident and channel, never lost.

``flush`` first escalates incidents whose level is due, then sends the head of each (incident,
channel) queue, leased so that two workers (``serve`` and a cron ``notify flush``) never send
one row at the same time. A worker killed mid-send leaves a lease that expires: the row is sent
again with the same dedup and idempotency keys. 2xx is done; 429 waits for Retry-After; 5xx,
timeouts and unreachable endpoints back off exponentially with jitter; other 4xx, or
``max_attempts`` failures, dead-letter the row (``mlsre notify list --failed``, ``retry``).
A dead row does not hold back the rows behind it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mlsre.errors import MlsreError
from mlsre.notify.channels.base import Delivery, Message, classify, secret_from
from mlsre.timeutil import utcnow

if TYPE_CHECKING:
    from mlsre.incident.store import OutboxRow, Store

BACKOFF_MAX_S = 600.0


@dataclass
class FlushReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    escalated: list[str] = field(default_factory=list)  # "INC-3 to level 2"
    errors: list[str] = field(default_factory=list)  # one line per failed attempt
    out_of_time: bool = False


def backoff(attempts: int, base_s: float, retry_after_s: float | None = None) -> float:
    """Seconds before the next attempt: Retry-After when the endpoint says, else exponential
    from ``base_s`` (capped at 10 min) with jitter, so a recovering endpoint is not hit all at
    once."""
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), BACKOFF_MAX_S)
    delay: float = min(base_s * 2.0 ** max(attempts - 1, 0), BACKOFF_MAX_S)
    return delay * random.uniform(0.5, 1.0)


def flush(
    store: Store,
    settings: Any,
    *,
    budget_s: float | None = None,
    actor: str = "mlsre",
    escalate: bool = True,
) -> FlushReport:
    report = FlushReport()
    deadline = None if budget_s is None else time.monotonic() + budget_s
    if escalate:
        now = utcnow()
        for iid in store.due_escalations(now):
            done = store.escalate(iid, actor, now, due_only=True)
            if done is not None:
                state, ev = done
                report.escalated.append(f"{state.ref} to level {ev.data.get('level')}")
    context = _Context(store, settings)
    while True:
        now = utcnow()
        rows = store.claim_outbox(now, settings.notify.lease_s)
        if not rows:
            return report
        for i, row in enumerate(rows):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0.05:
                report.out_of_time = True
                for rest in rows[i:]:  # give the lease back: the next flush sends them
                    store.finish_outbox(
                        rest.id,
                        status="pending",
                        attempts=rest.attempts,
                        at=now,
                        next_attempt_at=now,
                    )
                return report
            _deliver(store, settings, context, row, left, report)


def _deliver(
    store: Store,
    settings: Any,
    context: _Context,
    row: OutboxRow,
    left: float | None,
    report: FlushReport,
) -> None:
    attempts = row.attempts + 1
    try:
        result = send(settings, context.message(row), timeout_s=left)
    except MlsreError as exc:
        result = Delivery(False, retry=True, detail=exc.message)
    now = utcnow()
    if result.ok:
        store.finish_outbox(row.id, status="sent", attempts=attempts, at=now)
        report.sent += 1
        return
    report.errors.append(
        f"{row.channel} ({row.event_kind} of INC-{row.incident_id}): {result.detail}"
    )
    if not result.retry or attempts >= settings.notify.max_attempts:
        store.finish_outbox(row.id, status="dead", attempts=attempts, at=now, error=result.detail)
        report.dead += 1
        return
    wait = timedelta(seconds=backoff(attempts, settings.notify.backoff_s, result.retry_after_s))
    store.finish_outbox(
        row.id,
        status="pending",
        attempts=attempts,
        at=now,
        next_attempt_at=now + wait,
        error=result.detail,
    )
    report.retrying += 1


class _Context:
    """What a message says beyond the row: findings and the likely change, read once per
    incident per flush."""

    def __init__(self, store: Store, settings: Any) -> None:
        self.store = store
        self.settings = settings
        self.store_id = store.store_id()
        self._extra: dict[int, tuple[list[str], str | None]] = {}

    def _about(self, incident_id: int) -> tuple[list[str], str | None]:
        if incident_id not in self._extra:
            from mlsre.changes.service import likely_change
            from mlsre.incident.model import EventKind

            events = self.store.events(incident_id)
            failing = [
                f"{e.data.get('step')}: {e.data.get('summary') or 'failed'}"
                for e in events
                if e.kind is EventKind.STEP_RESULT and e.data.get("status") == "failed"
            ]
            likely = likely_change(events)
            self._extra[incident_id] = (
                failing[-5:][::-1],
                str(likely.get("summary")) if likely else None,
            )
        return self._extra[incident_id]

    def message(self, row: OutboxRow) -> Message:
        findings, likely = self._about(row.incident_id)
        incident = row.payload.get("incident") or {}
        ref = str(incident.get("ref") or f"INC-{row.incident_id}")
        public = self.settings.notify.public_url
        return Message(
            row_id=row.id,
            channel=row.channel,
            action=row.action,
            event_kind=row.event_kind,
            event=row.payload.get("event") or {},
            incident=incident,
            dedup_key=f"mlsre-{self.store_id}-{ref}",
            idempotency_key=f"mlsre-{self.store_id}-{row.id}",
            findings=findings,
            likely_change=likely,
            link=f"{public.rstrip('/')}/incidents/{ref}" if public else None,
        )


def send(settings: Any, msg: Message, *, timeout_s: float | None = None) -> Delivery:
    """One attempt to deliver ``msg`` on its channel (no retries here: the outbox retries)."""
    from mlsre.notify.channels import pagerduty, slack, webhook

    cfg = settings.notify.channels.get(msg.channel)
    if cfg is None:
        return Delivery(False, detail=f"channel {msg.channel} is no longer in notify.channels")
    headers = {"Content-Type": "application/json"}
    data: bytes
    if cfg.type == "pagerduty":
        key = secret_from(cfg.routing_key_env, "routing key", msg.channel)
        doc = pagerduty.body(msg, key)
        if doc is None:
            return Delivery(True, detail="nothing to send to PagerDuty for this event")
        url = cfg.url or pagerduty.DEFAULT_URL
        data = _json(doc)
        secrets = [key]
    elif cfg.type == "slack":
        url = cfg.url or secret_from(cfg.webhook_url_env, "incoming-webhook URL", msg.channel)
        data = _json(slack.body(msg))
        secrets = [url]
    else:
        if not cfg.url:
            return Delivery(False, detail=f"channel {msg.channel} has no url")
        url = cfg.url
        data = webhook.body_bytes(msg)
        headers[webhook.IDEMPOTENCY_HEADER] = msg.idempotency_key
        if cfg.secret_env:
            secret = secret_from(cfg.secret_env, "signing secret", msg.channel)
            headers[webhook.SIGNATURE_HEADER] = webhook.sign(data, secret)
        secrets = []
    timeout = cfg.timeout_s if timeout_s is None else max(0.05, min(cfg.timeout_s, timeout_s))
    return _post(url, data, headers, timeout, msg.channel, secrets)


def _json(doc: Any) -> bytes:
    import json

    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _post(
    url: str,
    data: bytes,
    headers: dict[str, str],
    timeout_s: float,
    channel: str,
    secrets: list[str],
) -> Delivery:
    from mlsre.integrations.outbound import post

    answer = post(url, data, headers, timeout_s, channel)  # HttpFailure: try again later
    return classify(answer.status, answer.retry_after, _redact(answer.text, secrets))


def _redact(text: str, secrets: list[str]) -> str:
    from mlsre.redaction import redact

    return redact(text, [s for s in secrets if s])
