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

    W1 = integral over t in (0, 1) of |F^-1(t) - G^-1(t)|. Both quantile functions are step
    functions with steps at k/n1 and l/n2, so the integral is a sum over the merged steps:
    gathers only, no search over the data; equal to the CDF-area form scipy uses.
    """
    n1, n2 = int(ref_sorted.size), int(cur_sorted.size)
    if n1 == n2:
        return float(np.mean(np.abs(ref_sorted - cur_sorted)))
    # Merge the step points k/n1 and l/n2 by computing each one's rank (no sort, no search):
    # the float quotients are exact enough, ties sit >= 1/n apart from any rounding error.
    k = np.arange(1, n1 + 1, dtype=np.float64)
    ell = np.arange(1, n2 + 1, dtype=np.float64)
    cur_below_k = np.floor(k * n2 / n1)  # cur steps at or before k/n1
    ref_below_l = np.floor(ell * n1 / n2)
    rank_k = (k - 1 + np.ceil(k * n2 / n1) - 1).astype(np.int64)  # ref first on ties
    rank_l = (ell - 1 + ref_below_l).astype(np.int64)
    t = np.empty(n1 + n2)
    iu = np.empty(n1 + n2, dtype=np.int64)
    iv = np.empty(n1 + n2, dtype=np.int64)
    t[rank_k], iu[rank_k], iv[rank_k] = k / n1, k, cur_below_k
    t[rank_l], iu[rank_l], iv[rank_l] = ell / n2, ref_below_l, ell
    widths = np.diff(t, prepend=0.0)
    iu_prev = np.minimum(np.concatenate([[0], iu[:-1]]), n1 - 1)
    iv_prev = np.minimum(np.concatenate([[0], iv[:-1]]), n2 - 1)
    return float(np.dot(np.abs(ref_sorted[iu_prev] - cur_sorted[iv_prev]), widths))


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
