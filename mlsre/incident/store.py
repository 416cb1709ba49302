"""The incident store interface. Backends own all their SQL; nothing else writes SQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mlsre.errors import StoreError
from mlsre.incident.model import Event, EventKind, Incident, Severity, Status


@dataclass(frozen=True)
class IncidentFilter:
    statuses: tuple[Status, ...] = ()
    severities: tuple[Severity, ...] = ()
    model: str | None = None
    since: datetime | None = None
    limit: int | None = None


@dataclass(frozen=True)
class IncidentRow:
    """One line of ``incident list``: read from the projection, never by folding events."""

    id: int
    ref: str
    title: str
    severity: Severity
    status: Status
    model: str | None
    service: str | None
    opened_at: datetime
    updated_at: datetime


class Store(Protocol):
    def open_incident(
        self, data: dict[str, Any], actor: str, at: datetime
    ) -> tuple[Incident, Event]:
        """Allocate the next id and record the ``opened`` event, atomically."""

    def append(
        self, incident_id: int, kind: EventKind, data: dict[str, Any], actor: str, at: datetime
    ) -> tuple[Incident, Event]:
        """Check the move against the current state and append, in one transaction."""

    def get(self, incident_id: int) -> Incident: ...

    def events(self, incident_id: int, after_seq: int = 0) -> list[Event]: ...

    def rows(self, flt: IncidentFilter) -> list[IncidentRow]: ...

    def incidents(self, flt: IncidentFilter) -> list[Incident]:
        """Full states (for stats), from the projection."""

    def all_events(self) -> Iterator[Event]: ...

    def close(self) -> None: ...

    # ---- mlsre serve (see the serve section of each backend) -------------------------------

    def set_lock_timeout(self, seconds: float) -> None:
        """How long a write waits for another writer before raising ``StoreError``."""

    def record_alert_groups(
        self, updates: list[tuple[str, AlertDecide]], actor: str, at: datetime
    ) -> list[AlertOutcome]:
        """For each (group key, decide): read the group and its incident, ask ``decide`` what to
        do, then open/append/queue as planned. All updates commit in ONE transaction."""

    def alert_group(self, key: str) -> AlertGroup | None: ...

    def claim_job(self, worker: str, at: datetime) -> Job | None:
        """The oldest queued job, marked running by ``worker``; None when the queue is empty."""

    def finish_job(self, job_id: int, state: str, note: str, at: datetime) -> None: ...

    def requeue_running_jobs(self, at: datetime) -> int:
        """Jobs left running by a stopped server go back to the queue (on start-up)."""

    def jobs(self, states: tuple[str, ...] = ()) -> list[Job]: ...

    def claim_auto_action(
        self, model: str, incident_id: int, step: str, since: datetime, limit: int, at: datetime
    ) -> tuple[int | None, str | None]:
        """Atomically check the per-model guard rails and record the action:
        (action id, None) when allowed, (None, reason) when blocked."""

    def finish_auto_action(self, action_id: int, at: datetime) -> None: ...

    def get_flag(self, name: str) -> Flag | None: ...

    def set_flag(self, name: str, value: str | None, actor: str, at: datetime) -> None:
        """Set (or with None, clear) a server-wide flag such as the automation kill switch."""


# ---- mlsre serve: alert groups, the diagnosis queue, automatic actions, flags -----------------


class JobState:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class AlertGroup:
    """An Alertmanager alert group and the incident it currently feeds."""

    key: str
    incident_id: int
    firing: bool
    fingerprints: tuple[str, ...]
    last_firing_at: datetime | None  # time of the last firing / still-firing event
    updated_at: datetime


@dataclass
class AlertPlan:
    """What one notification does to one group, decided from the group and its incident."""

    open: dict[str, Any] | None = None  # data of a new incident's ``opened`` event
    events: list[tuple[EventKind, dict[str, Any]]] = field(default_factory=list)
    firing: bool = True
    fingerprints: tuple[str, ...] = ()
    last_firing_at: datetime | None = None
    jobs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (kind, payload)
    touch: bool = True  # False: change nothing at all (e.g. a resolve for an unknown group)


AlertDecide = Callable[[AlertGroup | None, Incident | None], AlertPlan]


@dataclass(frozen=True)
class AlertOutcome:
    key: str
    incident: Incident | None
    opened: bool
    events: list[Event]


@dataclass(frozen=True)
class Job:
    id: int
    incident_id: int
    kind: str
    payload: dict[str, Any]
    state: str
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Flag:
    name: str
    value: str
    actor: str
    at: datetime


def open_store(url: str) -> Store:
    if url.startswith("sqlite:///") or url == ":memory:":
        from mlsre.incident.sqlite_store import SqliteStore

        return SqliteStore(url)
    scheme = url.split(":", 1)[0]
    raise StoreError(
        f"unsupported store URL scheme '{scheme}'",
        hint="use sqlite:///path/to/mlsre.db (PostgreSQL support is planned)",
    )


# ---- (de)serialisation shared by backends ---------------------------------------------------


def state_to_json(state: Incident) -> str:
    from mlsre.jsonutil import dumps

    return dumps(state)


def state_from_json(text: str) -> Incident:
    from mlsre.incident.model import ActionItem, ActionType

    d = json.loads(text)
    d.pop("ref", None)  # derived from id
    for key in (
        "opened_at",
        "started_at",
        "acknowledged_at",
        "mitigated_at",
        "resolved_at",
        "closed_at",
        "updated_at",
    ):
        if d.get(key):
            d[key] = datetime.fromisoformat(d[key])
    d["severity"] = Severity(d["severity"])
    d["status"] = Status(d["status"])
    d["actions"] = [
        ActionItem(**{**a, "type": ActionType(a["type"])}) for a in d.get("actions", [])
    ]
    return Incident(**d)
