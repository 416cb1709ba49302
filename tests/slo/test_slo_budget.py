"""Error budget and burn-rate arithmetic on numbers worked out by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlsre.slo import budget
from mlsre.slo.budget import AlertState

DAY = 86400
PERIOD = 30 * DAY


def test_error_budget_is_one_minus_objective() -> None:
    assert budget.error_budget(0.999) == pytest.approx(0.001)
    assert budget.error_budget(0.95) == pytest.approx(0.05)
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError):
            budget.error_budget(bad)


def test_burn_rate_of_one_percent_errors_against_three_nines_is_ten() -> None:
    assert budget.burn_rate(0.01, 0.999) == pytest.approx(10.0)
    assert budget.burn_rate(0.001, 0.999) == pytest.approx(1.0)
    assert budget.burn_rate(0.0, 0.999) == 0.0
    assert budget.burn_rate(None, 0.999) is None
    assert budget.burn_rate(math.nan, 0.999) is None  # 0/0: no traffic is no data, not "healthy"


def test_one_hour_at_burn_ten_consumes_one_seventy_second_of_a_30_day_budget() -> None:
    consumed = budget.budget_consumed(0.01, 0.999, 3600, PERIOD)
    assert consumed == pytest.approx(10 / 720)  # 1.39%
    assert budget.budget_consumed(None, 0.999, 3600, PERIOD) is None
    with pytest.raises(ValueError):
        budget.budget_consumed(0.01, 0.999, -1, PERIOD)


def test_budget_remaining_can_go_negative_when_overspent() -> None:
    assert budget.budget_remaining(0.0004, 0.999) == pytest.approx(0.6)
    assert budget.budget_remaining(0.002, 0.999) == pytest.approx(-1.0)
    assert budget.budget_remaining(None, 0.999) is None


def test_time_to_exhaustion() -> None:
    # 60% left, burning at 10x: 0.6 * 30 days / 10 = 43.2 hours
    assert budget.time_to_exhaustion(0.6, 10.0, PERIOD) == pytest.approx(43.2 * 3600)
    # a full budget at burn rate 1 lasts exactly the period
    assert budget.time_to_exhaustion(1.0, 1.0, PERIOD) == pytest.approx(PERIOD)
    assert budget.time_to_exhaustion(0.0, 5.0, PERIOD) == 0.0
    assert budget.time_to_exhaustion(-0.3, 5.0, PERIOD) == 0.0
    assert budget.time_to_exhaustion(0.5, 0.0, PERIOD) is None  # not burning: never
    assert budget.time_to_exhaustion(0.5, None, PERIOD) is None
    assert budget.time_to_exhaustion(None, 2.0, PERIOD) is None


def rates(**kw: float | None) -> dict[str, float | None]:
    out: dict[str, float | None] = dict.fromkeys(budget.WINDOWS, 0.0)
    out.update({k.removeprefix("w"): v for k, v in kw.items()})
    return out


@pytest.mark.parametrize(
    ("burn", "state", "firing"),
    [
        (rates(w1h=15, w5m=15), AlertState.PAGE, ["page-1h-5m"]),
        (rates(w1h=15, w5m=14.4), AlertState.NONE, []),  # strictly above the factor
        (rates(w1h=15, w5m=2), AlertState.NONE, []),  # burning stopped: the short window clears it
        (rates(w6h=7, w30m=7), AlertState.PAGE, ["page-6h-30m"]),
        (rates(w6h=7, w30m=7, w3d=2), AlertState.PAGE, ["page-6h-30m", "ticket-3d-6h"]),
        (rates(w3d=1.5, w6h=1.2), AlertState.TICKET, ["ticket-3d-6h"]),
        (rates(w3d=1.5, w6h=0.9), AlertState.NONE, []),
        (rates(w1h=20, w5m=None), AlertState.NONE, []),  # no data never pages
        (rates(w1h=math.nan, w5m=20), AlertState.NONE, []),
        (rates(), AlertState.NONE, []),
    ],
)
def test_multiwindow_multi_burn_rate_alert_state(
    burn: dict[str, float | None], state: AlertState, firing: list[str]
) -> None:
    assert budget.alert_state(burn) is state
    assert [a.name for a in budget.firing(burn)] == firing


def test_alert_factors_spend_the_documented_share_of_a_30_day_budget() -> None:
    # 14.4 over 1h = 2% of the budget; 6 over 6h = 5%; 1 over 3d = 10%
    shares = {a.name: a.factor * budget.WINDOWS[a.long] / PERIOD for a in budget.BURN_ALERTS}
    assert shares == pytest.approx({"page-1h-5m": 0.02, "page-6h-30m": 0.05, "ticket-3d-6h": 0.1})


_SEVERITY = {AlertState.NONE: 0, AlertState.TICKET: 1, AlertState.PAGE: 2}


@given(
    burns=st.lists(st.floats(0, 100), min_size=len(budget.WINDOWS), max_size=len(budget.WINDOWS)),
    extra=st.floats(0, 50),
)
def test_burning_faster_never_lowers_the_alert(burns: list[float], extra: float) -> None:
    slow = dict(zip(budget.WINDOWS, burns, strict=True))
    fast = {w: v + extra for w, v in slow.items()}
    assert _SEVERITY[budget.alert_state(fast)] >= _SEVERITY[budget.alert_state(slow)]


def test_a_vanishing_burn_never_runs_out_rather_than_overflowing() -> None:
    burn = budget.burn_rate(1.8e-307, 0.5)
    assert burn is not None and burn > 0
    assert budget.time_to_exhaustion(1.0, burn, 3600) is None  # not inf: JSON has no inf


@given(
    objective=st.floats(0.5, 0.99999),
    # a ratio of counts is 0 or at least 1/count: never 1e-300
    ratio=st.one_of(st.just(0.0), st.floats(1e-15, 1)),
    remaining=st.floats(0.001, 1),
    period=st.integers(3600, 90 * DAY),
)
def test_budget_identities(objective: float, ratio: float, remaining: float, period: int) -> None:
    burn = budget.burn_rate(ratio, objective)
    assert burn is not None and burn * budget.error_budget(objective) == pytest.approx(ratio)
    left = budget.budget_remaining(ratio, objective)
    assert left == pytest.approx(1 - burn)
    if burn > 0:
        ttl = budget.time_to_exhaustion(remaining, burn, period)
        assert ttl is not None and ttl * burn == pytest.approx(remaining * period)
        # burning for exactly that long consumes exactly what was left
        assert budget.budget_consumed(ratio, objective, ttl, period) == pytest.approx(remaining)
