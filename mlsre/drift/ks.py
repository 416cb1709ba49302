"""Two-sample Kolmogorov–Smirnov test in numpy: statistic and two-sided p-value.

The p-value follows the same choice of method as scipy's ``ks_2samp(method="auto")`` so that
numbers agree with it (to 1e-9 relative, tested): exact when both samples have at most 10,000
values, otherwise the finite-n Kolmogorov distribution at n = m*n/(m+n) (Simard & L'Ecuyer 2011:
Durbin matrix, Pelz–Good series or Smirnov's one-sided formula, depending on n and d).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

EXACT_MAX_N = 10_000  # scipy's ks_2samp 'auto' switches to the asymptotic form above this


@dataclass(frozen=True)
class KsResult:
    statistic: float
    pvalue: float
    exact: bool


def ks_statistic(ref_sorted: Floats, cur_sorted: Floats) -> float:
    """Largest distance between the two empirical CDFs (inputs sorted, without NaN)."""
    n1, n2 = ref_sorted.size, cur_sorted.size
    points = np.concatenate([ref_sorted, cur_sorted])
    diff = np.searchsorted(ref_sorted, points, side="right") / n1
    diff -= np.searchsorted(cur_sorted, points, side="right") / n2
    return float(max(diff.max(), -diff.min(), 0.0))


def ks_2samp(ref_sorted: Floats, cur_sorted: Floats) -> KsResult:
    """Two-sided two-sample KS test on sorted, finite samples."""
    n1, n2 = int(ref_sorted.size), int(cur_sorted.size)
    d = ks_statistic(ref_sorted, cur_sorted)
    if max(n1, n2) <= EXACT_MAX_N:
        g = math.gcd(n1, n2)
        lcm = (n1 // g) * n2
        h = round(d * lcm)
        d = h / lcm
        if h == 0:
            return KsResult(d, 1.0, True)
        p = _exact_square(n1, h) if n1 == n2 else _exact_band(n1, n2, g, h)
        if 0.0 <= p <= 1.0:
            return KsResult(d, p, True)
    big, small = max(n1, n2), min(n1, n2)
    en = float(np.round(big * small / (big + small)))
    return KsResult(d, float(np.clip(kolmogorov_sf(int(en), d), 0.0, 1.0)), False)


def _exact_square(n: int, h: int) -> float:
    """P(D >= h/n) for two samples of size n (reflection principle, evaluated Horner-style).

    P = 2 * sum_k (-1)^(k-1) C(2n, n-kh) / C(2n, n); each term is the previous one times a
    product of h ratios, so the alternating sum is 2 t1 (1 - r2 (1 - r3 (1 - ...))).
    """
    top = n // h
    acc = 0.0
    j = np.arange(h, dtype=np.float64)
    for k in range(top, -1, -1):
        ratio = float(np.prod((n - k * h - j) / (n + k * h + j + 1)))
        acc = ratio * (1.0 - acc)
    return 2.0 * acc


def _exact_band(m: int, n: int, g: int, h: int) -> float:
    """P(D >= h/lcm) for sizes m != n: share of lattice paths that leave the band.

    A path from (0,0) to (m,n) stays inside while |n*x - m*y| < h*g. ``a(x,y)``, the share of
    paths to (x,y) that stayed inside, obeys a(x,y) = (x a(x-1,y) + y a(x,y-1)) / (x+y); we
    sweep it one anti-diagonal (x+y = s) at a time so each step is one vectorised operation.
    """
    hg = h * g
    total = m + n
    prev = np.zeros(m + 2)  # prev[x + 1] = a(x, s-1-x); prev[0] stays 0 (x = -1)
    cur = np.zeros(m + 2)
    prev[1] = 1.0
    prev_span = (0, 0)  # the x range each buffer holds non-zero values for
    cur_span = (0, -1)
    for s in range(1, total + 1):
        lo = max((m * s - hg) // total + 1, s - n, 0)
        hi = min(-((-(m * s + hg)) // total) - 1, m, s)
        if hi < lo:
            return 1.0
        xs = np.arange(lo, hi + 1, dtype=np.float64)
        vals = (xs * prev[lo : hi + 1] + (s - xs) * prev[lo + 1 : hi + 2]) / s
        cur[cur_span[0] + 1 : cur_span[1] + 2] = 0.0  # forget diagonal s-2
        cur[lo + 1 : hi + 2] = vals
        prev, cur = cur, prev
        prev_span, cur_span = (lo, hi), prev_span
    inside = float(prev[m + 1])
    return 1.0 - inside


# --- Kolmogorov distribution of D_n (one-sample, two-sided), survival function -------------

_STIRLING = (
    -2.955065359477124183e-2,
    6.4102564102564102564e-3,
    -1.9175269175269175269e-3,
    8.4175084175084175084e-4,
    -5.952380952380952381e-4,
    7.9365079365079365079e-4,
    -2.7777777777777777778e-3,
    8.3333333333333333333e-2,
)


def _log_factorial_over_power(n: int) -> float:
    """log(n! / n**n): exact product for small n, else Stirling's series without n*log(n)."""
    if n <= 140:
        return math.fsum(math.log(i / n) for i in range(1, n + 1))
    r = 1.0 / n
    series = float(np.polyval(_STIRLING, r * r))
    return 0.5 * math.log(n) - n + 0.5 * math.log(2 * math.pi) + r * series


