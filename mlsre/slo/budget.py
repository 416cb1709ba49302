"""Error budget and burn-rate arithmetic: pure functions over numbers, no I/O.

- error budget = 1 - objective (99.9% leaves 0.1% of events, or of time slices, to fail);
- burn rate over a window = error ratio in that window / error budget (1 = spending the budget
  exactly as fast as the period allows; 10 = the whole budget gone in a tenth of the period);
- budget remaining = 1 - error ratio over the whole period / error budget (negative: overspent);
- time to exhaustion = remaining * period / burn rate.

Alerts follow the multiwindow, multi-burn-rate rule of Google's SRE workbook for a 30-day period:
page when the burn rate is above 14.4 over 1h and 5m (2% of the budget in an hour) or above 6
over 6h and 30m (5% in six hours); open a ticket when above 1 over 3d and 6h (10% in three days).
The short window makes the alert stop soon after the burning stops.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from mlsre.timeutil import parse_duration

# The windows burn rates are reported and recorded over, in seconds, shortest first.
WINDOWS: dict[str, int] = {
    w: int(parse_duration(w).total_seconds()) for w in ("5m", "30m", "1h", "6h", "1d", "3d")
}
EXHAUSTION_WINDOW = "1h"  # the burn rate "time to exhaustion" extrapolates (5m is too jumpy)


class AlertState(StrEnum):
    PAGE = "page"
    TICKET = "ticket"
    NONE = "none"


@dataclass(frozen=True)
class BurnAlert:
    """One multiwindow condition: burn rate above ``factor`` over both windows."""

    severity: AlertState
    long: str
    short: str
    factor: float

    @property
    def name(self) -> str:
        return f"{self.severity.value}-{self.long}-{self.short}"


BURN_ALERTS: tuple[BurnAlert, ...] = (
    BurnAlert(AlertState.PAGE, "1h", "5m", 14.4),
    BurnAlert(AlertState.PAGE, "6h", "30m", 6.0),
    BurnAlert(AlertState.TICKET, "3d", "6h", 1.0),
)


def _known(x: float | None) -> bool:
    return x is not None and not math.isnan(x)


def error_budget(objective: float) -> float:
    if not 0 < objective < 1:
        raise ValueError(f"objective must be between 0 and 1, exclusive; got {objective}")
    return 1.0 - objective


def burn_rate(error_ratio: float | None, objective: float) -> float | None:
    """How many times faster than sustainable the budget burns; None without data."""
    if error_ratio is None or math.isnan(error_ratio):
        return None
    return error_ratio / error_budget(objective)


def budget_remaining(period_error_ratio: float | None, objective: float) -> float | None:
    """Share of the period's error budget left (1 = untouched, 0 = spent, < 0 = overspent)."""
    rate = burn_rate(period_error_ratio, objective)
    return None if rate is None else 1.0 - rate


def budget_consumed(
    error_ratio: float | None, objective: float, duration_s: float, period_s: float
) -> float | None:
    """Share of a period's budget spent by ``duration_s`` at ``error_ratio`` (an incident)."""
    rate = burn_rate(error_ratio, objective)
    if rate is None:
        return None
    if period_s <= 0 or duration_s < 0:
        raise ValueError("period must be positive and duration not negative")
    return rate * duration_s / period_s


def time_to_exhaustion(
    remaining: float | None, burn: float | None, period_s: float
) -> float | None:
    """Seconds until the budget is gone at ``burn``: 0 when already spent, None when not burning."""
    if remaining is None or not _known(burn):
        return None
    if remaining <= 0:
        return 0.0
    assert burn is not None
    if burn <= 0:
        return None
    seconds = remaining * period_s / burn
    return seconds if math.isfinite(seconds) else None  # too slow to ever run out (1e-307)


def firing(burn_rates: Mapping[str, float | None]) -> list[BurnAlert]:
    """The multiwindow conditions that hold; a window without data never fires."""
    out = []
    for alert in BURN_ALERTS:
        long, short = burn_rates.get(alert.long), burn_rates.get(alert.short)
        if _known(long) and _known(short):
            assert long is not None and short is not None
            if long > alert.factor and short > alert.factor:
                out.append(alert)
    return out


def alert_state(burn_rates: Mapping[str, float | None]) -> AlertState:
    """``page`` beats ``ticket`` beats ``none``."""
    states = {a.severity for a in firing(burn_rates)}
    if AlertState.PAGE in states:
        return AlertState.PAGE
    if AlertState.TICKET in states:
        return AlertState.TICKET
    return AlertState.NONE
