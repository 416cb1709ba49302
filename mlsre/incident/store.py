"""The incident store interface. Backends own all their SQL; nothing else writes SQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from mlsre.changes.model import RecordedChange
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

    def record_change(self, change: RecordedChange) -> RecordedChange:
        """Add a row to the team's change log (``mlsre change record``); its id is assigned."""

    def changes(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> list[RecordedChange]:
        """The change log, oldest first; ``model`` keeps rows of that model and rows of none."""

    def close(self) -> None: ...


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
