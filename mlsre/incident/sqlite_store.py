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
from mlsre.incident import store as serve_types
from mlsre.incident.model import Event, EventKind, Incident, Severity, Status, apply, format_id
from mlsre.incident.store import IncidentFilter, IncidentRow, state_from_json, state_to_json
from mlsre.jsonutil import dumps

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


# mlsre serve's tables (see the serve section below).
_SERVE_SCHEMA = """
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
)
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
        with self._write():
            return self._open(data, actor, at)

    def _open(self, data: dict[str, Any], actor: str, at: datetime) -> tuple[Incident, Event]:
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

    # ==== mlsre serve: alert groups, diagnosis queue, automatic actions, flags ================
    # Plain standard SQL (INSERT ... ON CONFLICT is in SQLite >= 3.24 and PostgreSQL) so the
    # PostgreSQL backend can port it line by line. Tables are created on first use by serve.

    _serve_ready = False

    def _serve_schema(self) -> None:
        if self._serve_ready:
            return
        with self._write():
            for statement in _SERVE_SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
        self._serve_ready = True

    def set_lock_timeout(self, seconds: float) -> None:
        self.db.execute(f"PRAGMA busy_timeout = {max(0, int(seconds * 1000))}")

    def record_alert_groups(
        self, updates: list[tuple[str, serve_types.AlertDecide]], actor: str, at: datetime
    ) -> list[serve_types.AlertOutcome]:
        self._serve_schema()
        out: list[serve_types.AlertOutcome] = []
        with self._write():
            for key, decide in updates:
                group = self._alert_group(key)
                incident = self._load(group.incident_id) if group else None
                plan = decide(group, incident)
                if not plan.touch:
                    out.append(serve_types.AlertOutcome(key, incident, False, []))
                    continue
                events: list[Event] = []
                if plan.open is not None:
                    incident, ev = self._open(plan.open, actor, at)
                    events.append(ev)
                if incident is None:
                    raise ValueError(f"alert group {key}: a plan with no incident to record on")
                for kind, data in plan.events:
                    lifecycle.check(incident, kind, data)
                    ev = Event(incident.id, incident.last_seq + 1, at, actor, kind, data)
                    incident = apply(incident, ev)
                    self._insert(ev, incident)
                    events.append(ev)
                self.db.execute(
                    "INSERT INTO serve_alert_groups (group_key, incident_id, firing, fingerprints,"
                    " last_firing_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (group_key) DO UPDATE SET incident_id = excluded.incident_id,"
                    " firing = excluded.firing, fingerprints = excluded.fingerprints,"
                    " last_firing_at = excluded.last_firing_at, updated_at = excluded.updated_at",
                    (
                        key,
                        incident.id,
                        1 if plan.firing else 0,
                        json.dumps(sorted(plan.fingerprints)),
                        plan.last_firing_at.isoformat() if plan.last_firing_at else None,
                        at.isoformat(),
                    ),
                )
                for job_kind, payload in plan.jobs:
                    self.db.execute(
                        "INSERT INTO serve_jobs (incident_id, kind, payload, state, attempts,"
                        " worker, note, created_at, updated_at) VALUES (?, ?, ?, ?, 0, NULL, '', ?, ?)",
                        (
                            incident.id,
                            job_kind,
                            dumps(payload),
                            serve_types.JobState.QUEUED,
                            at.isoformat(),
                            at.isoformat(),
                        ),
                    )
                out.append(serve_types.AlertOutcome(key, incident, plan.open is not None, events))
        return out

    def alert_group(self, key: str) -> serve_types.AlertGroup | None:
        self._serve_schema()
        return self._alert_group(key)

    def _alert_group(self, key: str) -> serve_types.AlertGroup | None:
        r = self.db.execute(
            "SELECT group_key, incident_id, firing, fingerprints, last_firing_at, updated_at"
            " FROM serve_alert_groups WHERE group_key = ?",
            (key,),
        ).fetchone()
        if r is None:
            return None
        return serve_types.AlertGroup(
            key=r[0],
            incident_id=r[1],
            firing=bool(r[2]),
            fingerprints=tuple(json.loads(r[3])),
            last_firing_at=datetime.fromisoformat(r[4]) if r[4] else None,
            updated_at=datetime.fromisoformat(r[5]),
        )

    def claim_job(self, worker: str, at: datetime) -> serve_types.Job | None:
        self._serve_schema()
        queued = (serve_types.JobState.QUEUED,)
        if not self.db.execute(
            "SELECT 1 FROM serve_jobs WHERE state = ? LIMIT 1", queued
        ).fetchone():
            return None  # idle polls never take the write lock
        with self._write():
            r = self.db.execute(
                "SELECT id FROM serve_jobs WHERE state = ? ORDER BY id LIMIT 1",
                (serve_types.JobState.QUEUED,),
            ).fetchone()
            if r is None:
                return None
            self.db.execute(
                "UPDATE serve_jobs SET state = ?, worker = ?, attempts = attempts + 1,"
                " updated_at = ? WHERE id = ?",
                (serve_types.JobState.RUNNING, worker, at.isoformat(), r[0]),
            )
            return self._jobs("WHERE id = ?", (r[0],))[0]

    def finish_job(self, job_id: int, state: str, note: str, at: datetime) -> None:
        self._serve_schema()
        with self._write():
            self.db.execute(
                "UPDATE serve_jobs SET state = ?, note = ?, updated_at = ? WHERE id = ?",
                (state, note[:2000], at.isoformat(), job_id),
            )

    def requeue_running_jobs(self, at: datetime) -> int:
        self._serve_schema()
        with self._write():
            cur = self.db.execute(
                "UPDATE serve_jobs SET state = ?, worker = NULL, updated_at = ? WHERE state = ?",
                (serve_types.JobState.QUEUED, at.isoformat(), serve_types.JobState.RUNNING),
            )
            return int(cur.rowcount)

    def jobs(self, states: tuple[str, ...] = ()) -> list[serve_types.Job]:
        self._serve_schema()
        if not states:
            return self._jobs("", ())
        return self._jobs(f"WHERE state IN ({','.join('?' * len(states))})", states)

    def _jobs(self, where: str, args: tuple[Any, ...]) -> list[serve_types.Job]:
        rows = self.db.execute(
            "SELECT id, incident_id, kind, payload, state, attempts, created_at FROM serve_jobs "
            + where
            + " ORDER BY id",
            args,
        ).fetchall()
        return [
            serve_types.Job(
                r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], datetime.fromisoformat(r[6])
            )
            for r in rows
        ]

    def claim_auto_action(
        self, model: str, incident_id: int, step: str, since: datetime, limit: int, at: datetime
    ) -> tuple[int | None, str | None]:
        self._serve_schema()
        with self._write():
            busy = self.db.execute(
                "SELECT incident_id, step FROM serve_auto_actions WHERE model = ?"
                " AND incident_id <> ? AND finished_at IS NULL AND started_at >= ?"
                " ORDER BY id LIMIT 1",
                (model, incident_id, since.isoformat()),
            ).fetchone()
            if busy is not None:
                return None, (
                    f"another incident of {model} ({format_id(busy[0])}) is mid-mitigation"
                    f" ({busy[1]})"
                )
            n = self.db.execute(
                "SELECT COUNT(*) FROM serve_auto_actions WHERE model = ? AND started_at >= ?",
                (model, since.isoformat()),
            ).fetchone()[0]
            if n >= limit:
                return None, (
                    f"rate limit: {n} automatic mitigation(s) of {model} since {since.isoformat()}"
                    f" (at most {limit})"
                )
            cur = self.db.execute(
                "INSERT INTO serve_auto_actions (model, incident_id, step, started_at, finished_at)"
                " VALUES (?, ?, ?, ?, NULL)",
                (model, incident_id, step, at.isoformat()),
            )
            return int(cur.lastrowid or 0), None

    def finish_auto_action(self, action_id: int, at: datetime) -> None:
        self._serve_schema()
        with self._write():
            self.db.execute(
                "UPDATE serve_auto_actions SET finished_at = ? WHERE id = ?",
                (at.isoformat(), action_id),
            )

    def get_flag(self, name: str) -> serve_types.Flag | None:
        self._serve_schema()
        r = self.db.execute(
            "SELECT name, value, actor, at FROM serve_flags WHERE name = ?", (name,)
        ).fetchone()
        return serve_types.Flag(r[0], r[1], r[2], datetime.fromisoformat(r[3])) if r else None

    def set_flag(self, name: str, value: str | None, actor: str, at: datetime) -> None:
        self._serve_schema()
        with self._write():
            if value is None:
                self.db.execute("DELETE FROM serve_flags WHERE name = ?", (name,))
                return
            self.db.execute(
                "INSERT INTO serve_flags (name, value, actor, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
                " actor = excluded.actor, at = excluded.at",
                (name, value, actor, at.isoformat()),
            )

    # ==== end of the mlsre serve section ======================================================


def _event(r: tuple[Any, ...]) -> Event:
    return Event(r[0], r[1], datetime.fromisoformat(r[2]), r[3], EventKind(r[4]), json.loads(r[5]))
