"""From one Alertmanager notification to incident events, committed in one transaction.

Dedup rules (per group = route + alertname + group labels):
- no incident, or the last one was resolved/closed by a person: open one (linking the old one)
  and queue its diagnosis;
- an active incident: new alerts of the group are appended; otherwise at most one "still
  firing" event per ``still_firing_every``; an Alertmanager retry changes nothing else;
- all alerts resolved: one "alert resolved" event; with ``auto_mitigate_on_resolve`` the
  incident is marked mitigated. Nothing here ever resolves or closes an incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mlsre.incident.model import ACTIVE, EventKind, Incident, Status, format_id
from mlsre.incident.store import AlertGroup, AlertOutcome, AlertPlan, Store
from mlsre.serve.payload import Notification
from mlsre.serve.routing import (
    MAX_TITLE,
    Batch,
    Router,
    context,
    fingerprint,
    kept,
    render_text,
    started_at,
)

ACTOR = "alertmanager"
DIAGNOSE = "diagnose"


@dataclass
class IntakeResult:
    outcomes: list[AlertOutcome]
    opened: int
    folded: int  # groups that landed on an incident that already existed


class Planner:
    """Pure decisions: what a batch does to its group and incident (no I/O)."""

    def __init__(self, router: Router, still_firing_every: timedelta, settings: Any = None) -> None:
        self.router = router
        self.every = still_firing_every
        self.settings = settings  # for the escalation policy a new incident gets

    def decide(self, batch: Batch, note: Notification, now: datetime) -> Any:
        def plan(group: AlertGroup | None, incident: Incident | None) -> AlertPlan:
            return self._plan(batch, note, now, group, incident)

        return plan

    def _plan(
        self,
        batch: Batch,
        note: Notification,
        now: datetime,
        group: AlertGroup | None,
        incident: Incident | None,
    ) -> AlertPlan:
        firing = batch.firing
        fps = tuple(sorted({fingerprint(a) for a in firing}))
        active = incident is not None and incident.status in ACTIVE
        base = self._event_data(batch, note)
        if not firing:
            if group is None or incident is None or not group.firing:
                # a resolve for a group we never saw, or a retry of one already recorded
                return AlertPlan(touch=False)
            events: list[tuple[EventKind, dict[str, Any]]] = [
                (EventKind.ALERT_RESOLVED, {**base, "alerts": kept(batch.alerts)})
            ]
            if batch.route.auto_mitigate_on_resolve and incident.status in (
                Status.OPEN,
                Status.ACKNOWLEDGED,
            ):
                events.append(
                    (
                        EventKind.MITIGATED,
                        {
                            "note": f"alerts resolved ({batch.route_label}: auto_mitigate_on_resolve)"
                        },
                    )
                )
            return AlertPlan(
                events=events, firing=False, fingerprints=(), last_firing_at=group.last_firing_at
            )
        if not active or group is None:
            return self._open(batch, note, now, fps, base, incident)
        new = sorted(set(fps) - set(group.fingerprints))
        if new or not group.firing:
            data = {**base, "alerts": kept([a for a in firing if fingerprint(a) in new] or firing)}
            if not group.firing:
                data["again"] = True
            return AlertPlan(
                events=[(EventKind.ALERT_FIRING, data)], fingerprints=fps, last_firing_at=now
            )
        if group.last_firing_at is None or now - group.last_firing_at >= self.every:
            return AlertPlan(
                events=[(EventKind.ALERT_STILL_FIRING, base)], fingerprints=fps, last_firing_at=now
            )
        return AlertPlan(fingerprints=fps, last_firing_at=group.last_firing_at)

    def _open(
        self,
        batch: Batch,
        note: Notification,
        now: datetime,
        fps: tuple[str, ...],
        base: dict[str, Any],
        previous: Incident | None,
    ) -> AlertPlan:
        first = batch.firing[0]
        ctx = context(first, batch)
        problems: list[str] = []
        title, problem = render_text(batch.route.title, ctx, "title")
        if title is None or not title.strip():
            problems.append(problem or "title rendered empty")
            title = first.labels["alertname"]
        inputs: dict[str, str] = {}
        for name, template in batch.route.inputs.items():
            value, problem = render_text(template, ctx, f"inputs.{name}")
            if value is None:
                problems.append(problem or f"inputs.{name}: cannot render")
            else:
                inputs[name] = value
        labels = first.labels
        data: dict[str, Any] = {
            "title": " ".join(title.split())[:MAX_TITLE],
            "severity": self.router.severity(batch.route, labels),
            "model": inputs.get("model") or labels.get("model") or None,
            "service": labels.get("service") or labels.get("job") or None,
            "summary": (first.annotations.get("summary") or None),
            "started_at": started_at(batch.firing, now).isoformat(),
            "roles": {},
            "source": {"alertmanager": base},
        }
        firing_data = {**base, "alerts": kept(batch.firing)}
        if previous is not None:
            data["follows"] = previous.ref
            firing_data["follows"] = previous.ref
        if problems:
            firing_data["problems"] = problems
        jobs: list[tuple[str, dict[str, Any]]] = []
        if batch.runbook:
            jobs.append(
                (
                    DIAGNOSE,
                    {
                        "runbook": batch.runbook,
                        "inputs": inputs,
                        "route": batch.route_label,
                        "auto_mitigate": list(batch.route.auto_mitigate),
                        "group": batch.key,
                        "at": data["started_at"]
                        if batch.route.evaluate_at == "alert_start"
                        else None,
                    },
                )
            )
        escalation = None
        if self.settings is not None:
            from mlsre.notify.plan import snapshot_for

            escalation = snapshot_for(
                self.settings, data["severity"], data["model"], data["service"]
            )
        return AlertPlan(
            open=data,
            escalation=escalation,
            events=[(EventKind.ALERT_FIRING, firing_data)],
            fingerprints=fps,
            last_firing_at=now,
            jobs=jobs,
        )

    def _event_data(self, batch: Batch, note: Notification) -> dict[str, Any]:
        return {
            "group": batch.key,
            "group_labels": batch.group_labels,
            "route": batch.route_label,
            "runbook": batch.runbook,
            "alertnames": sorted({a.labels["alertname"] for a in batch.alerts}),
            "count": len(batch.alerts),
            "summary": batch.alerts[0].annotations.get("summary") or None,
            "receiver": note.receiver,
            "external_url": note.externalURL,
            "truncated_alerts": note.truncatedAlerts,
        }


def receive(store: Store, planner: Planner, note: Notification, now: datetime) -> IntakeResult:
    """Record the notification; returns only after the transaction committed."""
    return receive_many(store, planner, [note], now)[0]


def receive_many(
    store: Store, planner: Planner, notes: list[Notification], now: datetime
) -> list[IntakeResult]:
    """Record several notifications in ONE transaction (group commit); one result each.

    A later notification of the same group sees what an earlier one wrote, exactly as if they
    had committed one after the other.
    """
    updates: list[tuple[str, Any]] = []
    counts = []
    for note in notes:
        batches = planner.router.batches(note)
        counts.append(len(batches))
        updates.extend((b.key, planner.decide(b, note, now)) for b in batches)
    outcomes = store.record_alert_groups(updates, ACTOR, now)
    results = []
    start = 0
    for n in counts:
        mine = outcomes[start : start + n]
        start += n
        opened = sum(1 for o in mine if o.opened)
        folded = sum(1 for o in mine if not o.opened and o.incident is not None)
        results.append(IntakeResult(mine, opened, folded))
    return results


def summary(result: IntakeResult) -> list[dict[str, Any]]:
    """The JSON answer: one line per group."""
    return [
        {
            "group": o.key,
            "incident": format_id(o.incident.id) if o.incident else None,
            "opened": o.opened,
            "events": [e.kind.value for e in o.events],
            **({} if o.incident else {"note": "resolved alerts of a group with no incident"}),
        }
        for o in result.outcomes
    ]
