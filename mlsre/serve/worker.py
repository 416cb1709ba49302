"""The diagnosis worker pool: jobs live in the store, so a restart resumes them.

Each job runs the matched runbook exactly as ``mlsre runbook run --non-interactive`` would
(same runner, same events), with :class:`GuardedOperator` deciding about mitigations. A job
found ``running`` at start-up was interrupted: its run is resumed from the incident's events,
and a mitigation that started without a result is never re-run.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mlsre.errors import MlsreError
from mlsre.incident.model import format_id
from mlsre.incident.store import Job, JobState, Store, open_store
from mlsre.runbook import journal
from mlsre.serve.guard import ACTOR, GuardedOperator, Rails, Verdict
from mlsre.timeutil import utcnow

IDLE_WAIT_S = 1.0


class WorkerPool:
    def __init__(
        self,
        store_url: str,
        settings: Any,
        rails: Rails,
        workers: int,
        on_done: Callable[[Job, str], None] | None = None,
        on_decision: Callable[[Verdict], None] | None = None,
    ) -> None:
        self.store_url = store_url
        self.settings = settings
        self.rails = rails
        self.size = workers
        self.on_done = on_done
        self.on_decision = on_decision
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.busy = 0
        self._busy_lock = threading.Lock()

    def start(self) -> int:
        store = open_store(self.store_url)
        try:
            resumed = store.requeue_running_jobs(utcnow())
        finally:
            store.close()
        for i in range(self.size):
            t = threading.Thread(target=self._loop, name=f"mlsre-diagnose-{i}", daemon=True)
            t.start()
            self.threads.append(t)
        return resumed

    def stop(self, timeout_s: float) -> None:
        """Stop taking jobs; wait up to ``timeout_s`` for running ones (the rest resume later)."""
        self.stopping.set()
        self.wake.set()
        for t in self.threads:
            t.join(timeout=timeout_s)

    def _loop(self) -> None:
        store = open_store(self.store_url)
        name = threading.current_thread().name
        try:
            while not self.stopping.is_set():
                try:
                    job = store.claim_job(name, utcnow())
                except MlsreError:
                    job = None  # store busy: try again shortly
                if job is None:
                    self.wake.wait(IDLE_WAIT_S)
                    self.wake.clear()
                    continue
                with self._busy_lock:
                    self.busy += 1
                try:
                    state, note = self._run(store, job)
                finally:
                    with self._busy_lock:
                        self.busy -= 1
                store.finish_job(job.id, state, note, utcnow())
                if self.on_done is not None:
                    self.on_done(job, note)
        finally:
            store.close()

    def _run(self, store: Store, job: Job) -> tuple[str, str]:
        from mlsre.runbook.runner import RunRequest, resume, start

        payload = job.payload
        try:
            incident = store.get(job.incident_id)
            operator = GuardedOperator(
                store,
                self.rails,
                incident,
                list(payload.get("auto_mitigate") or []),
                str(payload.get("route") or "route"),
                self.on_decision,
            )
            unfinished = journal.unfinished_run(store.events(job.incident_id))
            if job.attempts > 1 and unfinished and unfinished.runbook == payload["runbook"]:
                report = resume(format_id(job.incident_id), self.settings, store, operator, ACTOR)
            else:
                req = RunRequest(
                    runbook=payload["runbook"],
                    incident=format_id(job.incident_id),
                    inputs=dict(payload.get("inputs") or {}),
                    at=datetime.fromisoformat(payload["at"]) if payload.get("at") else None,
                )
                report = start(req, self.settings, store, operator, ACTOR)
        except MlsreError as exc:
            self._note(store, job, f"automatic diagnosis could not run: {exc.message}")
            return JobState.FAILED, f"error: {exc.message}"
        except Exception as exc:  # a bug: keep serving, say so on the incident and the job
            self._note(store, job, f"automatic diagnosis crashed: {type(exc).__name__}: {exc}")
            return JobState.FAILED, f"internal error: {type(exc).__name__}: {exc}"
        return JobState.DONE, report.outcome.value

    def _note(self, store: Store, job: Job, text: str) -> None:
        from mlsre.incident.model import EventKind

        with contextlib.suppress(MlsreError):
            store.append(job.incident_id, EventKind.NOTE, {"text": text}, ACTOR, utcnow())
