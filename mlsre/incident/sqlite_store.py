"""The embedded store: stdlib sqlite3 in WAL mode. All of its SQL lives here.

Every write is one ``BEGIN IMMEDIATE`` transaction that reads the projection, checks the move,
inserts the event with the next sequence number (unique per incident) and updates the
projection, so concurrent writers queue instead of losing or reordering events.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from mlsre.errors import NotFoundError, StoreError
from mlsre.incident import lifecycle
from mlsre.incident.model import Event, EventKind, Incident, Severity, Status, apply, format_id
from mlsre.incident.store import IncidentFilter, IncidentRow, state_from_json, state_to_json
from mlsre.jsonutil import dumps
from mlsre.redaction import redact_data

SCHEMA_VERSION = 1
_SCHEMA = """
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
"""


class SqliteStore:
    def __init__(self, url: str) -> None:
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url
        self.path = path
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(
                path, timeout=60, isolation_level=None, check_same_thread=False
            )
            self.db.execute("PRAGMA busy_timeout = 60000")
            self.db.execute("PRAGMA synchronous = FULL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._ensure_schema()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot open incident store {path}: {exc}",
                hint="check the path and permissions (store.url in mlsre.yaml or MLSRE_STORE_URL)",
            ) from None
        except OSError as exc:
            raise StoreError(
                f"cannot create incident store folder for {path}: {exc.strerror}"
            ) from None

    def _ensure_schema(self) -> None:
        row = self._meta_version()
        if row == SCHEMA_VERSION:
            return
        if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _meta_version(self) -> int | None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            return None
        return int(row[0]) if row else None

    # ---- writes --------------------------------------------------------------------------

    def open_incident(
        self, data: dict[str, Any], actor: str, at: datetime
    ) -> tuple[Incident, Event]:
        data = redact_data(data)
        with self._write():
            cur = self.db.execute(
                "INSERT INTO incidents (title, severity, status, model, service, opened_at, updated_at,"
                " last_seq, state) VALUES (?, ?, 'open', ?, ?, ?, ?, 0, '{}')",
                (
                    data["title"],
                    data["severity"],
                    data.get("model"),
                    data.get("service"),
                    at.isoformat(),
                    at.isoformat(),
                ),
            )
            new_id = int(cur.lastrowid or 0)
            ev = Event(new_id, 1, at, actor, EventKind.OPENED, data)
            state = apply(None, ev)
            self._insert(ev, state)
        return state, ev

    def append(
        self, incident_id: int, kind: EventKind, data: dict[str, Any], actor: str, at: datetime
    ) -> tuple[Incident, Event]:
        data = redact_data(data)  # events outlive the terminal: no secret is ever stored
        with self._write():
            state = self._load(incident_id)
            lifecycle.check(state, kind, data)
            ev = Event(incident_id, state.last_seq + 1, at, actor, kind, data)
            state = apply(state, ev)
            self._insert(ev, state)
        return state, ev

    def _insert(self, ev: Event, state: Incident) -> None:
        self.db.execute(
            "INSERT INTO events (incident_id, seq, at, actor, kind, data) VALUES (?, ?, ?, ?, ?, ?)",
            (ev.incident_id, ev.seq, ev.at.isoformat(), ev.actor, ev.kind.value, dumps(ev.data)),
        )
        self.db.execute(
            "UPDATE incidents SET title = ?, severity = ?, status = ?, model = ?, service = ?,"
            " updated_at = ?, last_seq = ?, state = ? WHERE id = ?",
            (
                state.title,
                state.severity.value,
                state.status.value,
                state.model,
                state.service,
                ev.at.isoformat(),
                ev.seq,
                state_to_json(state),
                ev.incident_id,
            ),
        )

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> None:
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write to the incident store: {exc}") from None

        def __exit__(self, et: object, ev: object, tb: object) -> None:
            if et is None:
                try:
                    self.db.execute("COMMIT")
                    return
                except sqlite3.Error as exc:
                    self.db.execute("ROLLBACK")
                    raise StoreError(f"cannot write to the incident store: {exc}") from None
            self.db.execute("ROLLBACK")
            if isinstance(ev, sqlite3.Error):
                raise StoreError(f"cannot write to the incident store: {ev}") from None

    def _write(self) -> _Tx:
        return SqliteStore._Tx(self.db)

    # ---- reads ---------------------------------------------------------------------------

    def _load(self, incident_id: int) -> Incident:
        row = self.db.execute("SELECT state FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        if row is None:
            raise NotFoundError(
                f"no incident {format_id(incident_id)}", hint="see `mlsre incident list --all`"
            )
        return state_from_json(row[0])

    def get(self, incident_id: int) -> Incident:
        return self._load(incident_id)

    def events(self, incident_id: int, after_seq: int = 0) -> list[Event]:
        self._load(incident_id)
        rows = self.db.execute(
            "SELECT incident_id, seq, at, actor, kind, data FROM events WHERE incident_id = ? AND seq > ?"
            " ORDER BY seq",
            (incident_id, after_seq),
        ).fetchall()
        return [_event(r) for r in rows]

    def all_events(self) -> Iterator[Event]:
        for r in self.db.execute(
            "SELECT incident_id, seq, at, actor, kind, data FROM events ORDER BY incident_id, seq"
        ):
            yield _event(r)

    def _where(self, flt: IncidentFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if flt.statuses:
            clauses.append(f"status IN ({','.join('?' * len(flt.statuses))})")
            args.extend(s.value for s in flt.statuses)
        if flt.severities:
            clauses.append(f"severity IN ({','.join('?' * len(flt.severities))})")
            args.extend(s.value for s in flt.severities)
        if flt.model:
            clauses.append("model = ?")
            args.append(flt.model)
        if flt.since:
            clauses.append("opened_at >= ?")
            args.append(flt.since.isoformat())
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        limit = f" LIMIT {int(flt.limit)}" if flt.limit else ""
        return where + " ORDER BY id DESC" + limit, args

    def rows(self, flt: IncidentFilter) -> list[IncidentRow]:
        tail, args = self._where(flt)
        rows = self.db.execute(
            "SELECT id, title, severity, status, model, service, opened_at, updated_at FROM incidents"
            + tail,
            args,
        ).fetchall()
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
            for r in rows
        ]

    def incidents(self, flt: IncidentFilter) -> list[Incident]:
        tail, args = self._where(flt)
        return [
            state_from_json(r[0])
            for r in self.db.execute("SELECT state FROM incidents" + tail, args)
        ]

    def close(self) -> None:
        self.db.close()


def _event(r: tuple[Any, ...]) -> Event:
    try:
        kind = EventKind(r[4])
    except ValueError:
        raise StoreError(
            f"{format_id(r[0])} has an event of kind {r[4]!r}, which this mlsre does not know "
            "(written by a newer mlsre?)",
            hint="upgrade mlsre to read this incident",
        ) from None
    return Event(r[0], r[1], datetime.fromisoformat(r[2]), r[3], kind, json.loads(r[5]))