def kolmogorov_sf(n: int, x: float) -> float:
    """P(D_n >= x) for the two-sided one-sample KS statistic with n observations."""
    if x >= 1.0:
        return 0.0
    if x <= 0.0:
        return 1.0
    t = n * x
    if t <= 1.0:  # Ruben–Gambino: exact for 1/(2n) <= x <= 1/n
        if t <= 0.5:
            return 1.0
        log_cdf = _log_factorial_over_power(n) + n * math.log(2 * t - 1) if n > 140 else None
        cdf = math.exp(log_cdf) if log_cdf is not None else _small_factorial_cdf(n, t)
        return 1.0 - cdf
    if t >= n - 1:
        return 2.0 * (1.0 - x) ** n
    if x >= 0.5:
        return 2.0 * smirnov_sf(n, x)
    nx2 = t * x
    if n <= 140:
        if nx2 <= 4.0:
            return 1.0 - _durbin_cdf(n, x)  # exact; scipy uses Pomeranz above 0.754693 (also exact)
        return 2.0 * smirnov_sf(n, x)
    if nx2 >= 370.0:
        return 0.0
    if nx2 >= 2.2:
        return 2.0 * smirnov_sf(n, x)
    if n <= 100_000 and n * x**1.5 <= 1.4:
        return 1.0 - _durbin_cdf(n, x)
    return 1.0 - _pelz_good_cdf(n, x)


def _small_factorial_cdf(n: int, t: float) -> float:
    k = np.arange(1, n + 1, dtype=np.float64)
    return float(np.prod(k * (1.0 / n) * (2 * t - 1)))


def smirnov_sf(n: int, x: float) -> float:
    """P(D_n^+ >= x), exact: the Birnbaum–Tingey sum.

    Each term C(n,j) p^(j-1) (1-p)^(n-j) with p = x + j/n is a binomial probability divided by
    p; evaluating those with Loader's saddle-point form (no large logs cancelling) keeps the
    sum accurate to ~1e-13 relative even at n = 10^6.
    """
    if x <= 0.0:
        return 1.0
    if x >= 1.0:
        return 0.0
    top = math.floor(n * (1.0 - x))
    j = np.arange(1, top + 1, dtype=np.float64)
    mean_hit = n * x + j  # n * p
    mean_miss = n * (1.0 - x) - j  # n * (1 - p)
    keep = mean_miss > 0
    j, mean_hit, mean_miss = j[keep], mean_hit[keep], mean_miss[keep]
    log_pmf = (
        _stirlerr(np.array([float(n)]))[0]
        - _stirlerr(j)
        - _stirlerr(n - j)
        - _bd0(j, mean_hit)
        - _bd0(n - j, mean_miss)
    )
    log_terms = log_pmf + 0.5 * np.log(n / (2 * math.pi * j * (n - j))) + np.log(n / mean_hit)
    head = (1.0 - x) ** n  # the j = 0 term, already multiplied by x
    if log_terms.size == 0:
        return float(head)
    big = log_terms > log_terms.max() - 60.0  # the rest is below 1e-26 of the largest term
    terms = np.sort(np.exp(log_terms[big]))  # numpy sums pairwise: error ~ log2(n) ulps
    return float(head + x * float(np.sum(terms)))


_STIRLERR_SERIES = (1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188)


def _stirlerr(k: Floats) -> Floats:
    """log(k!) - log(sqrt(2 pi k) (k/e)^k), accurate for every k >= 1."""
    out = np.empty_like(k)
    small = k <= 15
    for i in np.flatnonzero(small):
        v = float(k[i])
        out[i] = math.lgamma(v + 1) - (v + 0.5) * math.log(v) + v - 0.5 * math.log(2 * math.pi)
    big = k[~small]
    inv2 = 1.0 / (big * big)
    s0, s1, s2, s3, s4 = _STIRLERR_SERIES
    out[~small] = (s0 - (s1 - (s2 - (s3 - s4 * inv2) * inv2) * inv2) * inv2) / big
    return out


