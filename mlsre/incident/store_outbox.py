"""What the store keeps beside the event log, written once for every backend: escalation state
and the notification outbox (rows written in the event's own transaction, see
:mod:`mlsre.notify.plan`), and the team's change log (``mlsre change record``).

A backend supplies :meth:`_sql` (one statement, ``?`` placeholders, inside the current
transaction) and two lock suffixes; the SQL here is the same text for SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, ClassVar

from mlsre.changes.model import ChangeKind, RecordedChange
from mlsre.errors import LifecycleError
from mlsre.incident import lifecycle
from mlsre.incident.model import Event, EventKind, Incident, apply, format_id
from mlsre.incident.store import OutboxRow
from mlsre.notify.plan import EscalationState, Snapshot, after_event, escalation_data

_OUTBOX_COLUMNS = (
    "id, incident_id, seq, channel, action, event_kind, payload, status, attempts,"
    " next_attempt_at, last_error, created_at, sent_at"
)


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


class OutboxTables(ABC):
    FOR_UPDATE: ClassVar[str] = ""  # " FOR UPDATE" where rows can be locked
    SKIP_LOCKED: ClassVar[str] = ""  # " FOR UPDATE SKIP LOCKED" where supported

    @abstractmethod
    def _sql(self, query: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders); rows, if it returns any."""

    @abstractmethod
    def _write(self) -> AbstractContextManager[None]: ...

    @abstractmethod
    def _load(self, incident_id: int, *, for_update: bool = False) -> Incident | None: ...

    @abstractmethod
    def _insert(self, ev: Event, state: Incident, *, new: bool = False) -> None: ...

    # ---- escalation state and outbox rows, in the event's transaction ------------------------

    def _after_insert(self, ev: Event, state: Incident, escalation: Any = None) -> None:
        if isinstance(escalation, Snapshot):  # a new incident with a policy: its state row
            self._sql(
                "INSERT INTO escalations (incident_id, snapshot, level, round, notified)"
                " VALUES (?, ?, 1, 0, '[]')",
                (ev.incident_id, json.dumps(escalation.to_json())),
            )
        esc = self._escalation(ev.incident_id, lock=True)
        if esc is None:
            return
        new, rows = after_event(esc, ev, state)
        self._sql(
            "UPDATE escalations SET level = ?, round = ?, next_due_at = ?, notified = ?"
            " WHERE incident_id = ?",
            (new.level, new.round, new.next_due_at, json.dumps(list(new.notified)), ev.incident_id),
        )
        from mlsre.jsonutil import dumps

        for n in rows:
            self._sql(
                "INSERT INTO outbox (incident_id, seq, channel, action, event_kind, payload,"
                " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ev.incident_id,
                    n.seq,
                    n.channel,
                    n.action.value,
                    n.event_kind,
                    dumps(n.payload),
                    ev.at,
                    ev.at,
                ),
            )

    def _escalation(self, incident_id: int, *, lock: bool = False) -> EscalationState | None:
        rows = self._sql(
            "SELECT snapshot, level, round, next_due_at, notified FROM escalations"
            " WHERE incident_id = ?" + (self.FOR_UPDATE if lock else ""),
            (incident_id,),
        )
        if not rows:
            return None
        r = rows[0]
        return EscalationState(
            snapshot=Snapshot.from_json(_json(r[0])),
            level=int(r[1]),
            round=int(r[2]),
            next_due_at=_time(r[3]),
            notified=tuple(_json(r[4])),
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
        ``due_only``, only when it is due at ``at``; None when there is nothing to do."""
        with self._write():
            state = self._load(incident_id, for_update=True)
            esc = self._escalation(incident_id, lock=True)
            if state is None or esc is None:
                if due_only:
                    return None
                if state is None:
                    raise LifecycleError(f"no incident {format_id(incident_id)}")
                raise LifecycleError(
                    f"{format_id(incident_id)} has no escalation policy",
                    hint="add escalation.policies to mlsre.yaml (see docs/notify.md)",
                )
            if due_only and (esc.next_due_at is None or esc.next_due_at > at):
                return None
            data = escalation_data(esc, by_hand=not due_only, level=level)
            if data is None:
                if due_only:  # the policy is used up: stop looking at it
                    self._sql(
                        "UPDATE escalations SET next_due_at = NULL WHERE incident_id = ?",
                        (incident_id,),
                    )
                    return None
                raise LifecycleError(
                    f"{format_id(incident_id)}: policy {esc.snapshot.policy} has no level "
                    f"{level if level is not None else esc.level + 1}",
                    hint=f"levels are 1..{len(esc.snapshot.levels)}",
                )
            lifecycle.check(state, EventKind.ESCALATED, data)
            ev = Event(incident_id, state.last_seq + 1, at, actor, EventKind.ESCALATED, data)
            state = apply(state, ev)
            self._insert(ev, state, new=False)
            self._after_insert(ev, state)
        return state, ev

    def due_escalations(self, at: datetime) -> list[int]:
        rows = self._sql(
            "SELECT incident_id FROM escalations WHERE next_due_at IS NOT NULL"
            " AND next_due_at <= ? ORDER BY next_due_at",
            (at,),
        )
        return [int(r[0]) for r in rows]

    # ---- the outbox's delivery side ----------------------------------------------------------

    def claim_outbox(self, at: datetime, lease_s: float, limit: int = 100) -> list[OutboxRow]:
        """The first pending row of each (incident, channel) queue that is due and not leased
        by another worker, leased to the caller until ``at + lease_s``."""
        lease = at + timedelta(seconds=lease_s)
        with self._write():
            rows = self._sql(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox o WHERE o.status = 'pending'"
                " AND o.id = (SELECT MIN(p.id) FROM outbox p WHERE p.status = 'pending'"
                " AND p.incident_id = o.incident_id AND p.channel = o.channel)"
                " AND o.next_attempt_at <= ? AND (o.lease_until IS NULL OR o.lease_until < ?)"
                " ORDER BY o.id LIMIT ?" + self.SKIP_LOCKED,
                (at, at, limit),
            )
            for r in rows:
                self._sql("UPDATE outbox SET lease_until = ? WHERE id = ?", (lease, r[0]))
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
            self._sql(
                "UPDATE outbox SET status = ?, attempts = ?, lease_until = NULL, last_error = ?,"
                " next_attempt_at = COALESCE(?, next_attempt_at), sent_at = ? WHERE id = ?",
                (
                    status,
                    attempts,
                    error,
                    next_attempt_at,
                    at if status == "sent" else None,
                    row_id,
                ),
            )

    def outbox(self, status: str | None = None, limit: int = 200) -> list[OutboxRow]:
        where, args = ("WHERE status = ?", [status]) if status else ("", [])
        rows = self._sql(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox {where} ORDER BY id DESC LIMIT ?",
            [*args, limit],
        )
        return [_outbox_row(r) for r in rows]

    def retry_outbox(self, row_id: int | None, at: datetime) -> int:
        """Send dead-lettered rows again (one, or all); how many were requeued."""
        with self._write():
            one, args = (" AND id = ?", [row_id]) if row_id is not None else ("", [])
            rows = self._sql(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?,"
                " lease_until = NULL WHERE status = 'dead'" + one + " RETURNING id",
                [at, *args],
            )
        return len(rows)

    def pending_outbox(self) -> int:
        return int(self._sql("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")[0][0])

    # ---- the team's change log ---------------------------------------------------------------

    def record_change(self, change: RecordedChange) -> RecordedChange:
        from dataclasses import replace

        recorded = change.recorded_at or change.at
        with self._write():
            rows = self._sql(
                "INSERT INTO changes (at, kind, summary, actor, model, service, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (change.at, change.kind.value, change.summary, change.actor, change.model,
                 change.service, recorded),
            )  # fmt: skip
        return replace(change, id=int(rows[0][0]), recorded_at=recorded)

    def changes(
        self, since: datetime | None = None, until: datetime | None = None, model: str | None = None
    ) -> list[RecordedChange]:
        clauses: list[str] = []
        args: list[Any] = []
        if since is not None:
            clauses.append("at >= ?")
            args.append(since)
        if until is not None:
            clauses.append("at <= ?")
            args.append(until)
        if model is not None:
            clauses.append("(model = ? OR model IS NULL)")
            args.append(model)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._sql(
            "SELECT id, at, kind, summary, actor, model, service, recorded_at FROM changes"
            + where
            + " ORDER BY at, id",
            args,
        )
        return [
            RecordedChange(
                id=int(r[0]),
                at=_time(r[1]) or datetime.min,
                kind=ChangeKind(r[2]),
                summary=r[3],
                actor=r[4],
                model=r[5],
                service=r[6],
                recorded_at=_time(r[7]),
            )
            for r in rows
        ]


def _outbox_row(r: tuple[Any, ...]) -> OutboxRow:
    return OutboxRow(
        id=int(r[0]),
        incident_id=int(r[1]),
        seq=int(r[2]),
        channel=r[3],
        action=r[4],
        event_kind=r[5],
        payload=_json(r[6]),
        status=r[7],
        attempts=int(r[8]),
        next_attempt_at=_time(r[9]) or datetime.min,
        last_error=r[10],
        created_at=_time(r[11]) or datetime.min,
        sent_at=_time(r[12]),
    )
