"""The embedded store: stdlib sqlite3 in WAL mode. All of its SQL lives here.

Every write is one ``BEGIN IMMEDIATE`` transaction that reads the projection, checks the move,
inserts the event with the next sequence number (unique per incident) and updates the
projection, so concurrent writers queue instead of losing or reordering events.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mlsre.changes.model import ChangeKind, RecordedChange
from mlsre.errors import LifecycleError, NotFoundError, StoreError
from mlsre.incident import lifecycle
from mlsre.incident.model import Event, EventKind, Incident, Severity, Status, apply, format_id
from mlsre.incident.store import (
    IncidentFilter,
    IncidentRow,
    OutboxRow,
    state_from_json,
    state_to_json,
)
from mlsre.jsonutil import dumps
from mlsre.notify.plan import EscalationState, Snapshot, after_event, escalation_data

SCHEMA_VERSION = 3  # 2: the team's change log; 3: escalation state and the notification outbox
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
            self.db.execute(  # who this store is: part of stable PagerDuty dedup keys
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?)",
                (uuid.uuid4().hex[:12],),
            )
            self.db.execute(  # every statement above is idempotent: older stores catch up
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
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
        self,
        data: dict[str, Any],
        actor: str,
        at: datetime,
        escalation: Snapshot | None = None,
    ) -> tuple[Incident, Event]:
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
            if escalation is not None:
                self.db.execute(
                    "INSERT INTO escalations (incident_id, snapshot, level, round, notified)"
                    " VALUES (?, ?, 1, 0, '[]')",
                    (new_id, dumps(escalation.to_json())),
                )
                self._notify(ev, state)
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
            self._notify(ev, state)
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

    # ---- escalation and the notification outbox (see mlsre.notify.plan) ---------------------

    def _escalation(self, incident_id: int) -> EscalationState | None:
        row = self.db.execute(
            "SELECT snapshot, level, round, next_due_at, notified FROM escalations"
            " WHERE incident_id = ?",
            (incident_id,),
        ).fetchone()
        if row is None:
            return None
        return EscalationState(
            snapshot=Snapshot.from_json(json.loads(row[0])),
            level=int(row[1]),
            round=int(row[2]),
            next_due_at=datetime.fromisoformat(row[3]) if row[3] else None,
            notified=tuple(json.loads(row[4])),
        )

    def _notify(self, ev: Event, state: Incident) -> None:
        """In the event's transaction: move escalation on and queue what it causes."""
        esc = self._escalation(ev.incident_id)
        if esc is None:
            return
        new, rows = after_event(esc, ev, state)
        self.db.execute(
            "UPDATE escalations SET level = ?, round = ?, next_due_at = ?, notified = ?"
            " WHERE incident_id = ?",
            (
                new.level,
                new.round,
                new.next_due_at.isoformat() if new.next_due_at else None,
                json.dumps(list(new.notified)),
                ev.incident_id,
            ),
        )
        for n in rows:
            self.db.execute(
                "INSERT INTO outbox (incident_id, seq, channel, action, event_kind, payload,"
                " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ev.incident_id,
                    n.seq,
                    n.channel,
                    n.action.value,
                    n.event_kind,
                    dumps(n.payload),
                    ev.at.isoformat(),
                    ev.at.isoformat(),
                ),
            )

    def escalation(self, incident_id: int) -> EscalationState | None:
        return self._escalation(incident_id)

    def escalate(
        self,
        incident_id: int,
        actor: str,
        at: datetime,
        *,
        level: int | None = None,
        due_only: bool = False,
    ) -> tuple[Incident, Event] | None:
        """Append ``escalated`` for the next level (or ``level``), checked against the stored
        escalation state in the same transaction: two workers never escalate twice. With
        ``due_only``, only when the escalation is due at ``at``; None when there is nothing to do."""
        with self._write():
            esc = self._escalation(incident_id)
            if esc is None:
                if due_only:
                    return None
                raise LifecycleError(
                    f"{format_id(incident_id)} has no escalation policy",
                    hint="add escalation.policies to mlsre.yaml (see `mlsre notify --help`)",
                )
            if due_only and (esc.next_due_at is None or esc.next_due_at > at):
                return None
            data = escalation_data(esc, by_hand=not due_only, level=level)
            if data is None:
                if due_only:
                    self.db.execute(
                        "UPDATE escalations SET next_due_at = NULL WHERE incident_id = ?",
                        (incident_id,),
                    )
                    return None
                raise LifecycleError(
                    f"{format_id(incident_id)}: policy {esc.snapshot.policy} has no level "
                    f"{level if level is not None else esc.level + 1}",
                    hint=f"levels are 1..{len(esc.snapshot.levels)}",
                )
            state = self._load(incident_id)
            lifecycle.check(state, EventKind.ESCALATED, data)
            ev = Event(incident_id, state.last_seq + 1, at, actor, EventKind.ESCALATED, data)
            state = apply(state, ev)
            self._insert(ev, state)
            self._notify(ev, state)
        return state, ev

    def due_escalations(self, at: datetime) -> list[int]:
        rows = self.db.execute(
            "SELECT incident_id FROM escalations WHERE next_due_at IS NOT NULL AND next_due_at <= ?"
            " ORDER BY next_due_at",
            (at.isoformat(),),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def store_id(self) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
        return str(row[0]) if row else "mlsre"

    def claim_outbox(self, at: datetime, lease_s: float, limit: int = 100) -> list[OutboxRow]:
        """The first pending row of each (incident, channel) queue that is due and not leased
        by another worker, leased to the caller until ``at + lease_s``."""
        lease = (at + timedelta(seconds=lease_s)).isoformat()
        now = at.isoformat()
        with self._write():
            rows = self.db.execute(
                "SELECT " + _OUTBOX_COLUMNS + " FROM outbox o WHERE o.status = 'pending'"
                " AND o.id = (SELECT MIN(p.id) FROM outbox p WHERE p.status = 'pending'"
                " AND p.incident_id = o.incident_id AND p.channel = o.channel)"
                " AND o.next_attempt_at <= ? AND (o.lease_until IS NULL OR o.lease_until < ?)"
                " ORDER BY o.id LIMIT ?",
                (now, now, limit),
            ).fetchall()
            for r in rows:
                self.db.execute("UPDATE outbox SET lease_until = ? WHERE id = ?", (lease, r[0]))
        return [_outbox_row(r) for r in rows]

    def finish_outbox(
        self,
        row_id: int,
        *,
        status: str,
        attempts: int,
        at: datetime,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        with self._write():
            self.db.execute(
                "UPDATE outbox SET status = ?, attempts = ?, lease_until = NULL, last_error = ?,"
                " next_attempt_at = COALESCE(?, next_attempt_at), sent_at = ? WHERE id = ?",
                (
                    status,
                    attempts,
                    error,
                    next_attempt_at.isoformat() if next_attempt_at else None,
                    at.isoformat() if status == "sent" else None,
                    row_id,
                ),
            )

    def outbox(self, status: str | None = None, limit: int = 200) -> list[OutboxRow]:
        where, args = ("WHERE o.status = ?", [status]) if status else ("", [])
        rows = self.db.execute(
            "SELECT " + _OUTBOX_COLUMNS + f" FROM outbox o {where} ORDER BY o.id DESC LIMIT ?",
            [*args, limit],
        ).fetchall()
        return [_outbox_row(r) for r in rows]

    def retry_outbox(self, row_id: int | None, at: datetime) -> int:
        """Send dead-lettered rows again (one, or all); how many were requeued."""
        with self._write():
            cur = self.db.execute(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?,"
                " lease_until = NULL WHERE status = 'dead' AND (? IS NULL OR id = ?)",
                (at.isoformat(), row_id, row_id),
            )
        return int(cur.rowcount)

    def pending_outbox(self) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").fetchone()
        return int(row[0])

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

    # ---- the team's change log --------------------------------------------------------------

    def record_change(self, change: RecordedChange) -> RecordedChange:
        recorded = change.recorded_at or change.at
        with self._write():
            cur = self.db.execute(
                "INSERT INTO changes (at, kind, summary, actor, model, service, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    change.at.isoformat(),
                    change.kind.value,
                    change.summary,
                    change.actor,
                    change.model,
                    change.service,
                    recorded.isoformat(),
                ),
            )
        return replace(change, id=int(cur.lastrowid or 0), recorded_at=recorded)

    def changes(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> list[RecordedChange]:
        clauses, args = [], []
        if since is not None:
            clauses.append("at >= ?")
            args.append(since.isoformat())
        if until is not None:
            clauses.append("at <= ?")
            args.append(until.isoformat())
        if model is not None:
            clauses.append("(model = ? OR model IS NULL)")
            args.append(model)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self.db.execute(
            "SELECT id, at, kind, summary, actor, model, service, recorded_at FROM changes"
            + where
            + " ORDER BY at, id",
            args,
        ).fetchall()
        return [
            RecordedChange(
                id=r[0],
                at=datetime.fromisoformat(r[1]),
                kind=ChangeKind(r[2]),
                summary=r[3],
                actor=r[4],
                model=r[5],
                service=r[6],
                recorded_at=datetime.fromisoformat(r[7]),
            )
            for r in rows
        ]

    def close(self) -> None:
        self.db.close()


_OUTBOX_COLUMNS = (
    "o.id, o.incident_id, o.seq, o.channel, o.action, o.event_kind, o.payload, o.status,"
    " o.attempts, o.next_attempt_at, o.last_error, o.created_at, o.sent_at"
)


def _outbox_row(r: tuple[Any, ...]) -> OutboxRow:
    return OutboxRow(
        id=int(r[0]),
        incident_id=int(r[1]),
        seq=int(r[2]),
        channel=r[3],
        action=r[4],
        event_kind=r[5],
        payload=json.loads(r[6]),
        status=r[7],
        attempts=int(r[8]),
        next_attempt_at=datetime.fromisoformat(r[9]),
        last_error=r[10],
        created_at=datetime.fromisoformat(r[11]),
        sent_at=datetime.fromisoformat(r[12]) if r[12] else None,
    )


def _event(r: tuple[Any, ...]) -> Event:
    return Event(r[0], r[1], datetime.fromisoformat(r[2]), r[3], EventKind(r[4]), json.loads(r[5]))
