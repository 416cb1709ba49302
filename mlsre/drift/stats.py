"""Distances and tests between a reference and a current sample, vectorised numpy.

Inputs are already cleaned: numeric samples sorted and finite, categorical ones as counts per
category over the union of both files' categories. Every function is a pure computation.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

PSI_FLOOR = 1e-4  # share given to an empty bin so ln(cur/ref) stays finite (Evidently's value)
PSI_BINS = 10


# --- binning ---------------------------------------------------------------------------------


def quantile_edges(ref_sorted: Floats, bins: int = PSI_BINS) -> Floats:
    """Inner bin edges at reference quantiles (duplicates dropped: ties make fewer bins).

    The outer bins are open (-inf, e0) and [e_last, inf), so current values outside the
    reference range land in the first or last bin instead of being lost.
    """
    probs = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    inner = np.quantile(ref_sorted, probs, method="linear") if ref_sorted.size else probs
    return np.unique(inner)


def sturges_edges(ref_sorted: Floats, cur_sorted: Floats) -> Floats:
    """Evidently's binning: equal-width bins over both samples, count by Sturges' rule."""
    n = ref_sorted.size + cur_sorted.size
    low = min(ref_sorted[0], cur_sorted[0])
    high = max(ref_sorted[-1], cur_sorted[-1])
    count = int(np.ceil(np.log2(n))) + 1
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, count + 1)


def counts_inner(sorted_values: Floats, inner_edges: Floats) -> Ints:
    """Counts in the bins (-inf, e0), [e0, e1), ..., [e_last, inf) — via searchsorted."""
    cuts = np.searchsorted(sorted_values, inner_edges, side="left")
    bounds = np.concatenate([[0], cuts, [sorted_values.size]])
    return np.diff(bounds).astype(np.int64)


def counts_closed(sorted_values: Floats, edges: Floats) -> Ints:
    """numpy.histogram semantics for sorted data: [e0, e1), ..., [e_{k-1}, e_k] (last closed)."""
    cuts = np.searchsorted(sorted_values, edges, side="left")
    cuts[-1] = np.searchsorted(sorted_values, edges[-1], side="right")
    return np.diff(cuts).astype(np.int64)


def shares(counts: Ints, total: int | None = None) -> Floats:
    denom = float(total if total is not None else counts.sum())
    return counts / denom if denom > 0 else np.zeros(counts.size)


def finite_sorted(values: Floats) -> tuple[Floats, int, int]:
    """(sorted finite values, NaN count, infinity count) with one sort and no masks.

    numpy sorts -inf first and NaN last, so the finite values are one slice of the sorted copy.
    """
    ordered = np.sort(values)
    end = int(np.searchsorted(ordered, np.nan, side="left"))  # NaN sort after everything
    start = int(np.searchsorted(ordered[:end], -np.inf, side="right"))
    stop = int(np.searchsorted(ordered[:end], np.inf, side="left"))
    return ordered[start:stop], ordered.size - end, start + (end - stop)


def distinct_upto(sorted_values: Floats, limit: int) -> int:
    """Number of distinct values, counted only up to ``limit + 1`` (binary searches, no pass)."""
    return len(sorted_unique(sorted_values, limit + 1))


def sorted_unique(sorted_values: Floats, limit: int | None = None) -> list[float]:
    """The distinct values of a sorted array (at most ``limit`` of them), by binary search."""
    out: list[float] = []
    pos, n = 0, int(sorted_values.size)
    if limit is None and n > 1000:
        flags = np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]])
        return [float(x) for x in sorted_values[flags]]
    while pos < n and (limit is None or len(out) < limit):
        value = sorted_values[pos]
        out.append(float(value))
        pos = int(np.searchsorted(sorted_values, value, side="right"))
    return out


# --- distances -------------------------------------------------------------------------------


def psi(ref_share: Floats, cur_share: Floats, floor: float = PSI_FLOOR) -> float:
    """Population stability index: sum (cur - ref) * ln(cur / ref), empty shares floored."""
    r = np.where(ref_share <= 0, floor, ref_share)
    c = np.where(cur_share <= 0, floor, cur_share)
    return float(np.sum((c - r) * np.log(c / r)))


def jensen_shannon(ref_share: Floats, cur_share: Floats) -> float:
    """Jensen–Shannon distance (square root of the divergence), natural log, like scipy's."""
    p = ref_share / ref_share.sum()
    q = cur_share / cur_share.sum()
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log(p / m), 0.0)
        kl_q = np.where(q > 0, q * np.log(q / m), 0.0)
    js = (float(np.sum(kl_p)) + float(np.sum(kl_q))) / 2.0
    return math.sqrt(max(js, 0.0))


