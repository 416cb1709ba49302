"""A hypothesis state machine drives the lifecycle and checks it against a tiny model."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mlsre.errors import LifecycleError
from mlsre.incident.model import EventKind, Severity, Status
from mlsre.incident.service import open_incident, record
from mlsre.incident.sqlite_store import SqliteStore

# The model: the lifecycle as a table a person can check by eye.
MODEL = {
    (Status.OPEN, EventKind.ACKNOWLEDGED): Status.ACKNOWLEDGED,
    (Status.OPEN, EventKind.MITIGATED): Status.MITIGATED,
    (Status.OPEN, EventKind.RESOLVED): Status.RESOLVED,
    (Status.ACKNOWLEDGED, EventKind.MITIGATED): Status.MITIGATED,
    (Status.ACKNOWLEDGED, EventKind.RESOLVED): Status.RESOLVED,
    (Status.MITIGATED, EventKind.RESOLVED): Status.RESOLVED,
    (Status.RESOLVED, EventKind.CLOSED): Status.CLOSED,
    (Status.RESOLVED, EventKind.REOPENED): Status.ACKNOWLEDGED,
    (Status.CLOSED, EventKind.REOPENED): Status.ACKNOWLEDGED,
}
MOVES = [
    EventKind.ACKNOWLEDGED,
    EventKind.MITIGATED,
    EventKind.RESOLVED,
    EventKind.CLOSED,
    EventKind.REOPENED,
]


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.store = SqliteStore(f"sqlite:///{Path(self.dir.name) / 'db.sqlite'}")
        open_incident(self.store, title="sm", severity=Severity.SEV3, actor="hyp")
        self.status = Status.OPEN
        self.count = 1

    @rule(move=st.sampled_from(MOVES))
    def move(self, move: EventKind) -> None:
        expected = MODEL.get((self.status, move))
        if expected is None:
            with pytest.raises(LifecycleError):
                record(self.store, 1, move, "hyp", {"resolution": "r"})
        else:
            _state, ev = record(self.store, 1, move, "hyp", {"resolution": "r"})
            self.count += 1
            assert ev.seq == self.count
            self.status = expected

    @rule(text=st.text(min_size=1, max_size=20))
    def note(self, text: str) -> None:
        record(self.store, 1, EventKind.NOTE, "hyp", {"text": text})
        self.count += 1

    @invariant()
    def store_agrees(self) -> None:
        state = self.store.get(1)
        assert state.status is self.status
        assert state.last_seq == self.count
        if self.status in (Status.RESOLVED, Status.CLOSED):
            assert state.resolved_at is not None

    def teardown(self) -> None:
        self.store.close()
        self.dir.cleanup()


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