def _bd0(x: Floats, mean: Floats) -> Floats:
    """x log(x/mean) + mean - x without cancellation (Loader 2000)."""
    out = x * np.log(x / mean) + mean - x
    close = np.abs(x - mean) < 0.1 * (x + mean)
    if close.any():
        xc, mc = x[close], mean[close]
        v = (xc - mc) / (xc + mc)
        s = (xc - mc) * v
        term = 2 * xc * v
        v2 = v * v
        for i in range(1, 40):
            term = term * v2
            step = term / (2 * i + 1)
            s = s + step
            if np.all(np.abs(step) <= 1e-17 * np.abs(s)):
                break
        out[close] = s
    return out


def _durbin_cdf(n: int, d: float) -> float:
    """P(D_n < d) by Durbin's matrix method (Marsaglia, Tsang & Wang 2003), exact."""
    nd = n * d
    if nd <= 0.5:
        return 0.0
    k = math.ceil(nd)
    h = k - nd
    size = 2 * k - 1
    idx = np.arange(size)
    diff = idx[:, None] - idx[None, :] + 1  # H[i, j] = 1/(i-j+1)! where i-j+1 >= 0
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, size + 1)))])
    mat = np.where(diff >= 0, np.exp(-log_fact[np.clip(diff, 0, size)]), 0.0)
    powers = np.arange(1, size + 1, dtype=np.float64)
    first_col = (1.0 - h**powers) * np.exp(-log_fact[1 : size + 1])
    corner = (1.0 - 2 * h**size + max(2 * h - 1.0, 0.0) ** size) * math.exp(-log_fact[size])
    first_col[-1] = corner
    mat[:, 0] = first_col
    mat[-1, :] = first_col[::-1]
    result, exp2 = _scaled_power(mat, n, k - 1)
    p = result[k - 1, k - 1]
    log_p = (
        math.log(p) + exp2 * math.log(2.0) + _log_factorial_over_power(n) if p > 0 else -math.inf
    )
    return math.exp(log_p) if log_p > -745 else 0.0


def _scaled_power(mat: Floats, power: int, pivot: int) -> tuple[Floats, int]:
    """mat**power as (matrix, e) with the true value matrix * 2**e (keeps entries in range)."""
    result = np.eye(mat.shape[0])
    result_exp = 0
    base, base_exp = mat.copy(), 0
    while power:
        if power & 1:
            result = result @ base
            result_exp += base_exp
            scale = math.frexp(float(abs(result[pivot, pivot])) or 1.0)[1]
            result = np.ldexp(result, -scale)
            result_exp += scale
        power >>= 1
        if power:
            base = base @ base
            base_exp *= 2
            scale = math.frexp(float(abs(base[pivot, pivot])) or 1.0)[1]
            base = np.ldexp(base, -scale)
            base_exp += scale
    return result, result_exp


def _pelz_good_cdf(n: int, x: float) -> float:
    """Pelz–Good (1976) asymptotic series for P(D_n <= x), good for large n."""
    z = math.sqrt(n) * x
    z2 = z * z
    pi2 = math.pi**2
    q = math.exp(-pi2 / 8 / z2)
    if q == 0.0:
        return 0.0
    top = math.ceil(16 * z / math.pi)
    k = np.arange(1, top + 1, dtype=np.float64)
    odd2 = (2 * k - 1) ** 2
    w = q**odd2  # sum over odd integers (2k-1) of q^((2k-1)^2)
    k0 = np.sum(w)
    k1 = np.sum((pi2 * odd2 / 4 - z2) * w)
    k2 = np.sum(
        (
            (6 * z**6 + 2 * z**4)
            + (2 * z**4 - 5 * z2) * pi2 * odd2 / 4
            + pi2**2 * (1 - 2 * z2) * odd2**2 / 16
        )
        * w
    )
    k3 = np.sum(
        (
            (-30 * z**6 - 90 * z**8)
            + pi2 * (135 * z**4 - 96 * z**6) * odd2 / 4
            + pi2**2 * (-60 * z2 + 212 * z**4) * odd2**2 / 16
            + pi2**3 * (5 - 30 * z2) * odd2**3 / 64
        )
        * w
    )
    root = math.sqrt(2 * math.pi)
    terms = np.array([k0 / z, k1 / (6 * z**4), k2 / (72 * z**7), k3 / (6480 * z**10)]) * root
    q2 = np.exp(-pi2 / 2 / z2 * k**2)
    terms[2] += np.sum(k**2 * q2) * pi2 * root / (-36 * z**3)
    terms[3] += np.sum((3 * z2 - pi2 * k**2) * k**2 * q2) * pi2 * root / (216 * z**6)
    terms /= np.power(float(n), np.arange(4) / 2.0)
    return float(math.fsum(terms))
