"""Response metrics across incidents: time to detect / acknowledge / mitigate / resolve.

Detect and acknowledge are measured from when the incident was opened (the page); mitigate and
resolve from when the problem started (``--started``), since that is how long users were hurt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from mlsre.incident.model import Incident


@dataclass
class Figures:
    count: int
    median_s: float | None
    p90_s: float | None


@dataclass
class GroupStats:
    group: str
    incidents: int
    time_to_detect: Figures
    time_to_acknowledge: Figures
    time_to_mitigate: Figures
    time_to_resolve: Figures


@dataclass
class Stats:
    since: datetime | None
    overall: GroupStats
    by_severity: list[GroupStats] = field(default_factory=list)
    by_model: list[GroupStats] = field(default_factory=list)
    drills_excluded: int = 0  # incidents marked as drills or tests, left out of every figure


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), without numpy."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _figures(values: list[float]) -> Figures:
    return Figures(len(values), quantile(values, 0.5), quantile(values, 0.9))


def _secs(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds()


def group_stats(name: str, incidents: list[Incident]) -> GroupStats:
    def collect(pairs: list[float | None]) -> Figures:
        return _figures([v for v in pairs if v is not None])

    return GroupStats(
        group=name,
        incidents=len(incidents),
        time_to_detect=collect([_secs(i.started_at, i.opened_at) for i in incidents]),
        time_to_acknowledge=collect([_secs(i.opened_at, i.acknowledged_at) for i in incidents]),
        time_to_mitigate=collect(
            [_secs(i.started_at, i.mitigated_at or i.resolved_at) for i in incidents]
        ),
        time_to_resolve=collect([_secs(i.started_at, i.resolved_at) for i in incidents]),
    )


def compute(incidents: list[Incident], since: datetime | None) -> Stats:
    drills = sum(1 for inc in incidents if inc.drill)
    incidents = [inc for inc in incidents if not inc.drill]
    by_sev: dict[str, list[Incident]] = {}
    by_model: dict[str, list[Incident]] = {}
    for inc in incidents:
        by_sev.setdefault(inc.severity.value, []).append(inc)
        by_model.setdefault(inc.model or "(none)", []).append(inc)
    return Stats(
        since=since,
        overall=group_stats("all", incidents),
        by_severity=[group_stats(k, v) for k, v in sorted(by_sev.items())],
        by_model=[group_stats(k, v) for k, v in sorted(by_model.items())],
        drills_excluded=drills,
    )
