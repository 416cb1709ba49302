"""The store's serve section (alert groups, diagnosis queue, automatic-action ledger, flags).

Backend-neutral: written against the Store protocol so the PostgreSQL backend can run it too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlsre.incident.model import EventKind, Incident
from mlsre.incident.store import (
    AlertDecide,
    AlertGroup,
    AlertPlan,
    IncidentFilter,
    Store,
    open_store,
)

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path, store_backend: str) -> Store:
    """Both backends: PostgreSQL through MLSRE_STORE_URL (set by store_backend)."""
    import os

    return open_store(os.environ.get("MLSRE_STORE_URL") or f"sqlite:///{tmp_path / 'mlsre.db'}")


def _opening(title: str, jobs: int = 1) -> AlertDecide:
    def decide(group: AlertGroup | None, incident: Incident | None) -> AlertPlan:
        if group is not None:
            return AlertPlan(fingerprints=("a",), last_firing_at=group.last_firing_at)
        return AlertPlan(
            open={"title": title, "severity": "SEV2", "model": "m", "started_at": T0.isoformat()},
            events=[(EventKind.ALERT_FIRING, {"count": 1})],
            fingerprints=("a",),
            last_firing_at=T0,
            jobs=[("diagnose", {"runbook": "r"})] * jobs,
        )

    return decide


def test_alert_groups_open_once_and_fold_in_one_transaction(store: Store) -> None:
    out = store.record_alert_groups(
        [("g1", _opening("one")), ("g2", _opening("two")), ("g1", _opening("one again"))],
        "alertmanager",
        T0,
    )
    assert [(o.key, o.opened, o.incident.ref if o.incident else None) for o in out] == [
        ("g1", True, "INC-1"),
        ("g2", True, "INC-2"),
        ("g1", False, "INC-1"),  # sees the row written earlier in the same transaction
    ]
    assert [e.kind for e in out[0].events] == [EventKind.OPENED, EventKind.ALERT_FIRING]
    group = store.alert_group("g1")
    assert group is not None and group.incident_id == 1 and group.fingerprints == ("a",)
    assert group.firing and group.last_firing_at == T0
    assert store.alert_group("nope") is None
    assert [j.incident_id for j in store.jobs()] == [1, 2]


def test_a_failing_decision_commits_nothing(store: Store) -> None:
    def boom(group: AlertGroup | None, incident: Incident | None) -> AlertPlan:
        raise RuntimeError("bug in a plan")

    with pytest.raises(RuntimeError):
        store.record_alert_groups([("g1", _opening("one")), ("g2", boom)], "am", T0)
    assert store.rows(IncidentFilter()) == [] and store.jobs() == []
    assert store.alert_group("g1") is None


def test_jobs_are_claimed_in_order_once_and_requeued_after_a_crash(store: Store) -> None:
    store.record_alert_groups([("g1", _opening("one", jobs=2))], "am", T0)
    first = store.claim_job("w1", T0)
    second = store.claim_job("w2", T0)
    assert first is not None and second is not None and first.id < second.id
    assert first.state == "running" and first.attempts == 1 and first.payload == {"runbook": "r"}
    assert store.claim_job("w3", T0) is None
    store.finish_job(first.id, "done", "healthy", T0)
    assert store.requeue_running_jobs(T0) == 1  # the second was left running by a crash
    again = store.claim_job("w1", T0)
    assert again is not None and again.id == second.id and again.attempts == 2
    assert [j.state for j in store.jobs(("done",))] == ["done"]


def test_auto_action_ledger_enforces_rate_and_one_mitigation_per_model(store: Store) -> None:
    store.record_alert_groups([("g1", _opening("a")), ("g2", _opening("b"))], "am", T0)
    hour = timedelta(hours=1)
    first, why = store.claim_auto_action("m", 1, "rollback", T0 - hour, 2, T0)
    assert first is not None and why is None
    blocked, why = store.claim_auto_action("m", 2, "rollback", T0 - hour, 2, T0)
    assert blocked is None and why == "another incident of m (INC-1) is mid-mitigation (rollback)"
    store.finish_auto_action(first, T0)
    second, why = store.claim_auto_action("m", 2, "rollback", T0 - hour, 2, T0)
    assert second is not None and why is None
    store.finish_auto_action(second, T0)
    third, why = store.claim_auto_action("m", 2, "rollback", T0 - hour, 2, T0)
    assert third is None and why is not None and why.startswith("rate limit: 2 automatic")
    later = T0 + 2 * hour  # the window moved on
    fourth, why = store.claim_auto_action("m", 2, "rollback", later - hour, 2, later)
    assert fourth is not None and why is None
    other, why = store.claim_auto_action("other-model", 1, "rollback", T0 - hour, 1, T0)
    assert other is not None


def test_flags_set_read_and_clear(store: Store) -> None:
    assert store.get_flag("automation_paused") is None
    store.set_flag("automation_paused", "migration", "alice", T0)
    store.set_flag("automation_paused", "migration 2", "bob", T0 + timedelta(minutes=1))
    flag = store.get_flag("automation_paused")
    assert flag is not None and (flag.value, flag.actor) == ("migration 2", "bob")
    store.set_flag("automation_paused", None, "bob", T0)
    assert store.get_flag("automation_paused") is None
