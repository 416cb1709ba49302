"""``mlsre store copy``: move a team's history between stores, and prove nothing was lost.

Incidents are copied in batches; each batch (the incidents with every row that belongs to them:
events, and whatever joins ``store_base.COPIED``) is one transaction in the target, so an
interrupted copy leaves whole incidents behind and the next run carries on. Rows already in
the target are skipped by key, so running it again copies nothing twice; an incident that
grew in the source since the last copy gets its new events and its newer projection row.
The result is verified by row counts and a checksum of the event log on both sides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC

from mlsre.errors import StoreError, UsageError
from mlsre.incident.model import format_id
from mlsre.incident.store_base import COPIED, EventStore, Row, Table


@dataclass
class CopyResult:
    source: str
    target: str
    copied: dict[str, int] = field(default_factory=dict)  # rows added per table in this run
    source_counts: dict[str, int] = field(default_factory=dict)
    target_counts: dict[str, int] = field(default_factory=dict)
    source_checksum: str = ""
    target_checksum: str = ""

    @property
    def verified(self) -> bool:
        return (
            self.source_counts == self.target_counts
            and self.source_checksum == self.target_checksum
        )


def event_log_checksum(store: EventStore) -> str:
    """sha256 over every event in (incident, seq) order: same history, same digest, any backend."""
    h = hashlib.sha256()
    for incident_id, seq, at, actor, kind, data in store.event_log():
        line = f"{incident_id}\t{seq}\t{at.astimezone(UTC).isoformat()}\t{actor}\t{kind}\t{data}\n"
        h.update(line.encode())
    return h.hexdigest()


def copy_store(
    source: EventStore,
    target: EventStore,
    *,
    batch: int = 500,
    progress: Callable[[int, dict[str, int]], None] | None = None,
) -> CopyResult:
    """Copy every row of ``source`` missing from ``target``; then verify both sides."""
    if source.where == target.where:
        raise UsageError("the source and the target are the same store")
    result = CopyResult(source.where, target.where, copied={t.name: 0 for t in COPIED})
    if not target.incident_ids(0, 1):  # a new home: notifications keep their dedup keys
        target.adopt_store_id(source.store_id())
    per_incident = [t for t in COPIED if t.incident_column]
    after = 0
    while ids := source.incident_ids(after, batch):
        todo = {
            t.name: _missing(t, source.select_rows(t, ids), target.select_rows(t, ids))
            for t in per_incident
        }
        _insert(target, todo, result)
        after = ids[-1]
        if progress is not None:
            progress(after, dict(result.copied))
    for t in COPIED:  # tables of their own (the change log), in key order
        if t.incident_column:
            continue
        after = 0
        while rows := source.select_range(t, after, limit=batch * 10):
            last = rows[-1][0]
            there = target.select_range(t, after, upto=last)
            _insert(target, {t.name: _missing(t, rows, there)}, result)
            after = last
    result.source_counts = source.counts()
    result.target_counts = target.counts()
    result.source_checksum = event_log_checksum(source)
    result.target_checksum = event_log_checksum(target)
    return result


def _insert(target: EventStore, todo: dict[str, list[Row]], result: CopyResult) -> None:
    if any(todo.values()):
        for name, n in target.insert_rows(todo).items():
            result.copied[name] += n


def _missing(table: Table, rows: list[Row], there: list[Row]) -> list[Row]:
    """The source rows the target lacks (or, for a projection, holds an older version of)."""
    key = [table.columns.index(c) for c in table.key]
    have = {tuple(r[i] for i in key): r for r in there}
    newer = table.columns.index(table.newer) if table.newer else None
    out: list[Row] = []
    for r in rows:
        old = have.get(tuple(r[i] for i in key))
        if old is None:
            out.append(r)
        elif newer is not None:
            if r[newer] > old[newer]:
                out.append(r)
        elif table.mutable:
            if old != r:
                out.append(r)
        elif old != r:
            raise StoreError(
                f"the target already holds a different history: {table.name}"
                f" {', '.join(str(r[i]) for i in key)} differs"
                + (f" ({format_id(r[key[0]])})" if table.incident_column else ""),
                hint="copy into an empty store, or into one this source was copied to before",
            )
    return out
