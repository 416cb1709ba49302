"""The intake writer: one thread, one connection, group commit.

Every webhook's writes go through here. Notifications that arrive while a transaction is being
committed wait together and commit together in the next one, so a burst costs a few disk syncs
instead of one per notification, and writers never queue on the database lock. Each caller
still gets its answer only after ITS transaction committed.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from mlsre.errors import MlsreError
from mlsre.incident.store import Store, open_store
from mlsre.serve import intake
from mlsre.serve.payload import Notification
from mlsre.timeutil import utcnow

MAX_BATCH = 64


@dataclass
class _Item:
    note: Notification
    future: Future[intake.IntakeResult]


class IntakeWriter:
    def __init__(self, store_url: str, planner: intake.Planner, lock_timeout_s: float) -> None:
        self.store_url = store_url
        self.planner = planner
        self.lock_timeout_s = lock_timeout_s
        self.queue: queue.Queue[_Item | None] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="mlsre-intake", daemon=True)
        self.batches = 0
        self.thread.start()

    def submit(self, note: Notification) -> Future[intake.IntakeResult]:
        fut: Future[intake.IntakeResult] = Future()
        self.queue.put(_Item(note, fut))
        return fut

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=30)

    def _loop(self) -> None:
        store: Store | None = None
        while True:
            first = self.queue.get()
            if first is None:
                break
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                if store is None:
                    store = open_store(self.store_url)
                    store.set_lock_timeout(self.lock_timeout_s)
            except MlsreError as exc:
                for it in batch:
                    it.future.set_exception(exc)
            else:
                self._commit(store, batch)
            if stop:
                break
        if store is not None:
            store.close()

    def _commit(self, store: Store, batch: list[_Item]) -> None:
        self.batches += 1
        try:
            results = intake.receive_many(store, self.planner, [i.note for i in batch], utcnow())
        except MlsreError as exc:  # store busy or unreachable: every caller answers 503
            for it in batch:
                it.future.set_exception(exc)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
            else:  # one bad notification must not fail the others: retry them one by one
                for it in batch:
                    self._commit(store, [it])
        else:
            for it, result in zip(batch, results, strict=True):
                it.future.set_result(result)
