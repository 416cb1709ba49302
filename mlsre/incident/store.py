"""The incident store interface. Backends own all their SQL; nothing else writes SQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from mlsre.changes.model import RecordedChange
from mlsre.errors import StoreError
from mlsre.incident.model import Event, EventKind, Incident, Severity, Status, format_id

if TYPE_CHECKING:
    from mlsre.incident.store_base import EventStore
    from mlsre.notify.plan import EscalationState, Snapshot


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


@dataclass(frozen=True)
class OutboxRow:
    """A notification waiting to be delivered (or delivered, or given up on)."""

    id: int
    incident_id: int
    seq: int
    channel: str
    action: str  # trigger | acknowledge | resolve | update (mlsre.notify.plan.Action)
    event_kind: str
    payload: dict[str, Any]
    status: str  # pending | sent | dead
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class Store(Protocol):
    """What callers use; the backends implement it through ``store_base.EventStore``."""

    @property
    def where(self) -> str:
        """Where the store is, for messages (a URL never shows its password)."""

    def open_incident(
        self,
        data: dict[str, Any],
        actor: str,
        at: datetime,
        escalation: Snapshot | None = None,
    ) -> tuple[Incident, Event]:
        """Allocate the next id and record the ``opened`` event, atomically; with an escalation
        policy snapshot, also its state and the first notifications (mlsre.notify.plan)."""

    def append(
        self, incident_id: int, kind: EventKind, data: dict[str, Any], actor: str, at: datetime
    ) -> tuple[Incident, Event]:
        """Check the move against the current state and append, in one transaction."""

    def get(self, incident_id: int) -> Incident: ...

    def events(self, incident_id: int, after_seq: int = 0) -> list[Event]: ...

    def wait_events(self, incident_id: int, after_seq: int, timeout_s: float) -> list[Event]:
        """Events after ``after_seq``, waiting up to ``timeout_s`` for the first one."""

    def rows(self, flt: IncidentFilter) -> list[IncidentRow]: ...

    def incidents(self, flt: IncidentFilter) -> list[Incident]:
        """Full states (for stats), from the projection."""

    def all_events(self) -> Iterator[Event]: ...

    def record_change(self, change: RecordedChange) -> RecordedChange:
        """Add a row to the team's change log (``mlsre change record``); its id is assigned."""

    def changes(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> list[RecordedChange]:
        """The change log, oldest first; ``model`` keeps rows of that model and rows of none."""

    # escalation and the notification outbox: rows written in the event's transaction
    def escalation(self, incident_id: int) -> EscalationState | None: ...

    def escalate(
        self,
        incident_id: int,
        actor: str,
        at: datetime,
        *,
        level: int | None = None,
        due_only: bool = False,
    ) -> tuple[Incident, Event] | None: ...

    def due_escalations(self, at: datetime) -> list[int]: ...

    def store_id(self) -> str: ...

    def claim_outbox(self, at: datetime, lease_s: float, limit: int = 100) -> list[OutboxRow]: ...

    def finish_outbox(
        self,
        row_id: int,
        *,
        status: str,
        attempts: int,
        at: datetime,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None: ...

    def outbox(self, status: str | None = None, limit: int = 200) -> list[OutboxRow]: ...

    def retry_outbox(self, row_id: int | None, at: datetime) -> int: ...

    def pending_outbox(self) -> int: ...

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
    escalation: Any = None  # the new incident's escalation policy snapshot (mlsre.notify.plan)


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


def open_store(url: str, *, check_schema: bool = True) -> Store:
    """The store at ``url``; with ``check_schema``, refuse one this mlsre cannot read as is."""
    return open_event_store(url, check_schema=check_schema)


def open_event_store(url: str, *, check_schema: bool = True) -> EventStore:
    """The backend for ``url`` (admin commands need more than :class:`Store`)."""
    if url.startswith("sqlite:///") or url == ":memory:":
        from mlsre.incident.sqlite_store import SqliteStore

        return SqliteStore(url, check_schema=check_schema)
    if url.startswith(("postgresql://", "postgres://")):
        from mlsre.incident.pg_store import PostgresStore  # psycopg only for these URLs

        return PostgresStore(url, check_schema=check_schema)
    scheme = url.split(":", 1)[0]
    raise StoreError(
        f"unsupported store URL scheme '{scheme}' in {redact_url(url)}",
        hint="use sqlite:///path/to/mlsre.db or postgresql://user@host:5432/db",
    )


def redact_url(url: str) -> str:
    """``url`` without a password (passwords belong in PGPASSWORD or ~/.pgpass anyway)."""
    import re

    url = re.sub(r"(://[^:/@?#]*):[^@/?#]*@", r"\1:***@", url)
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", url)


def filter_sql(flt: IncidentFilter, mark: str) -> tuple[str, list[Any]]:
    """WHERE/ORDER/LIMIT over the projection for ``flt``; ``mark`` is the placeholder."""
    clauses: list[str] = []
    args: list[Any] = []
    if flt.statuses:
        clauses.append(f"status IN ({', '.join([mark] * len(flt.statuses))})")
        args.extend(s.value for s in flt.statuses)
    if flt.severities:
        clauses.append(f"severity IN ({', '.join([mark] * len(flt.severities))})")
        args.extend(s.value for s in flt.severities)
    if flt.model:
        clauses.append(f"model = {mark}")
        args.append(flt.model)
    if flt.since:
        clauses.append(f"opened_at >= {mark}")
        args.append(flt.since)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    limit = f" LIMIT {int(flt.limit)}" if flt.limit else ""
    return where + " ORDER BY id DESC" + limit, args


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


def event_from_row(
    incident_id: int, seq: int, at: datetime, actor: str, kind: str, data: str
) -> Event:
    try:
        known = EventKind(kind)
    except ValueError:
        raise StoreError(
            f"{format_id(incident_id)} has an event of kind {kind!r}, which this mlsre does not"
            " know (written by a newer mlsre?)",
            hint="upgrade mlsre to read this incident",
        ) from None
    return Event(incident_id, seq, at, actor, known, json.loads(data))
