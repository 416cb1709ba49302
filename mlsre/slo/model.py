"""An SLO as mlsre uses it: one objective of one OpenSLO ``SLO``, its indicator as PromQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_SLICE_S = 60  # how often a threshold is sampled when no timeSliceWindow is given


class IndicatorKind(StrEnum):
    RATIO = "ratio"
    THRESHOLD = "threshold"


class Budgeting(StrEnum):
    OCCURRENCES = "Occurrences"
    TIMESLICES = "Timeslices"


@dataclass(frozen=True)
class Slo:
    """One objective of one OpenSLO ``SLO``, with its indicator resolved to PromQL."""

    name: str
    service: str
    objective: float  # e.g. 0.999
    window_s: int  # the rolling period the budget is counted over
    window: str  # as written, e.g. "30d"
    budgeting: Budgeting
    indicator: IndicatorKind
    # ratio: PromQL for good (or bad) and total, each may contain the {{.window}} placeholder
    good_query: str | None = None
    bad_query: str | None = None
    total_query: str | None = None
    counter: bool = True
    # threshold: the metric, good when `metric <op> value`
    threshold_query: str | None = None
    op: str | None = None
    value: float | None = None
    slice_s: int = DEFAULT_SLICE_S
    slice_target: float | None = None  # Timeslices on a ratio: a slice is good at this ratio
    display_name: str | None = None
    description: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    path: str = ""
    line: int = 1

    @property
    def error_budget(self) -> float:
        return 1.0 - self.objective

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"
