"""What every channel shares: the message it is asked to send, and what came of sending it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from mlsre.errors import ConfigError


@dataclass(frozen=True)
class Message:
    """An outbox row with what a person needs to read it, channel-neutral."""

    row_id: int
    channel: str
    action: str  # trigger | acknowledge | resolve | update
    event_kind: str
    event: dict[str, Any]
    incident: dict[str, Any]
    dedup_key: str  # stable per incident: never changes across retries or restarts
    idempotency_key: str  # stable per outbox row
    findings: list[str] = field(default_factory=list)  # latest failing steps, one line each
    likely_change: str | None = None
    link: str | None = None  # the incident page, when `serve` has a public URL

    @property
    def ref(self) -> str:
        return str(self.incident.get("ref") or f"INC-{self.incident.get('id')}")

    def headline(self) -> str:
        """``[SEV2] INC-7 acknowledged: fraud-detector p99 7x``"""
        from mlsre.incident.timeline import MILESTONES

        what = {
            "opened": "opened",
            "escalated": f"escalated to level {self.event.get('data', {}).get('level', '?')}",
            "severity_changed": f"is now {self.incident.get('severity')}",
            "postmortem_published": "postmortem published",
            "reopened": "reopened",
        }.get(self.event_kind) or MILESTONES.get(_kind(self.event_kind), self.event_kind)
        return f"[{self.incident.get('severity')}] {self.ref} {what}: {self.incident.get('title')}"


def _kind(value: str) -> Any:
    from mlsre.incident.model import EventKind

    try:
        return EventKind(value)
    except ValueError:
        return value


@dataclass(frozen=True)
class Delivery:
    """The endpoint's answer: sent, or why not and whether trying again can help."""

    ok: bool
    retry: bool = False
    retry_after_s: float | None = None
    detail: str = ""


def secret_from(env_name: str | None, what: str, channel: str) -> str:
    """A channel's secret from the variable its config names; a clear error naming it if unset."""
    if not env_name:
        raise ConfigError(f"channel {channel}: no {what} variable configured")
    value = os.environ.get(env_name)
    if not value:
        raise ConfigError(
            f"channel {channel}: environment variable {env_name} ({what}) is not set",
            hint=f"export {env_name}=... in the environment mlsre runs in",
        )
    return value


def classify(status: int, retry_after: str | None, body: str) -> Delivery:
    """2xx sent; 429 and 5xx try again (429 after Retry-After); other 4xx never will work."""
    snippet = " ".join(body.split())[:160]
    if 200 <= status < 300:
        return Delivery(True, detail=f"HTTP {status}")
    wait = None
    if retry_after and retry_after.strip().replace(".", "", 1).isdigit():
        wait = float(retry_after)
    if status == 429 or status >= 500 or status == 408:
        return Delivery(False, retry=True, retry_after_s=wait, detail=f"HTTP {status} {snippet}")
    return Delivery(False, retry=False, detail=f"HTTP {status} {snippet}".strip())
