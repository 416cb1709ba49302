"""Inside ``mlsre serve``: deliver the notification outbox and escalate what is due, all the
time (what `mlsre notify flush` does from cron, see docs/notify.md)."""

from __future__ import annotations

import threading
from typing import Any

from mlsre.errors import MlsreError
from mlsre.incident.store import open_store

INTERVAL_S = 1.0


class Notifier:
    def __init__(self, store_url: str, settings: Any, interval_s: float = INTERVAL_S) -> None:
        self.store_url = store_url
        self.settings = settings
        self.interval_s = interval_s
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.last_error: str | None = None

    @property
    def wanted(self) -> bool:
        return bool(self.settings.notify.channels)

    def start(self) -> None:
        if not self.wanted:
            return
        self.thread = threading.Thread(target=self._loop, name="mlsre-notify", daemon=True)
        self.thread.start()

    def stop(self, timeout_s: float) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=timeout_s)

    def _loop(self) -> None:
        from mlsre.notify.outbox import flush

        store = open_store(self.store_url)
        try:
            while not self.stopping.is_set():
                try:
                    flush(store, self.settings, actor="mlsre serve")
                    self.last_error = None
                except MlsreError as exc:  # the store busy or gone: next round
                    self.last_error = exc.message
                self.stopping.wait(self.interval_s)
        finally:
            store.close()
