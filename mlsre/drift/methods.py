"""Which statistic each column gets, and computing it on one prepared column pair.

The ``auto`` rule (documented in docs/drift.md):

* small samples (the smaller file has at most 1,000 usable values): a test with a p-value —
  Kolmogorov–Smirnov for numeric columns, chi-squared for categorical (or numeric with at most
  5 distinct values), a two-proportion z-test when there are only 2 categories; drift when
  p < 0.05 (after the chosen multiple-testing correction);
* larger samples: a distance whose size does not grow with n — PSI over 10 reference-quantile
  bins (drift when PSI >= 0.1) for numeric columns, Jensen–Shannon distance (>= 0.1) for
  categorical ones. At a million rows a p-value flags a 0.01-sigma shift nobody cares about.

``evidently`` reproduces Evidently 0.7's default choice (decided on the reference size).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from mlsre.drift import stats
from mlsre.drift.ks import ks_2samp
from mlsre.errors import UsageError

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

SMALL_N = 1000
DISCRETE_MAX = (
    5  # a numeric column with this many distinct values or fewer is treated as categories
)


class Method(StrEnum):
    AUTO = "auto"
    EVIDENTLY = "evidently"
    PSI = "psi"
    KS = "ks"
    WASSERSTEIN = "wasserstein"
    JS = "js"
    CHI2 = "chi2"
    Z = "z"


CHOICES = [m.value for m in Method]
PVALUE_METHODS = {Method.KS, Method.CHI2, Method.Z}
DEFAULT_THRESHOLD = {
    Method.PSI: 0.1,
    Method.KS: 0.05,
    Method.WASSERSTEIN: 0.1,
    Method.JS: 0.1,
    Method.CHI2: 0.05,
    Method.Z: 0.05,
}
NUMERIC_ONLY = {Method.KS, Method.WASSERSTEIN}


class Binning(StrEnum):
    QUANTILE = "quantile"
    EVIDENTLY = "evidently"


@dataclass
class Prepared:
    """One column of both files, cleaned: sorted finite values, or counts per category."""

    numeric: bool
    ref_sorted: Floats | None = None
    cur_sorted: Floats | None = None
    ref_counts: Ints | None = None  # categorical (or discrete numeric) counts, same order
    cur_counts: Ints | None = None
    labels: list[str] | None = None
    distinct: int = 0  # distinct values over both files (capped: only <= DISCRETE_MAX matters)

    @property
    def n_ref(self) -> int:
        if self.ref_sorted is not None:
            return int(self.ref_sorted.size)
        return int(self.ref_counts.sum()) if self.ref_counts is not None else 0

    @property
    def n_cur(self) -> int:
        if self.cur_sorted is not None:
            return int(self.cur_sorted.size)
        return int(self.cur_counts.sum()) if self.cur_counts is not None else 0


@dataclass
class Outcome:
    method: Method
    statistic: float
    pvalue: float | None
    hist_ref: list[float]
    hist_cur: list[float]
    hist_labels: list[str]


def choose(prep: Prepared, rule: Method) -> Method:
    """The method ``auto`` or ``evidently`` picks for this column."""
    discrete = (not prep.numeric) or prep.distinct <= DISCRETE_MAX
    if rule is Method.EVIDENTLY:
        small = prep.n_ref <= SMALL_N
    else:
        small = min(prep.n_ref, prep.n_cur) <= SMALL_N
    if small:
        if discrete:
            return Method.Z if prep.distinct <= 2 else Method.CHI2
        return Method.KS
    if discrete:
        return Method.JS
    return Method.WASSERSTEIN if rule is Method.EVIDENTLY else Method.PSI


def discrete_counts(prep: Prepared) -> tuple[Ints, Ints, list[str]]:
    """Counts per distinct value (numeric) or per category, over the union of both files."""
    if prep.ref_counts is not None and prep.cur_counts is not None:
        return prep.ref_counts, prep.cur_counts, prep.labels or []
    assert prep.ref_sorted is not None and prep.cur_sorted is not None
    seen = set(stats.sorted_unique(prep.ref_sorted)) | set(stats.sorted_unique(prep.cur_sorted))
    values = np.array(sorted(seen), dtype=np.float64)
    ref = _count_sorted(prep.ref_sorted, values)
    cur = _count_sorted(prep.cur_sorted, values)
    return ref, cur, [f"{v:g}" for v in values]


def _count_sorted(sorted_values: Floats, values: Floats) -> Ints:
    left = np.searchsorted(sorted_values, values, side="left")
    right = np.searchsorted(sorted_values, values, side="right")
    return (right - left).astype(np.int64)


def evaluate(prep: Prepared, method: Method, binning: Binning, bins: int) -> Outcome:
    """Compute ``method`` on a prepared column (``method`` is concrete, not auto)."""
    if method in NUMERIC_ONLY and not prep.numeric:
        raise UsageError(
            f"method {method.value} needs a numeric column", hint="use psi, js, chi2 or z"
        )
    if method is Method.KS:
        assert prep.ref_sorted is not None and prep.cur_sorted is not None
        res = ks_2samp(prep.ref_sorted, prep.cur_sorted)
        return _with_hist(prep, method, res.statistic, res.pvalue, binning, bins)
    if method is Method.WASSERSTEIN:
        assert prep.ref_sorted is not None and prep.cur_sorted is not None
        norm = max(float(np.std(prep.ref_sorted)), 0.001)  # Evidently's floor for a constant ref
        value = stats.wasserstein(prep.ref_sorted, prep.cur_sorted) / norm
        return _with_hist(prep, method, value, None, binning, bins)
    if method is Method.Z:
        ref, cur, labels = discrete_counts(prep)
        if ref.size > 2:
            raise UsageError(
                "method z needs a column with at most 2 distinct values", hint="use chi2 or js"
            )
        hits_ref = int(ref[0]) if ref.size else 0
        hits_cur = int(cur[0]) if cur.size else 0
        z, p = stats.z_test_proportions(hits_ref, int(ref.sum()), hits_cur, int(cur.sum()))
        return Outcome(method, z, p, _share_list(ref), _share_list(cur), labels)
    ref, cur, labels = _binned(prep, binning, bins)
    if method is Method.PSI:
        value = stats.psi(stats.shares(ref), stats.shares(cur))
        return Outcome(method, value, None, _share_list(ref), _share_list(cur), labels)
    if method is Method.JS:
        value = stats.jensen_shannon(ref.astype(np.float64), cur.astype(np.float64))
        return Outcome(method, value, None, _share_list(ref), _share_list(cur), labels)
    if method is Method.CHI2:
        stat, p = stats.chi2_goodness(ref, cur)
        return Outcome(method, stat, p, _share_list(ref), _share_list(cur), labels)
    raise UsageError(f"unknown method {method.value!r}", hint=f"use one of {', '.join(CHOICES)}")


def _binned(prep: Prepared, binning: Binning, bins: int) -> tuple[Ints, Ints, list[str]]:
    """Counts per bin: categories as they are; numbers by reference quantiles or Sturges."""
    if not prep.numeric:
        return discrete_counts(prep)
    assert prep.ref_sorted is not None and prep.cur_sorted is not None
    if binning is Binning.EVIDENTLY:
        if _few_ref_values(prep.ref_sorted, 30):
            return discrete_counts(prep)  # Evidently counts values when the reference has <= 30
        edges = stats.sturges_edges(prep.ref_sorted, prep.cur_sorted)
        ref = stats.counts_closed(prep.ref_sorted, edges)
        cur = stats.counts_closed(prep.cur_sorted, edges)
        return ref, cur, [f"{e:.3g}" for e in edges[:-1]]
    if prep.distinct <= DISCRETE_MAX:
        return discrete_counts(prep)
    inner = stats.quantile_edges(prep.ref_sorted, bins)
    ref = stats.counts_inner(prep.ref_sorted, inner)
    cur = stats.counts_inner(prep.cur_sorted, inner)
    return ref, cur, ["-inf", *[f"{e:.3g}" for e in inner]]


def _few_ref_values(ref_sorted: Floats, limit: int) -> bool:
    return stats.distinct_upto(ref_sorted, limit) <= limit


def _share_list(counts: Ints) -> list[float]:
    total = counts.sum()
    return [float(c) / float(total) if total else 0.0 for c in counts]


def _with_hist(
    prep: Prepared,
    method: Method,
    statistic: float,
    pvalue: float | None,
    binning: Binning,
    bins: int,
) -> Outcome:
    ref, cur, labels = _binned(prep, binning, bins)
    return Outcome(method, statistic, pvalue, _share_list(ref), _share_list(cur), labels)


def drifted(method: Method, value: float, threshold: float) -> bool:
    """p-value methods drift below the threshold; distances at or above it."""
    if method in PVALUE_METHODS:
        return value < threshold
    return value >= threshold


def psi_band(value: float) -> str:
    return "none" if value < 0.1 else "moderate" if value <= 0.25 else "major"
