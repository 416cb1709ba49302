"""Verdicts on synthetic data with known shifts are right in both directions, at 1k and 1M rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlsre.drift.compare import ColumnStatus, CompareOptions, DriftReport, compare_files
from mlsre.drift.methods import Method
from tests.support.fixtures_drift import Writer

CATS = np.array(["visa", "mastercard", "amex"])


def _columns(rng: np.random.Generator, n: int, drifted: bool) -> dict[str, object]:
    def normal(mu: float = 0.0, sigma: float = 1.0) -> np.ndarray:
        return rng.normal(mu, sigma, n)

    def with_nulls(share: float) -> np.ndarray:
        x = normal()
        x[rng.random(n) < share] = np.nan
        return x

    mix_before, mix_after = [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]
    return {
        "mean_same": normal(),
        "mean_up": normal(0.5 if drifted else 0.0),
        "mean_down": normal(-0.5 if drifted else 0.0),
        "scale_same": normal(),
        "scale_up": normal(sigma=1.6 if drifted else 1.0),
        "scale_down": normal(sigma=0.6 if drifted else 1.0),
        "cat_same": CATS[rng.choice(3, n, p=mix_before)],
        "cat_mix": CATS[rng.choice(3, n, p=mix_after if drifted else mix_before)],
        "null_same": with_nulls(0.01),
        "null_burst": with_nulls(0.30 if drifted else 0.01),
        "tiny_shift": normal(0.01 if drifted else 0.0),  # real, but nobody should be paged for it
    }


DRIFTED = {"mean_up", "mean_down", "scale_up", "scale_down", "cat_mix", "null_burst"}


def _pair(write: Writer, rng: np.random.Generator, n: int) -> tuple[Path, Path]:
    ref = write(f"ref_{n}.parquet", **_columns(rng, n, drifted=False))
    cur = write(f"cur_{n}.parquet", **_columns(rng, n, drifted=True))
    return ref, cur


def _verdicts(report: DriftReport) -> dict[str, bool]:
    return {c.column: c.status is ColumnStatus.DRIFT for c in report.columns}


@pytest.mark.parametrize("n", [1_000, pytest.param(1_000_000, marks=pytest.mark.slow)])
def test_auto_rule_flags_real_shifts_only(n: int, write: Writer, rng: np.random.Generator) -> None:
    ref, cur = _pair(write, rng, n)
    report = compare_files(ref, cur, CompareOptions())
    verdicts = _verdicts(report)
    want = {name: name in DRIFTED for name in verdicts}
    assert verdicts == want
    methods = {c.column: c.method for c in report.columns}
    if n == 1_000:  # small: tests with p-values
        assert methods["mean_up"] == "ks" and methods["cat_mix"] == "chi2"
    else:  # large: distances that do not grow with n
        assert methods["mean_up"] == "psi" and methods["cat_mix"] == "js"
    assert report.dataset_drift == (len(DRIFTED) / len(verdicts) >= 0.5)


def test_same_files_never_drift(write: Writer, rng: np.random.Generator) -> None:
    ref = write("ref.parquet", **_columns(rng, 5000, drifted=False))
    for method in ("auto", "evidently", "psi", "js", "wasserstein"):
        opts = CompareOptions(method=Method(method), categorical=set())
        if method in ("wasserstein",):
            opts.columns = ["mean_same", "scale_up", "null_burst"]
        report = compare_files(ref, ref, opts)
        assert report.drifted_columns == 0, method
        assert not report.dataset_drift


@pytest.mark.slow
def test_at_a_million_rows_p_values_flag_a_trivial_shift_but_auto_does_not(
    write: Writer, rng: np.random.Generator
) -> None:
    n = 1_000_000
    ref = write("ref.parquet", x=rng.normal(0.0, 1.0, n))
    cur = write("cur.parquet", x=rng.normal(0.01, 1.0, n))
    ks = compare_files(ref, cur, CompareOptions(method=Method.KS)).columns[0]
    auto = compare_files(ref, cur, CompareOptions()).columns[0]
    assert ks.status is ColumnStatus.DRIFT and ks.pvalue is not None and ks.pvalue < 0.05
    assert auto.method == "psi" and auto.status is ColumnStatus.OK


def test_null_burst_is_explained(write: Writer, rng: np.random.Generator) -> None:
    ref, cur = _pair(write, rng, 1_000)
    report = compare_files(ref, cur, CompareOptions(columns=["null_burst", "null_same"]))
    burst = report.columns[0]
    assert burst.status is ColumnStatus.DRIFT
    assert "null share" in burst.note
    assert burst.cur_null_share > 0.2 > burst.ref_null_share
    assert report.columns[1].status is ColumnStatus.OK


def test_corrections_make_verdicts_stricter(write: Writer, rng: np.random.Generator) -> None:
    n = 400
    cols_ref = {f"c{i}": rng.normal(0, 1, n) for i in range(10)}
    cols_cur = {f"c{i}": rng.normal(0.12 if i < 3 else 0.0, 1, n) for i in range(10)}
    ref = write("ref.csv", **cols_ref)
    cur = write("cur.csv", **cols_cur)
    counts = {}
    for how in ("none", "bh", "bonferroni"):
        report = compare_files(ref, cur, CompareOptions(correction=how))
        counts[how] = report.drifted_columns
        adjusted = [c.adjusted_pvalue for c in report.columns]
        raw = [c.pvalue for c in report.columns]
        assert all(
            a is not None and r is not None and a >= r for a, r in zip(adjusted, raw, strict=True)
        )
    assert counts["none"] >= counts["bh"] >= counts["bonferroni"]
