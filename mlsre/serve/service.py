"""The running service: its configuration, store connections, intake writer and workers.

Blocking store work runs off the event loop: all intake writes on ONE writer thread (its own
connection, so writes queue in memory instead of fighting over the database lock), reads on a
small pool of threads with a connection each.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from mlsre.incident.store import Store, open_store
from mlsre.serve import intake
from mlsre.serve.guard import Rails, Verdict
from mlsre.serve.metrics import ServeMetrics
from mlsre.serve.payload import Notification
from mlsre.serve.writer import IntakeWriter

T = TypeVar("T")
DRAIN_TIMEOUT_S = 10.0


@dataclass
class ServeConfig:
    settings: Any
    store_url: str
    token: str | None
    dry_run: bool
    planner: intake.Planner
    rails: Rails
    workers: int
    max_body_bytes: int
    busy_timeout_s: float = 5.0  # a write waiting longer for the store answers 503
    refresh_s: int = 3


class _Stores:
    """One store connection per thread, opened on first use."""

    def __init__(self, url: str, lock_timeout_s: float | None) -> None:
        self.url = url
        self.lock_timeout_s = lock_timeout_s
        self.local = threading.local()
        self.opened: list[Store] = []
        self._lock = threading.Lock()

    def get(self) -> Store:
        store: Store | None = getattr(self.local, "store", None)
        if store is None:
            store = open_store(self.url)
            if self.lock_timeout_s is not None:
                store.set_lock_timeout(self.lock_timeout_s)
            self.local.store = store
            with self._lock:
                self.opened.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            for s in self.opened:
                s.close()
            self.opened.clear()


class Service:
    def __init__(self, cfg: ServeConfig) -> None:
        from mlsre.serve.worker import WorkerPool

        self.cfg = cfg
        self.metrics = ServeMetrics()
        self.writer: IntakeWriter | None = None
        self.readers = ThreadPoolExecutor(4, thread_name_prefix="mlsre-read")
        self.read_stores = _Stores(cfg.store_url, cfg.busy_timeout_s)
        self.pool = WorkerPool(
            cfg.store_url,
            cfg.settings,
            cfg.rails,
            cfg.workers,
            on_done=self._diagnosis_done,
            on_decision=self._decided,
        )
        self.resumed = 0
        from mlsre.serve.notifier import Notifier

        self.notifier = Notifier(cfg.store_url, cfg.settings)

    def _diagnosis_done(self, job: Any, note: str) -> None:
        verdict = note if note in ("healthy", "unhealthy", "error", "quit") else "failed"
        self.metrics.diagnoses.labels(verdict).inc()

    def _decided(self, verdict: Verdict) -> None:
        self.metrics.auto_actions.labels("allowed" if verdict.allowed else "blocked").inc()

    async def receive(self, note: Notification) -> intake.IntakeResult:
        assert self.writer is not None, "receive before startup"
        return await asyncio.wrap_future(self.writer.submit(note))

    async def read(self, fn: Callable[[Store], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.readers, lambda: fn(self.read_stores.get()))

    def startup(self) -> None:
        self.writer = IntakeWriter(self.cfg.store_url, self.cfg.planner, self.cfg.busy_timeout_s)
        self.resumed = self.pool.start()
        self.notifier.start()

    def shutdown(self) -> None:
        self.notifier.stop(DRAIN_TIMEOUT_S)
        self.pool.stop(DRAIN_TIMEOUT_S)
        if self.writer is not None:
            self.writer.close()
        self.readers.shutdown(wait=True)
        self.read_stores.close()