def wasserstein(ref_sorted: Floats, cur_sorted: Floats) -> float:
    """First Wasserstein distance: the area between the two quantile functions.

    W1 = integral over t in (0, 1) of |F^-1(t) - G^-1(t)|. Both quantile functions are steps:
    value i of the larger sample covers t in [i/n, (i+1)/n), which overlaps at most two steps of
    the smaller one; summing |u_i - v_j| times each overlap needs gathers only, no search over
    the data. Equal to the CDF-area form scipy uses.
    """
    u, v = (
        (ref_sorted, cur_sorted) if ref_sorted.size >= cur_sorted.size else (cur_sorted, ref_sorted)
    )
    nu, nv = int(u.size), int(v.size)
    if nu == nv:
        return float(np.mean(np.abs(u - v)))
    # In units of 1/(nu*nv) every step boundary is an integer, exact in float64.
    lo = np.arange(nu, dtype=np.float64) * nv  # u step i covers [lo, lo + nv)
    first = np.floor(lo / nu)  # the v step it starts in
    boundary = (first + 1.0) * nu  # where that v step ends
    in_first = np.minimum(lo + nv, boundary) - lo
    j = first.astype(np.int64)
    total = float(np.dot(np.abs(u - v[j]), in_first))
    np.minimum(j + 1, nv - 1, out=j)  # the rest of the step (if any) lies in the next v step
    total += float(np.dot(np.abs(u - v[j]), nv - in_first))
    return total / (float(nu) * float(nv))


# --- tests -----------------------------------------------------------------------------------


def chi2_goodness(ref_counts: Ints, cur_counts: Ints) -> tuple[float, float]:
    """Current counts against reference shares scaled to the current size (Evidently's form).

    Returns (statistic, p-value) with k-1 degrees of freedom; a category absent from the
    reference but present now gives an infinite statistic and p-value 0.
    """
    expected = ref_counts * (cur_counts.sum() / ref_counts.sum())
    observed = cur_counts.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        parts = np.where(expected > 0, (observed - expected) ** 2 / expected, np.inf)
    parts = np.where((expected == 0) & (observed == 0), 0.0, parts)
    stat = float(np.sum(parts))
    dof = ref_counts.size - 1
    if dof < 1:
        return stat, 1.0
    return stat, chi2_sf(stat, dof)


def chi2_sf(x: float, dof: int) -> float:
    if math.isinf(x):
        return 0.0
    return gamma_q(dof / 2.0, x / 2.0)


def gamma_q(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x): series below a+1, continued fraction above."""
    if x <= 0:
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        denom = a
        for _ in range(10_000):
            denom += 1.0
            term *= x / denom
            total += term
            if abs(term) < abs(total) * 1e-17:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-17:
            break
    return math.exp(log_front) * h


def z_test_proportions(ref_hits: int, ref_n: int, cur_hits: int, cur_n: int) -> tuple[float, float]:
    """Two-proportion z-test (pooled), two-sided: (z, p-value)."""
    p1, p2 = ref_hits / ref_n, cur_hits / cur_n
    pooled = (ref_hits + cur_hits) / (ref_n + cur_n)
    var = pooled * (1 - pooled) * (1.0 / ref_n + 1.0 / cur_n)
    if var <= 0:
        return 0.0, 1.0
    z = (p1 - p2) / math.sqrt(var)
    return z, math.erfc(abs(z) / math.sqrt(2.0))


# --- multiple testing ------------------------------------------------------------------------


def adjust_pvalues(pvalues: list[float], how: str) -> list[float]:
    """Adjusted p-values: 'none', 'bonferroni' (p*k) or 'bh' (Benjamini–Hochberg step-up).

    Comparing the adjusted value with alpha is the same decision as comparing the raw value
    with alpha/k (Bonferroni) or with the BH critical line.
    """
    k = len(pvalues)
    if how == "none" or k == 0:
        return list(pvalues)
    p = np.asarray(pvalues, dtype=np.float64)
    if how == "bonferroni":
        return [float(v) for v in np.minimum(p * k, 1.0)]
    order = np.argsort(p)
    ranked = p[order] * k / np.arange(1, k + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(k)
    out[order] = np.minimum(ranked, 1.0)
    return [float(v) for v in out]
