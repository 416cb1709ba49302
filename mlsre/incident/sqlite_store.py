"""The embedded store: stdlib sqlite3 in WAL mode. All of its SQL lives here.

Every write is one ``BEGIN IMMEDIATE`` transaction (SQLite's one writer lock), so the read of
the projection, the lifecycle check, the event with the next sequence number (unique per
incident) and the projection update happen as one step; concurrent writers queue instead of
losing or reordering events. An older store file is migrated when opened: it is one person's.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlsre.errors import MlsreError, StoreError
from mlsre.incident.migrations import HISTORY_FROM, MIGRATIONS, Migration
from mlsre.incident.model import Event, Incident, Severity, Status, format_id
from mlsre.incident.store import (
    IncidentFilter,
    IncidentRow,
    event_from_row,
    filter_sql,
    state_from_json,
    state_to_json,
)
from mlsre.incident.store_base import (
    COPIED,
    WRITTEN_BY,
    EventStore,
    Row,
    Table,
    new_store_id,
    on_conflict,
)
from mlsre.jsonutil import dumps

# The SQL of each schema version (see migrations.py). Version 1 is the schema every store file
# made before migrations existed already has; never edit a shipped version.
SQL: dict[int, str] = {
    1: """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    model TEXT,
    service TEXT,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_status ON incidents (status, id);
CREATE TABLE IF NOT EXISTS events (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
""",
    2: """
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    actor TEXT NOT NULL,
    model TEXT,
    service TEXT,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_at ON changes (at);
""",
    3: """
CREATE TABLE IF NOT EXISTS escalations (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id),
    snapshot TEXT NOT NULL,
    level INTEGER NOT NULL,
    round INTEGER NOT NULL,
    next_due_at TEXT,
    notified TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS escalations_due ON escalations (next_due_at);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    seq INTEGER NOT NULL,
    channel TEXT NOT NULL,
    action TEXT NOT NULL,
    event_kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (status, incident_id, channel, id);
""",
    4: """
CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT,
    mlsre_version TEXT
);
CREATE INDEX incidents_opened ON incidents (opened_at);
""",
    5: """
