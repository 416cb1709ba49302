"""The canary statistics against scipy (exact and asymptotic) and against R's construction of
the Hodges-Lehmann interval, written out here the slow way; plus the edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as ss
from scipy.spatial.distance import jensenshannon

from mlsre.canary import stats
from mlsre.canary.classify import Classification, compare_distribution, compare_series
from mlsre.canary.config import CanaryMetric

values = st.lists(
    st.floats(min_value=-1e3, max_value=1e3, allow_nan=False).map(lambda v: round(v, 1)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(values, values)
def test_asymptotic_matches_scipy_with_ties(x: list[float], y: list[float]) -> None:
    a, b = np.array(x), np.array(y)
    ours = stats.mann_whitney(a, b, method=stats.Method.ASYMPTOTIC)
    theirs = ss.mannwhitneyu(a, b, method="asymptotic", alternative="two-sided")
    assert ours.u == pytest.approx(float(theirs.statistic), abs=1e-9)
    expected = float(theirs.pvalue) if math.isfinite(theirs.pvalue) else 1.0
    assert ours.pvalue == pytest.approx(expected, rel=1e-9, abs=1e-15)


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 12), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_exact_matches_scipy(n1: int, n2: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, n1), rng.normal(0.7, 1, n2)
    ours = stats.mann_whitney(a, b, method=stats.Method.EXACT)
    theirs = ss.mannwhitneyu(a, b, method="exact", alternative="two-sided")
    assert ours.u == float(theirs.statistic)
    assert ours.pvalue == pytest.approx(float(theirs.pvalue), rel=1e-9, abs=1e-15)


def test_auto_picks_exact_for_small_samples_without_ties_like_scipy() -> None:
    a, b = np.array([1.0, 2.5, 3.1]), np.array([2.0, 4.0, 5.5, 6.1, 7.2])
    assert stats.mann_whitney(a, b).method is stats.Method.EXACT
    assert stats.mann_whitney(a, b).pvalue == pytest.approx(
        float(ss.mannwhitneyu(a, b, method="auto").pvalue)
    )
    tied = np.array([1.0, 2.0, 2.0])
    assert stats.mann_whitney(tied, b).method is stats.Method.ASYMPTOTIC


def _r_interval(x: np.ndarray, y: np.ndarray, conf: float) -> tuple[float, float, float]:
    """R's wilcox.test(conf.int=TRUE) asymptotic interval, by its own definition: the shifts
    where the continuity-corrected, tie-corrected standardised rank sum crosses +-z."""
    z = ss.norm.ppf(1 - (1 - conf) / 2)
    n, m = x.size, y.size

    def wdiff(d: float, zq: float) -> float:
        r = ss.rankdata(np.concatenate([x - d, y]))
        dz = r[:n].sum() - n * (n + 1) / 2 - n * m / 2
        _, t = np.unique(r, return_counts=True)
        sigma = math.sqrt(n * m / 12 * ((n + m + 1) - np.sum(t**3 - t) / ((n + m) * (n + m - 1))))
        return float((dz - np.sign(dz) * 0.5) / sigma - zq)

    diffs = np.unique(np.subtract.outer(x, y).ravel())

    def root(zq: float) -> float:
        # the standardised sum only jumps at pairwise differences: the root is the first
        # difference after which it is at or below zq (between differences, no extra ties)
        mids = np.concatenate([(diffs[:-1] + diffs[1:]) / 2, [diffs[-1] + 1.0]])
        for d, mid in zip(diffs, mids, strict=True):
            if wdiff(mid, zq) <= 0:
                return float(d)
        return float(diffs[-1])

    return root(z), root(-z), float(np.median(np.subtract.outer(x, y)))


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 30), st.integers(2, 30), st.integers(0, 2**32 - 1), st.booleans())
def test_hodges_lehmann_interval_is_rs_construction(n: int, m: int, seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(0.5, 1, n), rng.normal(0, 1, m)
    if ties:
        x, y = np.round(x, 1), np.round(y, 1)
    if np.unique(np.concatenate([x, y])).size < 2:
        return
    shift = stats.hodges_lehmann(x, y, confidence=0.98)
    low, high, estimate = _r_interval(x, y, 0.98)
    assert shift.estimate == pytest.approx(estimate)
    assert shift.low == pytest.approx(low)
    assert shift.high == pytest.approx(high)
    assert shift.low <= shift.estimate <= shift.high


@pytest.mark.parametrize("shape", ["normal", "rounded", "integers", "lognormal", "offset"])
def test_large_samples_select_without_building_all_differences(shape: str) -> None:
    """The band search (used above 20,000 pairs) against sorting all the differences, on
    ties, heavy tails and large offsets (where x - (x - y) does not round back to y)."""
    rng = np.random.default_rng(len(shape))
    for _ in range(8):
        n, m = (int(v) for v in rng.integers(150, 400, 2))
        x, y = rng.normal(0.3, 1.5, n), rng.normal(0, 1, m)
        if shape == "rounded":
            x, y = np.round(x, 1), np.round(y, 1)
        elif shape == "integers":
            x, y = np.round(x), np.round(y)
        elif shape == "lognormal":
            x, y = rng.lognormal(0, 2, n), rng.lognormal(0, 2, m)
        elif shape == "offset":
            x, y = x + 1e6, y + 1e6
        xs, ys = np.sort(x), np.sort(y)
        diffs = np.sort(np.subtract.outer(xs, ys).ravel())
        ks = [1, 2, diffs.size // 2, diffs.size - 1, diffs.size]
        ks += [int(k) for k in rng.integers(1, diffs.size + 1, 5)]
        got = stats.kth_differences(xs, ys, ks)
        for k in ks:
            assert got[k] == pytest.approx(diffs[k - 1], rel=1e-12, abs=1e-12), (shape, k)


def test_band_search_gives_the_interval_of_the_full_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(11)
    x, y = np.round(rng.normal(1.05, 0.2, 481), 3), np.round(rng.normal(1.0, 0.2, 481), 3)
    banded = stats.hodges_lehmann(x, y)
    monkeypatch.setattr(stats, "SMALL", 10**9)  # build all 231,361 differences instead
    assert stats.hodges_lehmann(x, y) == banded


def _metric(**kw: object) -> CanaryMetric:
    return CanaryMetric.model_validate({"name": "m", "query": "q", **kw})


def test_edge_cases_classify_without_crashing() -> None:
    m = _metric()
    empty = np.array([])
    one_sided = compare_series(m, empty, np.array([1.0, 2.0]))
    assert one_sided.classification is Classification.NODATA
    assert "no canary data" in one_sided.reason
    nan_only = compare_series(m, np.array([np.nan, np.inf]), np.array([1.0]))
    assert nan_only.classification is Classification.NODATA
    assert nan_only.canary.dropped == 2
    constant = compare_series(m, np.full(30, 0.2), np.full(50, 0.2))
    assert constant.classification is Classification.PASS
    identical = compare_series(m, np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]))
    assert identical.classification is Classification.PASS
    assert "identical" in identical.reason
    short = compare_series(m, np.array([9.0]), np.array([1.0]))
    assert short.classification is Classification.PASS  # one point each proves nothing
    assert short.pvalue == 1.0
    with_nan = compare_series(m, np.array([5.0, np.nan] * 30), np.array([1.0, 1.1] * 30))
    assert with_nan.canary.dropped == 30 and with_nan.canary.points == 30


def test_direction_and_tolerance_decide() -> None:
    rng = np.random.default_rng(5)
    base = rng.normal(100, 5, 200)
    up = rng.normal(130, 5, 200)
    assert compare_series(_metric(), up, base).classification is Classification.HIGH
    assert compare_series(_metric(direction="decrease"), up, base).classification == "Pass"
    assert compare_series(_metric(direction="either"), base, up).classification == "Low"
    # a real 30% shift is within a 50% tolerance
    assert compare_series(_metric(tolerance=0.5), up, base).classification == "Pass"
    # a baseline centred on 0 (no errors): any significant increase is beyond tolerance
    zeros, some = np.zeros(100), np.full(100, 0.01)
    assert compare_series(_metric(), some, zeros).classification is Classification.HIGH


def test_distribution_psi_and_js_from_buckets() -> None:
    from mlsre.drift import stats as drift

    base = {0.5: 70.0, 1.0: 30.0, math.inf: 0.0}
    same = {0.5: 7.0, 1.0: 3.0, math.inf: 0.0}
    moved = {0.5: 3.0, 1.0: 7.0, math.inf: 0.0}
    psi = _metric(type="distribution", method="psi", threshold=0.1)
    assert compare_distribution(psi, same, base).classification is Classification.PASS
    shifted = compare_distribution(psi, moved, base)
    assert shifted.classification is Classification.HIGH
    b, c = np.array([0.7, 0.3, 0.0]), np.array([0.3, 0.7, 0.0])
    assert shifted.distance == pytest.approx(drift.psi(b, c))
    js = compare_distribution(_metric(type="distribution", method="js"), moved, base)
    assert js.distance == pytest.approx(float(jensenshannon([0.7, 0.3], [0.3, 0.7])))
    assert compare_distribution(psi, {}, base).classification is Classification.NODATA
