"""PagerDuty Events API v2: trigger, acknowledge and resolve one alert per incident.

Body and limits as PagerDuty documents them: ``routing_key`` (from the environment only),
``event_action``, ``dedup_key`` (<= 255), and for a trigger ``payload`` with ``summary``
(<= 1024), ``source``, ``severity`` (critical|error|warning|info), ``timestamp``,
``component``, ``group``, ``class``, ``custom_details``; ``links`` back to the incident page.
"""

from __future__ import annotations

from typing import Any

from mlsre.notify.channels.base import Message

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITY = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info", "SEV5": "info"}
SUMMARY_MAX = 1024
DEDUP_MAX = 255


def body(msg: Message, routing_key: str) -> dict[str, Any] | None:
    """The Events v2 body, or None when PagerDuty has nothing to do for this event."""
    action = {"trigger": "trigger", "acknowledge": "acknowledge", "resolve": "resolve"}.get(
        msg.action
    )
    if action is None:
        if msg.event_kind != "severity_changed":
            return None
        action = "trigger"  # same dedup_key: PagerDuty updates the open alert's severity
    out: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": msg.dedup_key[:DEDUP_MAX],
        "client": "mlsre",
    }
    if msg.link:
        out["client_url"] = msg.link
    if action != "trigger":
        return out
    inc = msg.incident
    summary = f"[{inc.get('severity')}] {msg.ref}: {inc.get('title')}"
    details: dict[str, Any] = {
        "incident": msg.ref,
        "status": inc.get("status"),
        "model": inc.get("model"),
        "service": inc.get("service"),
        "commander": (inc.get("roles") or {}).get("commander"),
    }
    if msg.findings:
        details["latest_failing_steps"] = msg.findings[:5]
    if msg.likely_change:
        details["likely_related_change"] = msg.likely_change
    out["payload"] = {
        "summary": _cut(" ".join(summary.split()), SUMMARY_MAX),
        "source": str(inc.get("service") or inc.get("model") or "mlsre"),
        "severity": SEVERITY.get(str(inc.get("severity")), "error"),
        "timestamp": str(msg.event.get("at") or inc.get("opened_at")),
        "component": str(inc.get("model") or "") or None,
        "group": str(inc.get("service") or "") or None,
        "class": "ml-incident",
        "custom_details": {k: v for k, v in details.items() if v not in (None, "", [])},
    }
    out["payload"] = {k: v for k, v in out["payload"].items() if v is not None}
    if msg.link:
        out["links"] = [{"href": msg.link, "text": f"{msg.ref} in mlsre"}]
    return out


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
