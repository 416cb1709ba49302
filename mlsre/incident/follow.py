"""``incident follow``: an incident's new timeline entries as they are committed.

The waiting is the backend's (LISTEN/NOTIFY on PostgreSQL, cheap polling on SQLite); this
module only keeps the place in the timeline and rides out a store restart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from mlsre.errors import StoreError
from mlsre.incident.model import Event
from mlsre.incident.store import Store

# How long a lost store may stay away before follow gives up (a restart takes seconds).
OUTAGE_LIMIT_S = 120.0


def follow(
    store: Store, incident_id: int, *, last: int = 10, wait_s: float = 1.0
) -> Iterator[Event]:
    """The incident's latest ``last`` entries, then each new one, forever (until interrupted)."""
    after = max(0, store.get(incident_id).last_seq - last)
    down_since: float | None = None
    while True:
        try:
            evs = store.wait_events(incident_id, after, wait_s)
        except StoreError:
            now = time.monotonic()
            down_since = down_since or now
            if now - down_since > OUTAGE_LIMIT_S:
                raise
            time.sleep(0.5)
            continue
        down_since = None
        for ev in evs:
            after = ev.seq
            yield ev
