"""The PromQL of an SLO: its error ratio over any window, as one expression.

Both the recording rules and ``mlsre slo status`` use :func:`error_ratio`, so the numbers a
person sees in the terminal are the numbers Prometheus alerts on.

- Ratio, Occurrences: ``bad / total`` (or ``1 - good / total``) over the window.
- Ratio, Timeslices: the share of slices whose good ratio is below ``timeSliceTarget``.
- Threshold: the share of samples (one per slice, default one a minute) where the metric breaks
  ``op value`` — e.g. the share of minutes p99 latency was above 300 ms.

Ratio queries either contain the ``{{.window}}`` placeholder (sloth's convention) or are a plain
counter selector such as ``model_requests_total{code=~"5.."}``, which is wrapped as
``sum(increase(SELECTOR[window]))``.
"""

from __future__ import annotations

import re

from mlsre.slo.model import Budgeting, IndicatorKind, Slo
from mlsre.timeutil import UNIT_SECONDS

PLACEHOLDER = re.compile(r"\{\{\s*\.?window\s*\}\}")
_SELECTOR = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*\s*(\{[^{}]*\})?$")
# The comparison that makes a sample BAD, for each OpenSLO op that makes it good.
_BAD_OP = {"lte": ">", "lt": ">=", "gte": "<", "gt": "<="}
_UNITS = tuple((unit, int(UNIT_SECONDS[unit])) for unit in "dhms")


def prom_duration(seconds: int) -> str:
    """Seconds as the largest whole Prometheus unit: 3600 -> ``1h``, 5400 -> ``90m``."""
    for unit, size in _UNITS:
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def query_shape_problem(query: str, counter: bool) -> str | None:
    """Why a ratio query cannot be evaluated over a window, or None when it can."""
    if PLACEHOLDER.search(query):
        return None
    if counter and _SELECTOR.match(query.strip()):
        return None
    return (
        "a ratio query must contain {{.window}} (e.g. sum(rate(x_total[{{.window}}]))) "
        'or be a plain counter selector such as x_total{code=~"5.."}'
    )


def events(query: str, window: str) -> str:
    """Events counted by a ratio query over ``window``."""
    if PLACEHOLDER.search(query):
        return PLACEHOLDER.sub(window, query)
    return f"sum(increase({query.strip()}[{window}]))"


def render(query: str, window: str) -> str:
    return PLACEHOLDER.sub(window, query)


def _ratio_error(slo: Slo, window: str) -> str:
    assert slo.total_query is not None
    total = events(slo.total_query, window)
    if slo.bad_query is not None:
        return f"({events(slo.bad_query, window)}) / ({total})"
    assert slo.good_query is not None
    return f"1 - (({events(slo.good_query, window)}) / ({total}))"


def error_ratio(slo: Slo, window_s: int) -> str:
    """PromQL for the SLO's error ratio over the ``window_s`` seconds before evaluation time."""
    window = prom_duration(window_s)
    if slo.indicator is IndicatorKind.RATIO and slo.budgeting is Budgeting.OCCURRENCES:
        return _ratio_error(slo, window)
    step = prom_duration(min(slo.slice_s, window_s))
    slice_w = prom_duration(slo.slice_s)
    if slo.indicator is IndicatorKind.RATIO:
        good = f"1 - ({_ratio_error(slo, slice_w)})"
        bad_slice = f"({good}) < bool {slo.slice_target:g}"
    else:
        assert slo.threshold_query is not None and slo.op is not None
        bad_slice = f"({render(slo.threshold_query, slice_w)}) {_BAD_OP[slo.op]} bool {slo.value:g}"
    # Prometheus 2 subqueries include both ends, so [1h:5m] would hold 13 slices, not 12:
    # one second less keeps exactly window/step slices (and means the same in Prometheus 3).
    span = prom_duration(window_s - 1)
    return f"avg_over_time(({bad_slice})[{span}:{step}])"
