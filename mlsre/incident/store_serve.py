"""What ``mlsre serve`` keeps in the store, written once for every backend: alert groups and the
incident each feeds, the diagnosis queue, automatic actions (the guard rails' memory) and
server-wide flags (the kill switch). One SQL text for SQLite and PostgreSQL through ``_sql``."""

from __future__ import annotations

import json
from abc import abstractmethod
from datetime import datetime
from typing import Any

from mlsre.incident import lifecycle
from mlsre.incident.model import Event, Incident, apply, format_id
from mlsre.incident.store import AlertDecide, AlertGroup, AlertOutcome, Flag, Job, JobState
from mlsre.incident.store_outbox import OutboxTables, _json, _time


class ServeTables(OutboxTables):
    @abstractmethod
    def _open_in_transaction(
        self, data: dict[str, Any], actor: str, at: datetime, escalation: Any = None
    ) -> tuple[Incident, Event]: ...

    @abstractmethod
    def _serialize(self, key: str) -> None:
        """Inside a write: no other transaction passes the same key until this one ends."""

    @abstractmethod
    def set_lock_timeout(self, seconds: float) -> None:
        """How long a write waits for another writer before raising ``StoreError``."""

    def record_alert_groups(
        self, updates: list[tuple[str, AlertDecide]], actor: str, at: datetime
    ) -> list[AlertOutcome]:
        """For each (group key, decide): read the group and its incident, ask ``decide`` what to
        do, then open/append/queue as planned, all in ONE transaction."""
        out: list[AlertOutcome] = []
        with self._write():
            for key, decide in updates:
                group = self._alert_group(key, lock=True)
                incident = self._load(group.incident_id, for_update=True) if group else None
                plan = decide(group, incident)
                if not plan.touch:
                    out.append(AlertOutcome(key, incident, False, []))
                    continue
                events: list[Event] = []
                if plan.open is not None:
                    incident, ev = self._open_in_transaction(plan.open, actor, at, plan.escalation)
                    events.append(ev)
                if incident is None:
                    raise ValueError(f"alert group {key}: a plan with no incident to record on")
                for kind, data in plan.events:
                    lifecycle.check(incident, kind, data)
                    ev = Event(incident.id, incident.last_seq + 1, at, actor, kind, data)
                    incident = apply(incident, ev)
                    self._insert(ev, incident, new=False)
                    self._after_insert(ev, incident)
                    events.append(ev)
                self._sql(
                    "INSERT INTO serve_alert_groups (group_key, incident_id, firing, fingerprints,"
                    " last_firing_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (group_key) DO UPDATE SET incident_id = excluded.incident_id,"
                    " firing = excluded.firing, fingerprints = excluded.fingerprints,"
                    " last_firing_at = excluded.last_firing_at, updated_at = excluded.updated_at",
                    (key, incident.id, 1 if plan.firing else 0,
                     json.dumps(sorted(plan.fingerprints)), plan.last_firing_at, at),
                )  # fmt: skip
                from mlsre.jsonutil import dumps

                for job_kind, payload in plan.jobs:
                    self._sql(
                        "INSERT INTO serve_jobs (incident_id, kind, payload, state, attempts,"
                        " worker, note, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, 0, NULL, '', ?, ?)",
                        (incident.id, job_kind, dumps(payload), JobState.QUEUED, at, at),
                    )
                out.append(AlertOutcome(key, incident, plan.open is not None, events))
        return out

    def alert_group(self, key: str) -> AlertGroup | None:
        return self._alert_group(key)

    def _alert_group(self, key: str, *, lock: bool = False) -> AlertGroup | None:
        rows = self._sql(
            "SELECT group_key, incident_id, firing, fingerprints, last_firing_at, updated_at"
            " FROM serve_alert_groups WHERE group_key = ?" + (self.FOR_UPDATE if lock else ""),
            (key,),
        )
        if not rows:
            return None
        r = rows[0]
        return AlertGroup(
            key=r[0],
            incident_id=int(r[1]),
            firing=bool(r[2]),
            fingerprints=tuple(_json(r[3])),
            last_firing_at=_time(r[4]),
            updated_at=_time(r[5]) or datetime.min,
        )

    def claim_job(self, worker: str, at: datetime) -> Job | None:
        """The oldest queued job, marked running by ``worker``; None when the queue is empty."""
        if not self._sql("SELECT 1 FROM serve_jobs WHERE state = ? LIMIT 1", (JobState.QUEUED,)):
            return None  # idle polls never take the write lock
        with self._write():
            rows = self._sql(
                "SELECT id FROM serve_jobs WHERE state = ? ORDER BY id LIMIT 1" + self.SKIP_LOCKED,
                (JobState.QUEUED,),
            )
            if not rows:
                return None
            self._sql(
                "UPDATE serve_jobs SET state = ?, worker = ?, attempts = attempts + 1,"
                " updated_at = ? WHERE id = ?",
                (JobState.RUNNING, worker, at, rows[0][0]),
            )
            return self._jobs("WHERE id = ?", (rows[0][0],))[0]

    def finish_job(self, job_id: int, state: str, note: str, at: datetime) -> None:
        with self._write():
            self._sql(
                "UPDATE serve_jobs SET state = ?, note = ?, updated_at = ? WHERE id = ?",
                (state, note[:2000], at, job_id),
            )

    def requeue_running_jobs(self, at: datetime) -> int:
        """Jobs left running by a stopped server go back to the queue (on start-up)."""
        with self._write():
            rows = self._sql(
                "UPDATE serve_jobs SET state = ?, worker = NULL, updated_at = ? WHERE state = ?"
                " RETURNING id",
                (JobState.QUEUED, at, JobState.RUNNING),
            )
        return len(rows)

    def jobs(self, states: tuple[str, ...] = ()) -> list[Job]:
        if not states:
            return self._jobs("", ())
        return self._jobs(f"WHERE state IN ({','.join('?' * len(states))})", states)

    def _jobs(self, where: str, args: tuple[Any, ...]) -> list[Job]:
        rows = self._sql(
            "SELECT id, incident_id, kind, payload, state, attempts, created_at FROM serve_jobs "
            + where
            + " ORDER BY id",
            args,
        )
        return [
            Job(
                int(r[0]),
                int(r[1]),
                r[2],
                _json(r[3]),
                r[4],
                int(r[5]),
                _time(r[6]) or datetime.min,
            )
            for r in rows
        ]

    def claim_auto_action(
        self, model: str, incident_id: int, step: str, since: datetime, limit: int, at: datetime
    ) -> tuple[int | None, str | None]:
        """Atomically check the per-model guard rails and record the action: (action id, None)
        when allowed, (None, reason) when blocked."""
        with self._write():
            self._serialize(f"auto-action:{model}")  # one guard-rail check per model at a time
            busy = self._sql(
                "SELECT incident_id, step FROM serve_auto_actions WHERE model = ?"
                " AND incident_id <> ? AND finished_at IS NULL AND started_at >= ?"
                " ORDER BY id LIMIT 1",
                (model, incident_id, since),
            )
            if busy:
                return None, (
                    f"another incident of {model} ({format_id(int(busy[0][0]))}) is"
                    f" mid-mitigation ({busy[0][1]})"
                )
            n = int(
                self._sql(
                    "SELECT COUNT(*) FROM serve_auto_actions WHERE model = ? AND started_at >= ?",
                    (model, since),
                )[0][0]
            )
            if n >= limit:
                return None, (
                    f"rate limit: {n} automatic mitigation(s) of {model} since {since.isoformat()}"
                    f" (at most {limit})"
                )
            rows = self._sql(
                "INSERT INTO serve_auto_actions (model, incident_id, step, started_at, finished_at)"
                " VALUES (?, ?, ?, ?, NULL) RETURNING id",
                (model, incident_id, step, at),
            )
            return int(rows[0][0]), None

    def finish_auto_action(self, action_id: int, at: datetime) -> None:
        with self._write():
            self._sql("UPDATE serve_auto_actions SET finished_at = ? WHERE id = ?", (at, action_id))

    def get_flag(self, name: str) -> Flag | None:
        rows = self._sql("SELECT name, value, actor, at FROM serve_flags WHERE name = ?", (name,))
        if not rows:
            return None
        r = rows[0]
        return Flag(r[0], r[1], r[2], _time(r[3]) or datetime.min)

    def set_flag(self, name: str, value: str | None, actor: str, at: datetime) -> None:
        """Set (or with None, clear) a server-wide flag such as the automation kill switch."""
        with self._write():
            if value is None:
                self._sql("DELETE FROM serve_flags WHERE name = ?", (name,))
                return
            self._sql(
                "INSERT INTO serve_flags (name, value, actor, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
                " actor = excluded.actor, at = excluded.at",
                (name, value, actor, at),
            )
