"""How numbers read, in one place: undefined values, ratios against a zero baseline, figures.

Strict JSON has no NaN or Infinity, and "inf" in a table says nothing to a person. A value that is
not a finite number is written as ``null`` in JSON with a reason (:func:`undefined_reason`), and
as words in text: a ratio whose baseline is zero reads "new: 0 -> 0.3", a value with no data
reads "n/a".
"""

from __future__ import annotations

import math
from typing import Any

NO_DATA = "n/a"


def finite(value: Any) -> bool:
    """True for an int or float that is a real, finite number (bools are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def undefined_reason(value: float) -> str:
    """Why a float is written as ``null``: what it was, and how such a value usually arises."""
    if math.isnan(value):
        return "not a number (no data, or 0/0)"
    if value > 0:
        return "infinite (e.g. a ratio against a zero baseline)"
    return "minus infinity"


def fmt(value: Any, digits: int = 4) -> str:
    """A figure for text and tables: ``0.2591``, ``1.2e+04``; ``n/a`` when undefined."""
    if value is None or isinstance(value, bool):
        return NO_DATA if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return NO_DATA
        if math.isinf(value):
            return "+∞" if value > 0 else "-∞"
        return f"{value:.{digits}g}"
    return str(value)


def ratio(now: float, baseline: float) -> float | None:
    """``now / baseline``; None when that is undefined (a zero or missing baseline)."""
    if not (finite(now) and finite(baseline)) or baseline == 0:
        return None
    return now / baseline


def ratio_text(now: float, baseline: float) -> str:
    """The change from ``baseline`` to ``now`` as a person reads it.

    ``2.5x`` for an ordinary ratio; ``new: 0 -> 0.3`` when the baseline is zero (no ratio
    exists); ``unchanged: 0`` when both are zero; ``n/a`` when either is not a number.
    """
    if not (finite(now) and finite(baseline)):
        return f"{fmt(baseline)} -> {fmt(now)} (no ratio)"
    if baseline == 0:
        return "unchanged: 0" if now == 0 else f"new: 0 -> {fmt(now)}"
    return f"{fmt(now / baseline)}x"
