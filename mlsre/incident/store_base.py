"""What every store backend shares: the write rules, migrations, and the tables a copy moves.

A backend (``sqlite_store``, ``pg_store``) subclasses :class:`EventStore` and supplies only
SQL: one write transaction, the next incident id, the state under lock, the event + projection
insert, and its reads. The rules (lifecycle check inside the append's transaction, contiguous
per-incident sequence numbers, folding events into state, the schema's version history) are
written once, here and in ``model``/``lifecycle``/``migrations``, so a new table or method
(the notification outbox, what ``serve`` needs) is ported by adding SQL, not logic.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from mlsre import __version__
from mlsre.errors import NotFoundError
from mlsre.incident import lifecycle, migrations
from mlsre.incident.model import Event, EventKind, Incident, apply, format_id
from mlsre.incident.store import IncidentFilter, IncidentRow
from mlsre.incident.store_serve import ServeTables
from mlsre.redaction import redact_data


@dataclass(frozen=True)
class Table:
    """A table ``store copy`` moves: with the incidents it belongs to, or (``incident_column``
    None) on its own in key order. Rows are compared across backends as plain values."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    incident_column: str | None
    times: frozenset[str] = frozenset()  # columns holding UTC datetimes
    json: frozenset[str] = frozenset()  # columns holding JSON text (kept byte for byte)
    newer: str | None = None  # on conflict, replace the row if this column grew
    mutable: bool = False  # on conflict, replace the row if it differs (state, not history)
    identity: bool = False  # the key is generated: the target's generator must move past it


