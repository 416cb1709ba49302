"""Two-sample rank statistics for the canary judge (numpy only; scipy verifies them in tests).

- :func:`mann_whitney` — the Mann–Whitney U test (Wilcoxon rank sum), two-sided: exact for
  small samples without ties, else the normal approximation with tie and continuity correction
  (the same choices and numbers as ``scipy.stats.mannwhitneyu``).
- :func:`hodges_lehmann` — the shift of the canary against the baseline: the median of all
  canary − baseline differences, with the asymptotic confidence interval R's
  ``wilcox.test(conf.int=TRUE)`` and Kayenta compute by root-finding. The standardised rank
  sum is a step function of the shift that jumps only at pairwise differences, so its roots
  are order statistics of those differences; we pick them by rank instead of root-finding
  on a step function, and on large samples never build all n x m differences (counts of
  differences under a value are binary searches).

Inputs are 1-d float arrays of finite values (the judge drops NaN and infinities first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

EXACT_MAX_SIZE = 8  # scipy's rule: exact when a sample has at most 8 values and nothing ties


class Method(StrEnum):
    AUTO = "auto"
    EXACT = "exact"
    ASYMPTOTIC = "asymptotic"


@dataclass(frozen=True)
class MannWhitney:
    u: float  # U of the first sample (the canary): pairs where it is larger, ties count 1/2
    pvalue: float  # two-sided
    method: Method


@dataclass(frozen=True)
class Shift:
    """Hodges–Lehmann shift of the canary against the baseline, with its interval."""

    estimate: float
    low: float
    high: float
    confidence: float


def tie_sizes(sorted_values: Floats) -> npt.NDArray[np.int64]:
    """Sizes of the groups of equal values in a sorted array."""
    if sorted_values.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]]))
    return np.diff(np.append(starts, sorted_values.size)).astype(np.int64)


def _tie_term(sizes: npt.NDArray[np.int64]) -> float:
    t = sizes.astype(np.float64)
    return float(np.sum(t * t * t - t))


def rank_sum_u(x: Floats, y: Floats) -> tuple[float, npt.NDArray[np.int64]]:
    """U of ``x`` (midranks for ties) and the tie-group sizes of the pooled sample."""
    pooled = np.concatenate([x, y])
    order = np.argsort(pooled, kind="mergesort")
    ordered = pooled[order]
    sizes = tie_sizes(ordered)
    starts = np.cumsum(sizes) - sizes
    midranks = np.repeat(starts + (sizes + 1) / 2.0, sizes)
    ranks = np.empty(pooled.size)
    ranks[order] = midranks
    n1 = x.size
    return float(ranks[:n1].sum() - n1 * (n1 + 1) / 2.0), sizes


def mann_whitney(
    x: Floats, y: Floats, *, method: Method = Method.AUTO, continuity: bool = True
) -> MannWhitney:
    """Two-sided Mann–Whitney U test of ``x`` (canary) against ``y`` (baseline)."""
    n1, n2 = int(x.size), int(y.size)
    if n1 == 0 or n2 == 0:
        raise ValueError("Mann-Whitney needs at least one value on each side")
    u1, sizes = rank_sum_u(x, y)
    big = max(u1, n1 * n2 - u1)
    ties = bool(np.any(sizes > 1))
    if method is Method.AUTO:
        method = Method.EXACT if min(n1, n2) <= EXACT_MAX_SIZE and not ties else Method.ASYMPTOTIC
    if method is Method.EXACT:
        p = 2.0 * _exact_sf(round(big), min(n1, n2), max(n1, n2))
    else:
        n = n1 + n2
        var = n1 * n2 / 12.0 * ((n + 1) - _tie_term(sizes) / (n * (n - 1)))
        if var <= 0:  # every value equal: no evidence of any shift
            return MannWhitney(u1, 1.0, method)
        z = (big - n1 * n2 / 2.0 - (0.5 if continuity else 0.0)) / math.sqrt(var)
        p = math.erfc(z / math.sqrt(2.0))  # 2 * P(Z > z)
    return MannWhitney(u1, min(max(p, 0.0), 1.0), method)


def _exact_sf(u: int, m: int, n: int) -> float:
    """P(U >= u) under the null hypothesis, samples of sizes m <= n without ties."""
    counts = u_frequencies(m, n)
    total = counts.sum()
    return float(counts[u:].sum() / total) if u < counts.size else 0.0


def u_frequencies(m: int, n: int) -> npt.NDArray[np.float64]:
    """How many of the C(m+n, m) rankings give each U = 0 .. m*n.

    They are the coefficients of the Gaussian binomial prod_i (1 - q^(n+i)) / (1 - q^i);
    dividing by (1 - q^i) is a running sum with stride i. Integers while they fit in int64.
    """
    size = m * n + 1
    exact = math.comb(m + n, m) < 2**62
    c = np.zeros(size, dtype=np.int64 if exact else np.float64)
    c[0] = 1
    for i in range(1, m + 1):
        shift = n + i
        if shift < size:
            c[shift:] = c[shift:] - c[: size - shift]
        pad = (-size) % i
        grid = np.concatenate([c, np.zeros(pad, dtype=c.dtype)]).reshape(-1, i)
        c = np.cumsum(grid, axis=0).reshape(-1)[:size]
    return c.astype(np.float64)


# --- Hodges–Lehmann shift and its interval -------------------------------------------------


def hodges_lehmann(
    x: Floats, y: Floats, *, confidence: float = 0.98, continuity: bool = True
) -> Shift:
    """Median of x_i - y_j with the asymptotic interval of R's ``wilcox.test``."""
    xs, ys = np.sort(x), np.sort(y)
    n, m = int(xs.size), int(ys.size)
    if n == 0 or m == 0:
        raise ValueError("a shift needs at least one value on each side")
    total = n * m
    half = total / 2.0
    nn = n + m
    ties = _tie_term(tie_sizes(xs)) + _tie_term(tie_sizes(ys))
    var = n * m / 12.0 * ((nn + 1) - (ties / (nn * (nn - 1)) if nn > 1 else 0.0))
    sigma = math.sqrt(max(var, 0.0))
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    correction = 0.5 if continuity else 0.0

    def first_k(zq: float) -> int:
        """Smallest k in 0..total where (U - nm/2 - correction) / sigma <= zq, U = total - k:
        between the k-th and (k+1)-th smallest difference U is total - k."""
        lo, hi = 0, total + 1
        while lo < hi:
            k = (lo + hi) // 2
            dz = half - k
            if dz - math.copysign(correction, dz) * (dz != 0) - zq * sigma <= 0:
                hi = k
            else:
                lo = k + 1
        return lo

    k_low = min(max(first_k(z), 1), total)
    k_high = min(max(first_k(-z), 1), total)
    middle = [(total + 1) // 2] if total % 2 else [total // 2, total // 2 + 1]
    found = kth_differences(xs, ys, [k_low, k_high, *middle])
    return Shift(
        estimate=float(np.mean([found[k] for k in middle])),
        low=found[k_low],
        high=found[k_high],
        confidence=confidence,
    )


SMALL = 20_000  # up to this many pairs, build them all
BAND = 256  # narrow each order statistic to about this many candidates, then build those
BAND_MAX = 4_000_000  # never build more candidates than this (only near-ties get here)


def kth_differences(xs: Floats, ys: Floats, ks: list[int]) -> dict[int, float]:
    """The k-th smallest (1-based) of all x_i - y_j for each k, for sorted ``xs`` and ``ys``.

    Few pairs: build them all and sort. Else, for each k, narrow a value interval (lo, hi]
    holding the k-th difference until about BAND differences are inside (interpolating on
    the count of differences at or under a value, which binary searches give without
    building anything), then build and sort only those. Exact either way.
    """
    wanted = sorted(set(ks))
    n, m = int(xs.size), int(ys.size)
    if n * m <= SMALL:
        picked = np.sort(np.subtract.outer(xs, ys).ravel())  # numpy's SIMD sort beats select
        return {k: float(picked[k - 1]) for k in wanted}
    return {k: _kth_by_band(xs, ys, k) for k in wanted}


def _count_le(xs: Floats, ys: Floats, v: float) -> int:
    """How many x_i - y_j are <= v (that is, y_j >= x_i - v)."""
    return int(xs.size * ys.size - np.searchsorted(ys, xs - v, side="left").sum())


def _next_above(xs: Floats, ys: Floats, v: float) -> float:
    """The smallest x_i - y_j above v (in row i: y_j the largest below x_i - v)."""
    j = np.searchsorted(ys, xs - v, side="left") - 1
    ok = j >= 0
    return float(np.min(xs[ok] - ys[j[ok]]))


def _kth_by_band(xs: Floats, ys: Floats, k: int) -> float:
    lo, hi = float(xs[0] - ys[-1]), float(xs[-1] - ys[0])
    c_lo, c_hi = _count_le(xs, ys, lo), _count_le(xs, ys, hi)
    if c_lo >= k:
        return lo
    for _ in range(64):  # rounding: x - (x - y) need not give y back, so the count can miss
        if c_hi >= k:  # the largest difference; step up a few units in the last place
            break
        hi = float(np.nextafter(hi, np.inf))
        c_hi = _count_le(xs, ys, hi)
    tiny = (hi - lo) * 1e-12  # closer than this, differences are ties up to rounding
    misses = 0  # steps in a row that did not halve the candidates
    for _ in range(100):  # invariant: c_lo = count(<= lo) < k <= c_hi = count(<= hi)
        width = c_hi - c_lo
        if width <= BAND or hi - lo <= tiny:
            break
        if misses >= 2:  # ties make the count jump: step to the next distinct difference
            nxt = max(_next_above(xs, ys, lo), float(np.nextafter(lo, np.inf)))
            count = _count_le(xs, ys, nxt)
            if count >= k:
                return nxt  # the smallest difference above lo already reaches rank k
            lo, c_lo, misses = nxt, count, 0
            continue
        else:
            # interpolate where the count is smooth; after a miss, bisect
            frac = 0.5 if misses else min(max((k - c_lo) / (c_hi - c_lo), 0.01), 0.99)
            mid = lo + (hi - lo) * frac
            if not lo < mid < hi:
                return hi  # nothing between two adjacent floats: every candidate equals hi
            count = _count_le(xs, ys, mid)
            if count >= k:
                hi, c_hi = mid, count
            else:
                lo, c_lo = mid, count
        misses = misses + 1 if c_hi - c_lo > 3 * width // 4 else 0
    # build the differences in (lo, hi]: in row i (y ascending, so decreasing in j) they are
    # j in [a_i, b_i)
    a = np.searchsorted(ys, xs - hi, side="left")
    b = np.searchsorted(ys, xs - lo, side="left")
    lengths = np.maximum(b - a, 0)
    size = int(lengths.sum())
    if size == 0 or size > BAND_MAX:  # a huge run of near-ties: all within `tiny` of hi
        return hi
    rows = np.repeat(np.arange(xs.size), lengths)
    offsets = np.arange(size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    band = np.sort(xs[rows] - ys[np.repeat(a, lengths) + offsets])
    return float(band[min(max(k - c_lo - 1, 0), size - 1)])
