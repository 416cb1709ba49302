"""The team store: PostgreSQL through psycopg 3. All of its SQL lives here.

Imported only for ``postgresql://`` URLs (psycopg costs ~150 ms to import). Locking, in short
(docs/store.md has the reasons and the failure modes): an append locks its incident's
projection row (``SELECT ... FOR UPDATE``) for the length of its transaction, so writers to
one incident queue and writers to different incidents never wait for each other; opening an
incident takes a transaction-scoped advisory lock, so ids are ``max + 1`` without gaps; the
primary key (incident, seq) is the backstop. Every committed event sends ``NOTIFY`` for
``incident follow``. Shared stores are never migrated implicitly: ``mlsre store migrate``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg

from mlsre.errors import StoreError
from mlsre.incident.migrations import Migration
from mlsre.incident.model import Event, Incident, Severity, Status, format_id
from mlsre.incident.store import (
    IncidentFilter,
    IncidentRow,
    event_from_row,
    filter_sql,
    redact_url,
    state_from_json,
    state_to_json,
)
from mlsre.incident.store_base import COPIED, WRITTEN_BY, EventStore, Row, Table
from mlsre.jsonutil import dumps

SQL: dict[int, str] = {
    1: """
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE incidents (
    id integer PRIMARY KEY,
    title text NOT NULL,
    severity text NOT NULL,
    status text NOT NULL,
    model text,
    service text,
    opened_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_seq integer NOT NULL,
    state json NOT NULL
);
CREATE INDEX incidents_status ON incidents (status, id);
CREATE TABLE events (
    incident_id integer NOT NULL REFERENCES incidents (id),
    seq integer NOT NULL,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    kind text NOT NULL,
    data json NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
""",
    2: """
CREATE TABLE schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz,
    mlsre_version text
);
CREATE INDEX incidents_opened ON incidents (opened_at);
""",
}

CHANNEL = "mlsre_events"
# Advisory lock keys (64-bit, arbitrary but fixed): "mlsre" + purpose.
_OPEN_LOCK = 0x6D6C737265_0001
_MIGRATE_LOCK = 0x6D6C737265_0002
_LOCK_TIMEOUT = "30s"
_BATCH = 5000


class PostgresStore(EventStore):
    backend = "postgresql"
    auto_migrate = False  # a shared store changes version only when someone says so

    def __init__(self, url: str, *, check_schema: bool = True) -> None:
        self.url = url
        self.where = redact_url(url)
        self._conn: psycopg.Connection[Any] | None = None
        self._listener: psycopg.Connection[Any] | None = None
        self._connection()
        if check_schema:
            with self._reading():
                self.ensure_current()

    # ---- connections and errors --------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=10,
                application_name="mlsre",
                options=f"-c timezone=UTC -c lock_timeout={_LOCK_TIMEOUT}",
            )
        except psycopg.Error as exc:
            raise self._connect_error(exc) from None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                self._conn.close()
            self._conn = self._connect()
        return self._conn

    def _one_line(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split())
        password = psycopg.conninfo.conninfo_to_dict(self.url).get("password")
        return text.replace(str(password), "***") if password else text

    def _connect_error(self, exc: psycopg.Error) -> StoreError:
        text = self._one_line(exc)
        if "password" in text:
            hint = "set the password in PGPASSWORD or ~/.pgpass (never in mlsre.yaml)"
        elif "does not exist" in text:
            hint = "create the database (createdb) or fix store.url / MLSRE_STORE_URL"
        else:
            hint = "is the server up and store.url / MLSRE_STORE_URL right?"
        return StoreError(f"cannot connect to the incident store {self.where}: {text}", hint=hint)

    def _failure(self, exc: psycopg.Error, *, committing: bool) -> StoreError:
        text = self._one_line(exc)
        if exc.sqlstate == "55P03":
            return StoreError(
                f"the incident store is busy: a lock was held for over {_LOCK_TIMEOUT}: {text}",
                hint="nothing was saved; try again",
            )
        if isinstance(exc, psycopg.OperationalError) or self._conn is None or self._conn.broken:
            outcome = (
                "the change may or may not have been saved (check `mlsre incident timeline`)"
                if committing
                else "nothing was saved"
            )
            return StoreError(
                f"lost the connection to the incident store {self.where}: {text}",
                hint=f"{outcome}; the next command reconnects",
            )
        return StoreError(f"incident store error: {text}", hint="nothing was saved")

    @contextmanager
    def _write(self) -> Iterator[None]:
        conn = self._connection()
        committing = False
        try:
            with conn.transaction():
                yield
                committing = True
        except psycopg.Error as exc:
            raise self._failure(exc, committing=committing) from None

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            raise self._failure(exc, committing=False) from None

    def _all(self, query: str, args: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query; outside a transaction, a connection lost since the last use (a server
        restart under a long-lived process) is reopened once, as reads are safe to repeat."""
        for attempt in (1, 2):
            conn = self._connection()
            idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            try:
                return conn.execute(query, args).fetchall()
            except psycopg.OperationalError as exc:
                if attempt == 2 or not idle or not conn.broken:
                    raise self._failure(exc, committing=False) from None
            except psycopg.Error as exc:
                raise self._failure(exc, committing=False) from None
        raise AssertionError("unreachable")

    # ---- the backend's part of the rules -----------------------------------------------------

    def _next_id(self) -> int:
        conn = self._connection()
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_OPEN_LOCK,))
        row = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM incidents").fetchone()
        assert row is not None
        return int(row[0])

    def _load(self, incident_id: int, *, for_update: bool) -> Incident | None:
        lock = " FOR UPDATE" if for_update else ""
        rows = self._all(f"SELECT state::text FROM incidents WHERE id = %s{lock}", (incident_id,))
        return state_from_json(rows[0][0]) if rows else None

    def _insert(self, ev: Event, state: Incident, *, new: bool) -> None:
        conn = self._connection()
        values = (
            state.title,
            state.severity.value,
            state.status.value,
            state.model,
            state.service,
            ev.at,
            ev.seq,
            state_to_json(state),
            ev.incident_id,
        )
        if new:
            conn.execute(
                "INSERT INTO incidents (title, severity, status, model, service, updated_at,"
                " last_seq, state, id, opened_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::json, %s, %s)",
                (*values, state.opened_at),
            )
        else:
            conn.execute(
                "UPDATE incidents SET title = %s, severity = %s, status = %s, model = %s,"
                " service = %s, updated_at = %s, last_seq = %s, state = %s::json WHERE id = %s",
                values,
            )
        conn.execute(
            "INSERT INTO events (incident_id, seq, at, actor, kind, data)"
            " VALUES (%s, %s, %s, %s, %s, %s::json)",
            (ev.incident_id, ev.seq, ev.at, ev.actor, ev.kind.value, dumps(ev.data)),
        )
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{ev.incident_id} {ev.seq}"))

    # ---- schema --------------------------------------------------------------------------------

    def _meta(self) -> dict[str, str] | None:
        if self._all("SELECT to_regclass('meta')")[0][0] is None:
            return None
        return dict(self._all("SELECT key, value FROM meta"))

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        with self._write():
            self._connection().execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            yield

    def _apply(self, m: Migration) -> None:
        conn = self._connection()
        conn.execute(SQL[m.version].encode())  # several statements, no parameters
        if m.version >= 2:
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at, mlsre_version)"
                " VALUES (%s, %s, %s, %s)",
                (m.version, m.name, datetime.now(UTC), WRITTEN_BY),
            )
        if m.version == 2:
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (1, %s)",
                ("event log, incident projection, meta",),
            )
        for key, value in (("schema_version", str(m.version)), ("written_by", WRITTEN_BY)):
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def _history(self) -> list[dict[str, Any]]:
        return [
            {
                "version": r[0],
                "name": r[1],
                "applied_at": r[2].isoformat() if r[2] else None,
                "mlsre_version": r[3],
            }
            for r in self._all(
                "SELECT version, name, applied_at, mlsre_version FROM schema_migrations"
                " ORDER BY version"
            )
        ]

    # ---- reads ---------------------------------------------------------------------------------

    _EVENT_COLUMNS = "incident_id, seq, at, actor, kind, data::text"

    def events(self, incident_id: int, after_seq: int = 0) -> list[Event]:
        self.get(incident_id)
        return [
            event_from_row(*r)
            for r in self._all(
                f"SELECT {self._EVENT_COLUMNS} FROM events WHERE incident_id = %s AND seq > %s"
                " ORDER BY seq",
                (incident_id, after_seq),
            )
        ]

    def event_log(self) -> Iterator[tuple[int, int, datetime, str, str, str]]:
        # Keyset pages in autocommit: no transaction stays open while the caller works.
        last = (0, 0)
        while True:
            rows = self._all(
                f"SELECT {self._EVENT_COLUMNS} FROM events WHERE (incident_id, seq) > (%s, %s)"
                " ORDER BY incident_id, seq LIMIT %s",
                (*last, _BATCH),
            )
            yield from rows
            if len(rows) < _BATCH:
                return
            last = (rows[-1][0], rows[-1][1])

    def all_events(self) -> Iterator[Event]:
        for r in self.event_log():
            yield event_from_row(*r)

    def wait_events(self, incident_id: int, after_seq: int, timeout_s: float) -> list[Event]:
        if self._listener is None or self._listener.closed or self._listener.broken:
            self._listener = self._connect()
            with self._reading():
                self._listener.execute(f"LISTEN {CHANNEL}")
        evs = self.events(incident_id, after_seq)  # after LISTEN: nothing slips between
        if evs:
            return evs
        deadline = time.monotonic() + timeout_s
        with self._reading():
            while (left := deadline - time.monotonic()) > 0:
                for n in self._listener.notifies(timeout=left, stop_after=1):
                    if n.payload.split(" ", 1)[0] == str(incident_id):
                        return self.events(incident_id, after_seq)
        return []

    def rows(self, flt: IncidentFilter) -> list[IncidentRow]:
        where, args = filter_sql(flt, "%s")
        return [
            IncidentRow(
                id=r[0],
                ref=format_id(r[0]),
                title=r[1],
                severity=Severity(r[2]),
                status=Status(r[3]),
                model=r[4],
                service=r[5],
                opened_at=r[6],
                updated_at=r[7],
            )
            for r in self._all(
                "SELECT id, title, severity, status, model, service, opened_at, updated_at"
                f" FROM incidents{where}",
                args,
            )
        ]

    def incidents(self, flt: IncidentFilter) -> list[Incident]:
        where, args = filter_sql(flt, "%s")
        return [
            state_from_json(r[0])
            for r in self._all(f"SELECT state::text FROM incidents{where}", args)
        ]

    def counts(self) -> dict[str, int]:
        return {t.name: int(self._all(f"SELECT COUNT(*) FROM {t.name}")[0][0]) for t in COPIED}

    # ---- copy ----------------------------------------------------------------------------------

    def incident_ids(self, after: int, limit: int) -> list[int]:
        return [
            r[0]
            for r in self._all(
                "SELECT id FROM incidents WHERE id > %s ORDER BY id LIMIT %s", (after, limit)
            )
        ]

    def select_rows(self, table: Table, incident_ids: list[int]) -> list[Row]:
        cols = ", ".join(f"{c}::text" if c in table.json else c for c in table.columns)
        return [
            tuple(r)
            for r in self._all(
                f"SELECT {cols} FROM {table.name} WHERE {table.incident_column} = ANY(%s)"
                f" ORDER BY {', '.join(table.key)}",
                (incident_ids,),
            )
        ]

    def insert_rows(self, rows: dict[str, list[Row]]) -> dict[str, int]:
        added: dict[str, int] = {}
        with self._write():
            cur = self._connection().cursor()
            for table in COPIED:
                batch = rows.get(table.name, [])
                if not batch:
                    added[table.name] = 0
                    continue
                cur.executemany(_insert_sql(table), batch)
                added[table.name] = max(cur.rowcount, 0)
        return added

    def close(self) -> None:
        for conn in (self._conn, self._listener):
            if conn is not None:
                conn.close()


def _insert_sql(table: Table) -> str:
    cols = ", ".join(table.columns)
    marks = ", ".join("%s::json" if c in table.json else "%s" for c in table.columns)
    key = ", ".join(table.key)
    on = f" ON CONFLICT ({key}) DO NOTHING"
    if table.newer:
        sets = ", ".join(f"{c} = excluded.{c}" for c in table.columns if c not in table.key)
        on = (
            f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
            f" WHERE excluded.{table.newer} > {table.name}.{table.newer}"
        )
    return f"INSERT INTO {table.name} ({cols}) VALUES ({marks}){on}"
