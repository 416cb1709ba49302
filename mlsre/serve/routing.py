"""Which route an alert takes, which group it belongs to, and what its incident looks like."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlsre.serve.config import SEVERITIES, AlertRoute, AlertsSettings
from mlsre.serve.payload import Alert, Notification

MAX_TITLE = 200
MAX_KEPT_ALERTS = 20  # alerts copied onto one event; the count says how many there were
_FALLBACK = AlertRoute(name="runbook triggers")


@dataclass
class Batch:
    """The alerts of one notification that belong to one group (route + group labels)."""

    key: str
    route: AlertRoute
    route_label: str
    runbook: str | None
    group_labels: dict[str, str]
    alerts: list[Alert] = field(default_factory=list)

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == "firing"]


class Router:
    def __init__(self, settings: AlertsSettings, triggers: dict[str, str]) -> None:
        """``triggers``: alertname -> runbook id, from the runbooks' ``triggers.alerts``."""
        self.settings = settings
        self.triggers = triggers
        self._regex = [{k: re.compile(v) for k, v in r.match_re.items()} for r in settings.routes]

    def route(self, labels: dict[str, str]) -> tuple[AlertRoute, str, str | None]:
        for i, r in enumerate(self.settings.routes):
            if all(labels.get(k) == v for k, v in r.match.items()) and all(
                rx.fullmatch(labels.get(k, "")) for k, rx in self._regex[i].items()
            ):
                return r, r.label(i), r.runbook or self.triggers.get(labels["alertname"])
        return _FALLBACK, _FALLBACK.label(0), self.triggers.get(labels["alertname"])

    def batches(self, note: Notification) -> list[Batch]:
        out: dict[str, Batch] = {}
        for alert in note.alerts:
            route, label, runbook = self.route(alert.labels)
            names = route.group_by if route.group_by is not None else sorted(note.groupLabels)
            group = {n: alert.labels.get(n, "") for n in names if n != "alertname"}
            group["alertname"] = alert.labels["alertname"]
            key = group_key(label, group)
            if key not in out:
                out[key] = Batch(key, route, label, runbook, dict(sorted(group.items())))
            out[key].alerts.append(alert)
        return list(out.values())

    def severity(self, route: AlertRoute, labels: dict[str, str]) -> str:
        if route.severity:
            return route.severity
        raw = labels.get("severity", "").strip()
        if raw.upper() in SEVERITIES:
            return raw.upper()
        return self.settings.severity_labels.get(raw.lower(), self.settings.default_severity)


def group_key(route_label: str, group: dict[str, str]) -> str:
    canonical = json.dumps([route_label, sorted(group.items())], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def fingerprint(alert: Alert) -> str:
    if alert.fingerprint:
        return alert.fingerprint
    canonical = json.dumps(sorted(alert.labels.items()), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def context(alert: Alert, batch: Batch) -> dict[str, Any]:
    return {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "group_labels": dict(batch.group_labels),
        "count": len(batch.alerts),
    }


def render_text(template: str, ctx: dict[str, Any], what: str) -> tuple[str | None, str | None]:
    """(rendered, None) or (None, problem): a bad template never loses the alert."""
    from mlsre.errors import MlsreError
    from mlsre.runbook.sandbox import render

    try:
        return render(template, ctx, what=what), None
    except MlsreError as exc:
        return None, exc.message


def started_at(alerts: list[Alert], now: datetime) -> datetime:
    """The earliest plausible ``startsAt`` (never in the future, never year 1)."""
    best = now
    for a in alerts:
        try:
            t = datetime.fromisoformat(a.startsAt.replace("Z", "+00:00"))
        except ValueError:
            continue
        t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
        if t.year > 2000 and t < best:
            best = t
    return best


def kept(alerts: list[Alert]) -> list[dict[str, Any]]:
    return [
        {
            "status": a.status,
            "labels": dict(a.labels),
            "annotations": dict(a.annotations),
            "startsAt": a.startsAt,
            "fingerprint": fingerprint(a),
            "generatorURL": a.generatorURL,
        }
        for a in alerts[:MAX_KEPT_ALERTS]
    ]