def _cols(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Everything a team's history is made of. A new table joins this list; each backend's generic
# select/insert then copies it without new code. Immutable tables (events, changes) must match
# exactly where both sides have a row: a mismatch means two different histories.
COPIED: tuple[Table, ...] = (
    Table(
        "incidents",
        _cols("id title severity status model service opened_at updated_at last_seq state"),
        key=("id",),
        incident_column="id",
        times=frozenset({"opened_at", "updated_at"}),
        json=frozenset({"state"}),
        newer="last_seq",
    ),
    Table(
        "events",
        _cols("incident_id seq at actor kind data"),
        key=("incident_id", "seq"),
        incident_column="incident_id",
        times=frozenset({"at"}),
        json=frozenset({"data"}),
    ),
    Table(
        "escalations",
        _cols("incident_id snapshot level round next_due_at notified"),
        key=("incident_id",),
        incident_column="incident_id",
        times=frozenset({"next_due_at"}),
        json=frozenset({"snapshot", "notified"}),
        mutable=True,
    ),
    Table(
        "outbox",
        _cols(
            "id incident_id seq channel action event_kind payload status attempts"
            " next_attempt_at lease_until last_error created_at sent_at"
        ),
        key=("id",),
        incident_column="incident_id",
        times=frozenset({"next_attempt_at", "lease_until", "created_at", "sent_at"}),
        json=frozenset({"payload"}),
        mutable=True,
        identity=True,
    ),
    Table(
        "changes",
        _cols("id at kind summary actor model service recorded_at"),
        key=("id",),
        incident_column=None,
        times=frozenset({"at", "recorded_at"}),
        identity=True,
    ),
)

Row = tuple[Any, ...]


def on_conflict(table: Table) -> str:
    """The ON CONFLICT clause ``store copy`` inserts with (same text in SQLite and PostgreSQL)."""
    key = ", ".join(table.key)
    sets = ", ".join(f"{c} = excluded.{c}" for c in table.columns if c not in table.key)
    if table.newer:
        return (
            f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
            f" WHERE excluded.{table.newer} > {table.name}.{table.newer}"
        )
    if table.mutable:
        return f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
    return f" ON CONFLICT ({key}) DO NOTHING"


@dataclass
class StoreStatus:
    backend: str
    where: str
    schema_version: int | None
    latest_version: int
    written_by: str | None
    counts: dict[str, int]
    migrations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return self.schema_version == self.latest_version


class EventStore(ServeTables):
    """The rules every backend shares. Escalation, outbox and change log:
    :class:`~mlsre.incident.store_outbox.OutboxTables` (``_after_insert`` writes what an event
    causes, in the event's transaction); serve's tables: :class:`ServeTables`."""

    backend: ClassVar[str]
    where: str  # the store's location for messages: a path, or a URL without its password
    auto_migrate: ClassVar[bool]  # migrate an older store on open (not a shared one)

    # ---- what a backend supplies -------------------------------------------------------------

    @abstractmethod
    def _write(self) -> AbstractContextManager[None]:
        """One write transaction; a database error inside becomes a one-line StoreError."""

    @abstractmethod
    def _next_id(self) -> int:
        """Inside ``_write``: serialise openers and return the next free incident id."""

    @abstractmethod
    def _load(self, incident_id: int, *, for_update: bool = False) -> Incident | None:
        """The projected state; with ``for_update``, locked until the transaction ends."""

    @abstractmethod
    def _insert(self, ev: Event, state: Incident, *, new: bool = False) -> None:
        """Inside ``_write``: the event row and the projection row (insert when ``new``)."""

    @abstractmethod
    def _meta(self) -> dict[str, str] | None:
        """The meta table (schema_version, written_by), or None for an empty store."""

    @abstractmethod
    def _set_meta(self, key: str, value: str) -> None:
        """Inside a write transaction: set one meta key."""

    def store_id(self) -> str:
        """Who this store is (part of stable PagerDuty dedup keys)."""
        return (self._meta() or {}).get("store_id", "mlsre")

    def adopt_store_id(self, store_id: str) -> None:
        """Take another store's id (``store copy`` into an empty store: same dedup keys)."""
        with self._write():
            self._set_meta("store_id", store_id)

    @abstractmethod
    def _migration_lock(self) -> AbstractContextManager[None]:
        """A transaction that no other migrator or writer runs alongside."""

    @abstractmethod
    def _apply(self, m: migrations.Migration) -> None:
        """Inside ``_migration_lock``: run the backend's SQL for ``m`` and record it."""

    @abstractmethod
    def _history(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def events(self, incident_id: int, after_seq: int = 0) -> list[Event]: ...

    @abstractmethod
    def rows(self, flt: IncidentFilter) -> list[IncidentRow]: ...

    @abstractmethod
    def incidents(self, flt: IncidentFilter) -> list[Incident]: ...

    @abstractmethod
    def all_events(self) -> Iterator[Event]: ...

    @abstractmethod
    def wait_events(self, incident_id: int, after_seq: int, timeout_s: float) -> list[Event]:
        """Events after ``after_seq``, waiting up to ``timeout_s`` for the first one."""

    @abstractmethod
    def counts(self) -> dict[str, int]: ...

    @abstractmethod
    def incident_ids(self, after: int, limit: int) -> list[int]:
        """The next ``limit`` incident ids after ``after``, ascending."""

    @abstractmethod
    def select_rows(self, table: Table, incident_ids: list[int]) -> list[Row]:
        """The rows of ``table`` that belong to these incidents, in key order."""

    @abstractmethod
    def select_range(
        self, table: Table, after: int, *, upto: int | None = None, limit: int | None = None
    ) -> list[Row]:
        """Rows of a table with a one-column integer key in (after, upto], in key order."""

    @abstractmethod
    def insert_rows(self, rows: dict[str, list[Row]]) -> dict[str, int]:
        """One transaction: insert each table's rows, skipping those already there; counts."""

    @abstractmethod
    def event_log(self) -> Iterator[tuple[int, int, datetime, str, str, str]]:
        """Every event as stored (data as its JSON text), in (incident, seq) order."""

    @abstractmethod
    def close(self) -> None: ...

    # ---- the rules, once ---------------------------------------------------------------------

    def open_incident(
        self, data: dict[str, Any], actor: str, at: datetime, escalation: Any = None
    ) -> tuple[Incident, Event]:
        data = redact_data(data)  # events outlive the terminal: no secret is ever stored
        with self._write():
            return self._open_in_transaction(data, actor, at, escalation)

    def _open_in_transaction(
        self, data: dict[str, Any], actor: str, at: datetime, escalation: Any = None
    ) -> tuple[Incident, Event]:
        ev = Event(self._next_id(), 1, at, actor, EventKind.OPENED, data)
        state = apply(None, ev)
        self._insert(ev, state, new=True)
        self._after_insert(ev, state, escalation)
        return state, ev

    def append(
        self, incident_id: int, kind: EventKind, data: dict[str, Any], actor: str, at: datetime
    ) -> tuple[Incident, Event]:
        data = redact_data(data)
        with self._write():
            state = self._require(self._load(incident_id, for_update=True), incident_id)
            lifecycle.check(state, kind, data)
            ev = Event(incident_id, state.last_seq + 1, at, actor, kind, data)
            state = apply(state, ev)
            self._insert(ev, state)
            self._after_insert(ev, state)
        return state, ev

    def get(self, incident_id: int) -> Incident:
        return self._require(self._load(incident_id, for_update=False), incident_id)

    @staticmethod
    def _require(state: Incident | None, incident_id: int) -> Incident:
        if state is None:
            raise NotFoundError(
                f"no incident {format_id(incident_id)}", hint="see `mlsre incident list --all`"
            )
        return state

    # ---- schema ------------------------------------------------------------------------------

    def schema_version(self) -> tuple[int | None, str | None]:
        meta = self._meta()
        if meta is None or "schema_version" not in meta:
            return None, None
        return int(meta["schema_version"]), meta.get("written_by")

    def ensure_current(self) -> None:
        """Called on open: create an empty store, refuse a newer one, migrate or refuse older."""
        version, by = self.schema_version()
        if version == migrations.LATEST:
            return
        if version is not None and version > migrations.LATEST:
            raise migrations.newer_store(self.where, version, by)
        if version is not None and not self.auto_migrate:
            raise migrations.needs_migration(self.where, version)
        self.migrate()

    def migrate(self) -> list[migrations.Migration]:
        with self._migration_lock():
            version, by = self.schema_version()  # again, under the lock: another may have won
            if version is not None and version > migrations.LATEST:
                raise migrations.newer_store(self.where, version, by)
            todo = migrations.pending(version)
            for m in todo:
                self._apply(m)
        return list(todo)

    def status(self) -> StoreStatus:
        version, by = self.schema_version()
        current = version == migrations.LATEST
        return StoreStatus(
            backend=self.backend,
            where=self.where,
            schema_version=version,
            latest_version=migrations.LATEST,
            written_by=by,
            counts=self.counts() if current else {},
            migrations=self._history() if version and version >= migrations.HISTORY_FROM else [],
        )


WRITTEN_BY = __version__


def new_store_id() -> str:
    import uuid

    return uuid.uuid4().hex[:12]