CREATE TABLE IF NOT EXISTS serve_alert_groups (
    group_key TEXT PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    firing INTEGER NOT NULL,
    fingerprints TEXT NOT NULL,
    last_firing_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS serve_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    worker TEXT,
    note TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS serve_jobs_state ON serve_jobs (state, id);
CREATE TABLE IF NOT EXISTS serve_auto_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    step TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS serve_auto_actions_model ON serve_auto_actions (model, started_at);
CREATE TABLE IF NOT EXISTS serve_flags (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
""",
}


def _ts(value: datetime) -> str:
    return value.isoformat()


class SqliteStore(EventStore):
    backend = "sqlite"
    auto_migrate = True

    def __init__(self, url: str, *, check_schema: bool = True) -> None:
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url
        self.path = self.where = path
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(
                path, timeout=60, isolation_level=None, check_same_thread=False
            )
            self.db.execute("PRAGMA busy_timeout = 60000")
            self.db.execute("PRAGMA synchronous = FULL")
            self.db.execute("PRAGMA foreign_keys = ON")
            if check_schema:
                self.ensure_current()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot open incident store {path}: {exc}",
                hint="check the path and permissions (store.url in mlsre.yaml or MLSRE_STORE_URL)",
            ) from None
        except OSError as exc:
            raise StoreError(
                f"cannot create incident store folder for {path}: {exc.strerror}"
            ) from None

    # ---- transactions ------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[None]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to the incident store: {exc}") from None
        try:
            yield
        except BaseException as exc:
            self.db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error) and not isinstance(exc, MlsreError):
                raise StoreError(f"cannot write to the incident store: {exc}") from None
            raise
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            self.db.execute("ROLLBACK")
            raise StoreError(f"cannot write to the incident store: {exc}") from None

    def _migration_lock(self) -> Any:
        if self.path != ":memory:" and (
            self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
        ):
            self.db.execute("PRAGMA journal_mode = WAL")  # not allowed inside a transaction
        return self._write()

    def _sql(self, query: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        values = [_ts(a) if isinstance(a, datetime) else a for a in args]
        try:
            return self.db.execute(query, values).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"incident store error: {exc}") from None

    def _serialize(self, key: str) -> None:
        return None  # BEGIN IMMEDIATE already lets one writer through at a time

    def set_lock_timeout(self, seconds: float) -> None:
        self.db.execute(f"PRAGMA busy_timeout = {max(0, int(seconds * 1000))}")

    # ---- the backend's part of the rules -----------------------------------------------------

    def _next_id(self) -> int:
        return int(self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM incidents").fetchone()[0])

    def _load(self, incident_id: int, *, for_update: bool = False) -> Incident | None:
        # for_update needs nothing more: BEGIN IMMEDIATE already holds the only write lock.
        row = self.db.execute("SELECT state FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return state_from_json(row[0]) if row else None

    def _insert(self, ev: Event, state: Incident, *, new: bool = False) -> None:
        values = (
            state.title,
            state.severity.value,
            state.status.value,
            state.model,
            state.service,
            _ts(ev.at),
            ev.seq,
            state_to_json(state),
            ev.incident_id,
        )
        if new:
            self.db.execute(
                "INSERT INTO incidents (title, severity, status, model, service, updated_at,"
                " last_seq, state, id, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, _ts(state.opened_at)),
            )
        else:
            self.db.execute(
                "UPDATE incidents SET title = ?, severity = ?, status = ?, model = ?, service = ?,"
                " updated_at = ?, last_seq = ?, state = ? WHERE id = ?",
                values,
            )
        self.db.execute(
            "INSERT INTO events (incident_id, seq, at, actor, kind, data) VALUES (?, ?, ?, ?, ?, ?)",
            (ev.incident_id, ev.seq, _ts(ev.at), ev.actor, ev.kind.value, dumps(ev.data)),
        )

    # ---- schema --------------------------------------------------------------------------------

    def _meta(self) -> dict[str, str] | None:
        try:
            rows = self.db.execute("SELECT key, value FROM meta").fetchall()
        except sqlite3.OperationalError:
            return None  # no meta table: an empty store
        return dict(rows)

    def _apply(self, m: Migration) -> None:
        for statement in SQL[m.version].split(";"):
            if statement.strip():
                self.db.execute(statement)
        if m.version == 3:  # who this store is: part of stable PagerDuty dedup keys
            self.db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?)", (new_store_id(),)
            )
        if m.version == HISTORY_FROM:  # earlier versions predate the table: applied "before"
            self.db.executemany(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                [(e.version, e.name) for e in MIGRATIONS if e.version < HISTORY_FROM],
            )
        if m.version >= HISTORY_FROM:
            self.db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at, mlsre_version)"
                " VALUES (?, ?, ?, ?)",
                (m.version, m.name, _ts(datetime.now(UTC)), WRITTEN_BY),
            )
        self._set_meta("schema_version", str(m.version))
        self._set_meta("written_by", WRITTEN_BY)

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _history(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT version, name, applied_at, mlsre_version FROM schema_migrations ORDER BY version"
        ).fetchall()
        return [
            {"version": r[0], "name": r[1], "applied_at": r[2], "mlsre_version": r[3]} for r in rows
        ]

    # ---- reads ---------------------------------------------------------------------------------

    _EVENT_COLUMNS = "incident_id, seq, at, actor, kind, data"

    def events(self, incident_id: int, after_seq: int = 0) -> list[Event]:
        self.get(incident_id)
        rows = self.db.execute(
            f"SELECT {self._EVENT_COLUMNS} FROM events WHERE incident_id = ? AND seq > ?"
            " ORDER BY seq",
            (incident_id, after_seq),
        ).fetchall()
        return [_event(r) for r in rows]

    def all_events(self) -> Iterator[Event]:
        for r in self.db.execute(
            f"SELECT {self._EVENT_COLUMNS} FROM events ORDER BY incident_id, seq"
        ):
            yield _event(r)

    def event_log(self) -> Iterator[tuple[int, int, datetime, str, str, str]]:
        for r in self.db.execute(
            f"SELECT {self._EVENT_COLUMNS} FROM events ORDER BY incident_id, seq"
        ):
            yield r[0], r[1], datetime.fromisoformat(r[2]), r[3], r[4], r[5]

    def wait_events(self, incident_id: int, after_seq: int, timeout_s: float) -> list[Event]:
        # Cheap polling: PRAGMA data_version changes only when another connection commits.
        deadline = time.monotonic() + timeout_s
        seen: int | None = None
        while True:
            version = self.db.execute("PRAGMA data_version").fetchone()[0]
            if version != seen:
                seen = version
                evs = self.events(incident_id, after_seq)
                if evs:
                    return evs
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            time.sleep(min(0.05, left))

    def _filtered(self, columns: str, flt: IncidentFilter) -> list[Any]:
        where, args = filter_sql(flt, "?")
        args = [_ts(a) if isinstance(a, datetime) else a for a in args]
        return self.db.execute(f"SELECT {columns} FROM incidents{where}", args).fetchall()

    def rows(self, flt: IncidentFilter) -> list[IncidentRow]:
        return [
            IncidentRow(
                id=r[0],
                ref=format_id(r[0]),
                title=r[1],
                severity=Severity(r[2]),
                status=Status(r[3]),
                model=r[4],
                service=r[5],
                opened_at=datetime.fromisoformat(r[6]),
                updated_at=datetime.fromisoformat(r[7]),
            )
            for r in self._filtered(
                "id, title, severity, status, model, service, opened_at, updated_at", flt
            )
        ]

    def incidents(self, flt: IncidentFilter) -> list[Incident]:
        return [state_from_json(r[0]) for r in self._filtered("state", flt)]

    def counts(self) -> dict[str, int]:
        return {
            t.name: int(self.db.execute(f"SELECT COUNT(*) FROM {t.name}").fetchone()[0])
            for t in COPIED
        }

    # ---- copy ----------------------------------------------------------------------------------

    def incident_ids(self, after: int, limit: int) -> list[int]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT id FROM incidents WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
            )
        ]

    def select_rows(self, table: Table, incident_ids: list[int]) -> list[Row]:
        return self._rows(
            table,
            f"WHERE {table.incident_column} IN ({', '.join('?' * len(incident_ids))})",
            incident_ids,
        )

    def select_range(
        self, table: Table, after: int, *, upto: int | None = None, limit: int | None = None
    ) -> list[Row]:
        (key,) = table.key
        where = f"WHERE {key} > ?" + (f" AND {key} <= {int(upto)}" if upto is not None else "")
        return self._rows(table, where + (f" LIMIT {int(limit)}" if limit else ""), [after])

    def _rows(self, table: Table, where: str, args: list[Any]) -> list[Row]:
        order = f" ORDER BY {', '.join(table.key)}"
        if " LIMIT " in where:
            where, limit = where.split(" LIMIT ")
            order += f" LIMIT {limit}"
        rows = self.db.execute(
            f"SELECT {', '.join(table.columns)} FROM {table.name} {where}{order}", args
        ).fetchall()
        times = [i for i, c in enumerate(table.columns) if c in table.times]
        out: list[Row] = []
        for r in rows:
            values = list(r)
            for i in times:
                if values[i] is not None:
                    values[i] = datetime.fromisoformat(values[i])
            out.append(tuple(values))
        return out

    def insert_rows(self, rows: dict[str, list[Row]]) -> dict[str, int]:
        added: dict[str, int] = {}
        with self._write():
            for table in COPIED:
                before = self.db.total_changes
                self.db.executemany(
                    _insert_sql(table), [_plain(r) for r in rows.get(table.name, [])]
                )
                added[table.name] = self.db.total_changes - before
        return added

    def close(self) -> None:
        self.db.close()


def _insert_sql(table: Table) -> str:
    cols = ", ".join(table.columns)
    marks = ", ".join("?" * len(table.columns))
    return f"INSERT INTO {table.name} ({cols}) VALUES ({marks}){on_conflict(table)}"


def _plain(row: Row) -> Row:
    return tuple(_ts(v) if isinstance(v, datetime) else v for v in row)


def _event(r: tuple[Any, ...]) -> Event:
    return event_from_row(r[0], r[1], datetime.fromisoformat(r[2]), r[3], r[4], r[5])
