"""One metric's classification, after Kayenta's NetflixACAJudge: Pass, High, Low or NoData.

Series metrics: NaN and infinities dropped; an empty side is NoData; identical samples, or a
single value on both sides, Pass; else Mann-Whitney U with the Hodges-Lehmann shift and its
interval at the configured confidence (0.98). High when an increase is bad, the interval's
lower end clears ``effect_fraction`` x |estimate| (Kayenta's bound) AND the shift relative to
the baseline median is above ``tolerance`` (and the test's p-value is below 1 - confidence);
Low mirrored. Distribution metrics: PSI or
Jensen-Shannon between the two versions' bucket shares (the drift statistics); at or above the
threshold is High ("shifted"). Pure computation: arrays in, a :class:`Comparison` out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mlsre.canary.config import CanaryMetric, Direction, DistanceMethod

if TYPE_CHECKING:
    from mlsre.canary.stats import Shift

Floats = npt.NDArray[np.float64]


class Classification(StrEnum):
    PASS = "Pass"
    HIGH = "High"
    LOW = "Low"
    NODATA = "NoData"


@dataclass
class SideStats:
    """One version's sample: how many points were used, their centre, and how many were not."""

    points: int = 0
    dropped: int = 0  # NaN or infinite values left out
    median: float | None = None
    mean: float | None = None


@dataclass
class Comparison:
    classification: Classification
    reason: str
    canary: SideStats = field(default_factory=SideStats)
    baseline: SideStats = field(default_factory=SideStats)
    # series: Hodges-Lehmann shift (canary - baseline) with its interval, and relative to the
    # baseline median; Mann-Whitney p-value
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    relative: float | None = None
    relative_low: float | None = None
    relative_high: float | None = None
    pvalue: float | None = None
    test: str = ""
    # distribution: the distance and the shares per bucket
    distance: float | None = None
    buckets: list[str] = field(default_factory=list)
    canary_shares: list[float] = field(default_factory=list)
    baseline_shares: list[float] = field(default_factory=list)


def _finite(values: Floats) -> tuple[Floats, int]:
    keep = np.isfinite(values)
    return values[keep], int(values.size - np.count_nonzero(keep))


def _stats(values: Floats, dropped: int) -> SideStats:
    if values.size == 0:
        return SideStats(0, dropped)
    return SideStats(int(values.size), dropped, float(np.median(values)), float(np.mean(values)))


def _relative(value: float, base: float) -> float | None:
    """``value`` relative to the baseline's centre; None when the baseline centre is 0."""
    return value / abs(base) if base != 0 else None


def _beyond(relative: float | None, absolute: float, tolerance: float) -> bool:
    """Is the shift bigger than the tolerance? A baseline of 0 makes any shift relatively infinite."""
    if relative is None:
        return absolute != 0
    return abs(relative) > tolerance


def compare_series(
    metric: CanaryMetric,
    canary: Floats,
    baseline: Floats,
    *,
    confidence: float = 0.98,
    fraction: float = 0.25,
) -> Comparison:
    from mlsre.canary import stats

    c, c_drop = _finite(canary)
    b, b_drop = _finite(baseline)
    out = Comparison(Classification.PASS, "", _stats(c, c_drop), _stats(b, b_drop))
    if _settled_without_a_test(out, c, b, c_drop + b_drop):
        return out
    mw = stats.mann_whitney(c, b)
    shift = stats.hodges_lehmann(c, b, confidence=confidence)
    base = out.baseline.median or 0.0
    out.pvalue, out.test = mw.pvalue, f"mann-whitney ({mw.method.value})"
    out.estimate, out.low, out.high = shift.estimate, shift.low, shift.high
    out.relative = _relative(shift.estimate, base)
    out.relative_low = _relative(shift.low, base)
    out.relative_high = _relative(shift.high, base)
    out.classification, out.reason = _verdict(
        metric, shift, mw.pvalue, out.relative, confidence, fraction
    )
    return out


