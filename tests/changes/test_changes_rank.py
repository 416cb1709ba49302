"""Change points and the ranking of changes: the parts of "what changed?" that are pure math."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mlsre.changes.changepoint import change_point, pettitt
from mlsre.changes.collect import failing_change_point
from mlsre.changes.model import Change, ChangeKind, Source
from mlsre.changes.rank import rank
from mlsre.incident.model import Event, EventKind

T = datetime(2026, 11, 28, 17, 29, tzinfo=UTC)


def _brute_pettitt(values: list[float]) -> tuple[int, float]:
    """U_t = sum_{i<=t} sum_{j>t} sign(x_j - x_i), straight from the definition."""
    n = len(values)
    best_t, best = 0, -1.0
    for t in range(1, n):
        u = sum(
            (values[j] > values[i]) - (values[j] < values[i]) for i in range(t) for j in range(t, n)
        )
        if abs(u) > best:
            best_t, best = t, abs(u)
    return best_t, min(1.0, 2 * math.exp(-6 * best**2 / (n**3 + n**2)))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 6).map(float), min_size=4, max_size=40))
def test_pettitt_matches_its_definition_with_ties(values: list[float]) -> None:
    found = pettitt(values)
    t, p = _brute_pettitt(values)
    if found is None:  # no rank difference anywhere: a flat series
        assert _brute_pettitt(values)[1] == 1.0 or len(set(values)) == 1 or p == 1.0
        return
    k, p_fast = found
    assert math.isclose(p_fast, p, rel_tol=1e-9)
    u_fast = _u_at(values, k)
    assert math.isclose(abs(u_fast), abs(_u_at(values, t)))  # the same maximum (ties in t ok)


def _u_at(values: list[float], t: int) -> float:
    n = len(values)
    return sum(
        (values[j] > values[i]) - (values[j] < values[i]) for i in range(t) for j in range(t, n)
    )


def test_a_jump_is_found_where_it_happened_and_noise_is_not_a_change() -> None:
    base = T.timestamp() - 1800
    points = [(base + 15 * i, 0.09 + 0.001 * (i % 3)) for i in range(120)]
    points += [(base + 15 * (120 + i), 0.62 + 0.002 * (i % 4)) for i in range(60)]
    t, before, after, p = change_point(points) or (0, 0, 0, 1)
    # Pettitt's maximum may sit a sample or two off the jump when values tie within a side
    assert abs(t - (base + 15 * 120)) <= 30 and before < 0.1 < 0.6 < after and p < 1e-6
    flat = [(base + 15 * i, 0.1 + 0.001 * (i % 5)) for i in range(100)]
    assert change_point(flat) is None
    assert change_point([(0.0, math.nan), (1.0, 1.0), (2.0, 2.0)]) is None  # too short


def _step_event(status: str, series: list[list[float]]) -> Event:
    data = {
        "step": "p99-range",
        "kind": "prometheus.range",
        "status": status,
        "output": {"series": [{"labels": {"version": "4"}, "points": series}]},
    }
    return Event(1, 5, T, "tester", EventKind.STEP_RESULT, data)


def test_the_change_point_comes_from_a_failing_range_step_only() -> None:
    start = T.timestamp() - 3600
    series = [[start + 60 * i, 0.1 if start + 60 * i < T.timestamp() else 0.7] for i in range(90)]
    since, until = T - timedelta(hours=2), T + timedelta(minutes=30)
    assert failing_change_point([_step_event("passed", series)], since, until) is None
    cp = failing_change_point([_step_event("failed", series)], since, until)
    assert cp is not None and cp.at == T and cp.step == "p99-range"
    assert (cp.before, cp.after) == (0.1, 0.7)


def _change(kind: ChangeKind, minutes_before: float, model: str | None = "fraud") -> Change:
    return Change(kind, Source.RECORDED, T - timedelta(minutes=minutes_before), kind.value, model)


def test_ranking_by_proximity_relevance_and_kind_with_reasons() -> None:
    deploy = _change(ChangeKind.MODEL, 2)
    commit = _change(ChangeKind.CODE, 2)
    old = _change(ChangeKind.MODEL, 48 * 60)
    other = _change(ChangeKind.MODEL, 2, model="churn")
    after = _change(ChangeKind.MODEL, -30)
    unowned = _change(ChangeKind.INFRA, 2, model=None)
    ranked = rank(
        [old, after, commit, other, unowned, deploy], T, "change point of p99", "fraud", None
    )
    assert ranked[0] is deploy and ranked[1] is commit
    assert deploy.score > commit.score > other.score and deploy.score > old.score
    assert (
        after.score < 10 and "after the change point of p99: unlikely the cause" in after.reasons[0]
    )
    assert deploy.reasons == [
        "2m before the change point of p99",
        "touches fraud",
        "a model change",
    ]
    assert "about churn, not fraud" in other.reasons
    assert "not tied to the affected model or service" in unowned.reasons
    assert old.score < 1
