"""Incident operations: what each command does to the store, without any terminal concerns."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlsre.errors import UsageError
from mlsre.incident.model import ActionType, Event, EventKind, Incident, Role, Severity
from mlsre.incident.store import Store
from mlsre.timeutil import parse_time, utcnow

if TYPE_CHECKING:
    from mlsre.notify.plan import Snapshot


def open_incident(
    store: Store,
    *,
    title: str,
    severity: Severity,
    actor: str,
    model: str | None = None,
    service: str | None = None,
    summary: str | None = None,
    started: str | None = None,
    commander: str | None = None,
    at: datetime | None = None,
    escalation: Snapshot | None = None,
    game_day: bool = False,
    drill: bool = False,
) -> Incident:
    if not title.strip():
        raise UsageError(
            "an incident needs a title", hint="say what is wrong, e.g. 'fraud-model p99 latency up'"
        )
    now = at or utcnow()
    started_at = parse_time(started, now=now) if started else now
    if started_at > now:
        raise UsageError("--started is in the future", hint="use a past time such as -45m")
    data: dict[str, Any] = {
        "title": title.strip(),
        "severity": severity.value,
        "model": model,
        "service": service,
        "summary": summary,
        "started_at": started_at.isoformat(),
        "roles": {Role.COMMANDER.value: commander} if commander else {},
    }
    if game_day:  # a game day is a rehearsal: a drill, and of its own kind
        data["game_day"] = True
        drill = True
    if drill:
        data["drill"] = True
    state, _ = store.open_incident(data, actor, now, escalation)
    return state


def record(
    store: Store, incident_id: int, kind: EventKind, actor: str, data: dict[str, Any] | None = None
) -> tuple[Incident, Event]:
    return store.append(incident_id, kind, data or {}, actor, utcnow())


def add_action(
    store: Store,
    incident_id: int,
    *,
    title: str,
    type: ActionType,
    actor: str,
    owner: str | None = None,
    due: str | None = None,
    link: str | None = None,
) -> Incident:
    if due:
        try:
            datetime.strptime(due, "%Y-%m-%d")
        except ValueError:
            raise UsageError(f"due date '{due}' is not YYYY-MM-DD") from None
    data = {"title": title, "type": type.value, "owner": owner, "due": due, "link": link}
    state, _ = record(store, incident_id, EventKind.ACTION_ADDED, actor, data)
    return state


def show_data(store: Store, incident_id: int, last_events: int) -> dict[str, Any]:
    """What ``incident show --json`` prints (and serve's incident API answers)."""
    state = store.get(incident_id)
    evs = store.events(incident_id, after_seq=max(0, state.last_seq - last_events))
    from mlsre.incident.durations import durations

    return {"incident": state, "durations": durations(state, utcnow()), "events": evs}