def _settled_without_a_test(out: Comparison, c: Floats, b: Floats, dropped: int) -> bool:
    """No data on a side, identical samples, or one value everywhere: no test to run."""
    if c.size == 0 or b.size == 0:
        side = "canary" if c.size == 0 else "baseline"
        out.classification = Classification.NODATA
        out.reason = f"no {side} data" + (f" ({dropped} NaN/Inf dropped)" if dropped else "")
        return True
    if c.size == b.size and np.array_equal(np.sort(c), np.sort(b)):
        out.reason = "canary and baseline samples are identical"
        out.estimate = out.low = out.high = out.relative = 0.0
        return True
    if np.all(c == c[0]) and np.all(b == c[0]):
        out.reason = "a single value on both sides"
        return True
    return False


def _verdict(
    metric: CanaryMetric,
    shift: Shift,
    pvalue: float,
    relative: float | None,
    confidence: float,
    fraction: float,
) -> tuple[Classification, str]:
    """High or low only when the interval clears zero (by ``fraction`` of the estimate), the
    shift is beyond the tolerance, the test agrees, and the metric's direction cares."""
    pct = f"{confidence:.0%}"
    bound = fraction * abs(shift.estimate)
    higher, lower = shift.low > bound, shift.high < -bound
    if not (higher or lower):
        return Classification.PASS, f"no shift at {pct} confidence"
    # Also require the test itself: with a handful of points the interval's clamped ends
    # (the smallest and largest difference) claim a precision the data does not have.
    big = _beyond(relative, shift.estimate, metric.tolerance) and pvalue < 1 - confidence
    if big:
        return _big_shift(metric, higher, lower, pct)
    if pvalue >= 1 - confidence:
        return Classification.PASS, f"too few points to tell (p = {pvalue:.3g})"
    return (
        Classification.PASS,
        f"a real but small shift, within the tolerance of {metric.tolerance:.0%}",
    )


def _big_shift(
    metric: CanaryMetric, higher: bool, lower: bool, pct: str
) -> tuple[Classification, str]:
    """A clear shift beyond the tolerance: a failure only in a direction the metric cares about."""
    if higher and metric.direction in (Direction.INCREASE, Direction.EITHER):
        return (
            Classification.HIGH,
            f"canary higher: {pct} interval of the shift is above 0 and beyond the tolerance",
        )
    if lower and metric.direction in (Direction.DECREASE, Direction.EITHER):
        return (
            Classification.LOW,
            f"canary lower: {pct} interval of the shift is below 0 and beyond the tolerance",
        )
    which = "higher" if higher else "lower"
    return Classification.PASS, f"canary {which}, which direction {metric.direction.value} allows"


def compare_distribution(
    metric: CanaryMetric, canary: dict[float, float], baseline: dict[float, float]
) -> Comparison:
    from mlsre.drift import stats

    c_total, b_total = float(sum(canary.values())), float(sum(baseline.values()))
    out = Comparison(
        Classification.PASS,
        "",
        SideStats(round(c_total)),
        SideStats(round(b_total)),
        test=metric.distance.value,
    )
    if c_total <= 0 or b_total <= 0:
        side = "canary" if c_total <= 0 else "baseline"
        out.classification = Classification.NODATA
        out.reason = f"no {side} observations in the histogram"
        return out
    bounds = sorted(set(canary) & set(baseline))
    c = np.array([canary[x] for x in bounds], dtype=np.float64)
    b = np.array([baseline[x] for x in bounds], dtype=np.float64)
    if c.sum() <= 0 or b.sum() <= 0:
        out.classification = Classification.NODATA
        out.reason = "the two versions' histograms share no bucket bounds"
        return out
    c_total, b_total = float(c.sum()), float(b.sum())
    c_share, b_share = c / c_total, b / b_total
    if metric.distance is DistanceMethod.PSI:
        distance = stats.psi(b_share, c_share)
    else:
        distance = stats.jensen_shannon(b_share, c_share)
    out.distance = distance
    out.buckets = ["+Inf" if math.isinf(x) else f"{x:g}" for x in bounds]
    out.canary_shares = [float(x) for x in c_share]
    out.baseline_shares = [float(x) for x in b_share]
    name = metric.distance.value
    if distance >= metric.limit:
        out.classification = Classification.HIGH
        out.reason = f"distribution shifted: {name} {distance:.3g} >= {metric.limit:g}"
    else:
        out.reason = f"{name} {distance:.3g} < {metric.limit:g}"
    return out
