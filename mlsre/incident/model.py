"""Incident events and the state they fold into. Plain dataclasses: no pydantic on the hot path."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mlsre.errors import UsageError


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"


ACTIVE = (Status.OPEN, Status.ACKNOWLEDGED, Status.MITIGATED)


class Severity(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"
    SEV5 = "SEV5"


class Role(StrEnum):
    COMMANDER = "commander"
    SCRIBE = "scribe"
    OPS = "ops"
    COMMS = "comms"


class ActionType(StrEnum):
    MITIGATE = "mitigate"
    PREVENT = "prevent"
    DETECT = "detect"
    PROCESS = "process"


class EventKind(StrEnum):
    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    SEVERITY_CHANGED = "severity_changed"
    ROLE_ASSIGNED = "role_assigned"
    NOTE = "note"
    ACTION_ADDED = "action_added"
    ACTION_DONE = "action_done"
    RUNBOOK_STARTED = "runbook_started"
    STEP_STARTED = "step_started"
    STEP_RESULT = "step_result"
    RUNBOOK_FINISHED = "runbook_finished"
    MODEL_CHANGED = "model_changed"
    ESCALATED = "escalated"
    # from `mlsre serve`: Alertmanager notifications and guarded automatic actions
    ALERT_FIRING = "alert_firing"
    ALERT_STILL_FIRING = "alert_still_firing"
    ALERT_RESOLVED = "alert_resolved"
    AUTO_ACTION = "auto_action"
    POSTMORTEM_PUBLISHED = "postmortem_published"
    CHANGES_FOUND = "changes_found"  # `incident changes`: what changed before, ranked
    DRILL_MARKED = "drill_marked"  # a test or game day: kept out of `incident stats`
    INPUTS_CHANGED = "inputs_changed"  # runbook inputs edited mid-run (old and new values)
    INTERRUPTED = "interrupted"  # a run stopped by Ctrl-C (its last step may have no result)


@dataclass(frozen=True)
class Event:
    incident_id: int
    seq: int
    at: datetime
    actor: str
    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ActionItem:
    id: int
    title: str
    type: ActionType
    owner: str | None = None
    due: str | None = None
    link: str | None = None
    done: bool = False


@dataclass
class Incident:
    id: int
    title: str
    severity: Severity
    status: Status
    opened_at: datetime
    started_at: datetime
    model: str | None = None
    service: str | None = None
    summary: str | None = None
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolution: str | None = None
    roles: dict[str, str] = field(default_factory=dict)
    actions: list[ActionItem] = field(default_factory=list)
    runbooks: list[str] = field(default_factory=list)
    drill: bool = False  # a test or drill: excluded from `incident stats`
    last_seq: int = 0
    updated_at: datetime | None = None
    # A chaos game day (its kind; it is also a drill, which is what keeps it out of stats).
    game_day: bool = False
    ref: str = field(init=False)  # INC-<id>: derived, but in every JSON view for scripts

    def __post_init__(self) -> None:
        self.ref = format_id(self.id)


def format_id(n: int) -> str:
    return f"INC-{n}"


# The largest row id either store backend holds (SQLite INTEGER, PostgreSQL bigint): a larger
# number a person types names nothing and must not reach the database driver.
MAX_ROW_ID = 2**63 - 1

_ID = re.compile(r"^(?:inc-?)?([0-9]{1,15})$", re.IGNORECASE | re.ASCII)  # ASCII digits only


def parse_id(text: str) -> int:
    """``INC-12``, ``inc-12`` or ``12`` -> 12."""
    m = _ID.match(text.strip())
    if not m:
        raise UsageError(f"'{text}' is not an incident id", hint="use the form INC-12 (or just 12)")
    return int(m.group(1))


def apply(state: Incident | None, ev: Event) -> Incident:
    """Fold one event into the incident's state (the only place state changes)."""
    d = ev.data
    if ev.kind is EventKind.OPENED:
        return Incident(
            id=ev.incident_id,
            title=d["title"],
            severity=Severity(d["severity"]),
            status=Status.OPEN,
            opened_at=ev.at,
            started_at=datetime.fromisoformat(d["started_at"]) if d.get("started_at") else ev.at,
            model=d.get("model"),
            service=d.get("service"),
            summary=d.get("summary"),
            roles=dict(d.get("roles") or {}),
            game_day=bool(d.get("game_day")),
            drill=bool(d.get("drill", False)),
            last_seq=ev.seq,
            updated_at=ev.at,
        )
    if state is None:
        raise ValueError(f"event {ev.kind} before the incident was opened")
    k = ev.kind
    if k is EventKind.ACKNOWLEDGED:
        state.status = Status.ACKNOWLEDGED
        state.acknowledged_at = state.acknowledged_at or ev.at
    elif k is EventKind.MITIGATED:
        state.status = Status.MITIGATED
        state.mitigated_at = ev.at
        state.acknowledged_at = state.acknowledged_at or ev.at
    elif k is EventKind.RESOLVED:
        state.status = Status.RESOLVED
        state.resolved_at = ev.at
        state.resolution = d.get("resolution") or state.resolution
        state.acknowledged_at = state.acknowledged_at or ev.at
    elif k is EventKind.REOPENED:
        state.status = Status.ACKNOWLEDGED
        state.resolved_at = None
        state.closed_at = None
    elif k is EventKind.CLOSED:
        state.status = Status.CLOSED
        state.closed_at = ev.at
    elif k is EventKind.SEVERITY_CHANGED:
        state.severity = Severity(d["severity"])
    elif k is EventKind.ROLE_ASSIGNED:
        state.roles[d["role"]] = d["person"]
    elif k is EventKind.ACTION_ADDED:
        state.actions.append(
            ActionItem(
                id=len(state.actions) + 1,
                title=d["title"],
                type=ActionType(d.get("type", "prevent")),
                owner=d.get("owner"),
                due=d.get("due"),
                link=d.get("link"),
            )
        )
    elif k is EventKind.ACTION_DONE:
        state.actions[int(d["action"]) - 1].done = True
    elif k is EventKind.DRILL_MARKED:
        state.drill = bool(d.get("drill", True))
    elif k is EventKind.RUNBOOK_STARTED and d.get("runbook") not in state.runbooks:
        state.runbooks.append(d["runbook"])
    state.last_seq = ev.seq
    state.updated_at = ev.at
    return state


def fold(events: list[Event]) -> Incident:
    state: Incident | None = None
    for ev in events:
        state = apply(state, ev)
    if state is None:
        raise ValueError("no events")
    return state
