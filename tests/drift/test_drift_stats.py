"""The statistics agree with scipy to 1e-9 relative, and PSI with hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st
from scipy.spatial.distance import jensenshannon
from scipy.special import smirnov

from mlsre.drift import stats
from mlsre.drift.ks import EXACT_MAX_N, kolmogorov_sf, ks_2samp, smirnov_sf

REL = 1e-9

SIZES = [
    (10, 12, 0.0),  # exact, unequal sizes
    (50, 50, 0.0),  # exact, equal sizes (reflection formula)
    (300, 500, 0.1),
    (1000, 999, 0.0),
    (30, 47, 0.6),  # exact, small p-value
    (3000, 2000, 0.05),
    (9000, EXACT_MAX_N, 0.02),  # largest exact case
    (20_000, 15_000, 0.0),  # asymptotic: Pelz–Good
    (20_000, 15_000, 0.05),  # asymptotic: Smirnov's one-sided formula
    (60, 20_000, 0.0),  # asymptotic with n <= 140: Durbin matrix
    (60, 20_000, 0.4),
    (200_000, 150_000, 0.01),
    (100_000, 100_000, 0.0),
]


@pytest.mark.parametrize(("n1", "n2", "shift"), SIZES)
def test_ks_matches_scipy(n1: int, n2: int, shift: float, rng: np.random.Generator) -> None:
    a = np.sort(rng.normal(size=n1))
    b = np.sort(rng.normal(shift, 1.0, size=n2))
    mine = ks_2samp(a, b)
    ref = st.ks_2samp(a, b)
    assert mine.statistic == pytest.approx(ref.statistic, rel=REL)
    assert mine.pvalue == pytest.approx(ref.pvalue, rel=REL)
    assert mine.exact == (max(n1, n2) <= EXACT_MAX_N)


def test_ks_with_ties_matches_scipy(rng: np.random.Generator) -> None:
    a = np.sort(rng.integers(0, 20, size=700).astype(float))
    b = np.sort(rng.integers(1, 21, size=450).astype(float))
    mine, ref = ks_2samp(a, b), st.ks_2samp(a, b)
    assert mine.statistic == pytest.approx(ref.statistic, rel=REL)
    assert mine.pvalue == pytest.approx(ref.pvalue, rel=REL)


@pytest.mark.parametrize("n", [3, 80, 140, 141, 1000, 5000, 100_000])
def test_kolmogorov_distribution_matches_scipy(n: int) -> None:
    for z in np.linspace(0.2, 3.2, 11):
        x = float(z / math.sqrt(n))
        if x >= 1:
            continue
        assert kolmogorov_sf(n, x) == pytest.approx(st.kstwo.sf(x, n), rel=REL, abs=1e-300), (n, z)


@pytest.mark.parametrize(
    ("n", "zs"), [(5, (0.5, 1.0, 1.5)), (150, (0.5, 1.5, 2.5)), (1_000_000, (1.5,))]
)
def test_smirnov_matches_scipy(n: int, zs: tuple[float, ...]) -> None:
    for z in zs:
        x = z / math.sqrt(n)
        if x >= 1:
            continue
        assert smirnov_sf(n, x) == pytest.approx(smirnov(n, x), rel=REL)


@pytest.mark.parametrize(("n1", "n2"), [(5, 7), (100, 100), (1000, 333), (1, 3), (20_000, 19_000)])
def test_wasserstein_matches_scipy(n1: int, n2: int, rng: np.random.Generator) -> None:
    a = np.sort(rng.lognormal(size=n1))
    b = np.sort(rng.normal(0.3, 1.0, size=n2))
    assert stats.wasserstein(a, b) == pytest.approx(st.wasserstein_distance(a, b), rel=REL)


def test_jensen_shannon_matches_scipy(rng: np.random.Generator) -> None:
    for k in (2, 5, 40):
        p = rng.random(k)
        q = rng.random(k)
        q[0] = 0.0  # an empty category on one side
        assert stats.jensen_shannon(p, q) == pytest.approx(float(jensenshannon(p, q)), rel=REL)


def test_chi2_matches_scipy_chisquare(rng: np.random.Generator) -> None:
    for k in (2, 3, 12, 60):
        ref = rng.integers(50, 500, size=k)
        cur = rng.integers(50, 500, size=k)
        stat, p = stats.chi2_goodness(ref, cur)
        expected = ref * cur.sum() / ref.sum()
        want = st.chisquare(cur, expected)
        assert stat == pytest.approx(want.statistic, rel=REL)
        assert p == pytest.approx(want.pvalue, rel=REL)


def test_chi2_unseen_category_is_certain_drift() -> None:
    stat, p = stats.chi2_goodness(np.array([10, 0]), np.array([5, 5]))
    assert math.isinf(stat) and p == 0.0


@pytest.mark.parametrize(
    ("a", "x"), [(0.5, 0.1), (1.0, 3.0), (5.5, 2.0), (30.0, 45.0), (200.0, 150.0)]
)
def test_gamma_q_matches_scipy(a: float, x: float) -> None:
    assert stats.gamma_q(a, x) == pytest.approx(st.gamma.sf(x, a), rel=REL)


def test_z_test_matches_normal_tail() -> None:
    z, p = stats.z_test_proportions(420, 1000, 480, 1000)
    pooled = 900 / 2000
    want_z = (0.42 - 0.48) / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert z == pytest.approx(want_z, rel=REL)
    assert p == pytest.approx(2 * st.norm.sf(abs(want_z)), rel=REL)


def test_psi_hand_computed() -> None:
    # two bins: 50/50 -> 25/75
    want = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert stats.psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(want, rel=1e-12)
    # an empty reference bin takes the documented floor (1e-4)
    floor = stats.PSI_FLOOR
    want = 2 * (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.2 - floor) * math.log(0.2 / floor)
    got = stats.psi(np.array([0.5, 0.5, 0.0]), np.array([0.4, 0.4, 0.2]))
    assert got == pytest.approx(want, rel=1e-12)
    assert stats.psi(np.array([0.3, 0.7]), np.array([0.3, 0.7])) == 0.0


def test_psi_on_reference_quantile_bins_hand_computed() -> None:
    ref = np.arange(100, dtype=float)  # deciles: ten bins of 10 values
    cur = np.arange(100, dtype=float) + 10  # first bin empties, the last doubles
    edges = stats.quantile_edges(ref, 10)
    assert edges.size == 9
    ref_share = stats.shares(stats.counts_inner(ref, edges))
    cur_share = stats.shares(stats.counts_inner(cur, edges))
    assert list(ref_share) == [0.1] * 10
    assert list(cur_share) == [0.0] + [0.1] * 8 + [0.2]
    want = (stats.PSI_FLOOR - 0.1) * math.log(stats.PSI_FLOOR / 0.1) + 0.1 * math.log(2)
    assert stats.psi(ref_share, cur_share) == pytest.approx(want, rel=1e-12)


def test_sturges_bins_match_numpy_histogram(rng: np.random.Generator) -> None:
    a = np.sort(rng.normal(size=3000))
    b = np.sort(rng.normal(0.2, 1.0, size=2000))
    edges = stats.sturges_edges(a, b)
    want_edges = np.histogram_bin_edges(np.concatenate([a, b]), bins="sturges")
    np.testing.assert_allclose(edges, want_edges, rtol=1e-12)
    np.testing.assert_array_equal(stats.counts_closed(a, edges), np.histogram(a, want_edges)[0])


def test_corrections_match_scipy(rng: np.random.Generator) -> None:
    p = list(rng.random(12) ** 3)
    bh = stats.adjust_pvalues(p, "bh")
    np.testing.assert_allclose(bh, st.false_discovery_control(p, method="bh"), rtol=REL)
    bonf = stats.adjust_pvalues(p, "bonferroni")
    np.testing.assert_allclose(bonf, np.minimum(np.array(p) * 12, 1.0), rtol=REL)
    assert stats.adjust_pvalues(p, "none") == p
