"""Response metrics across incidents: time to detect / acknowledge / mitigate / resolve.

Each incident's spans are defined once, in :mod:`mlsre.incident.durations`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from mlsre.incident.durations import durations
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


def group_stats(name: str, incidents: list[Incident]) -> GroupStats:
    def collect(pairs: list[float | None]) -> Figures:
        return _figures([v for v in pairs if v is not None])

    # the clock does not matter: only finished spans are counted
    ds = [durations(i, i.resolved_at or i.updated_at or i.opened_at) for i in incidents]
    return GroupStats(
        group=name,
        incidents=len(incidents),
        time_to_detect=collect([d.to_detect_s for d in ds]),
        time_to_acknowledge=collect([d.to_acknowledge_s for d in ds]),
        time_to_mitigate=collect([d.to_mitigate_s for d in ds]),
        time_to_resolve=collect([d.to_resolve_s for d in ds]),
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
