"""``mlsre data check``: findings against a reference or a schema, severities and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mlsre.drift.load import load
from mlsre.drift.quality import check_file, duplicate_share
from mlsre.drift.samples import sample_paths
from tests.support.fixtures_drift import Writer
from tests.support.helpers import ok, run


def _by_check(findings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        out.setdefault(f["check"], []).append(f)
    return out


def test_reference_mode_finds_every_kind_of_problem(
    write: Writer, rng: np.random.Generator
) -> None:
    n = 1000
    ref = write(
        "ref.parquet",
        amount=rng.uniform(1, 100, n),
        country=list(rng.choice(["US", "GB"], n)),
        age=rng.integers(0, 90, n).astype(float),
        gone=rng.normal(size=n),
    )
    amount = rng.uniform(1, 100, 400)
    amount[:40] = 5000.0  # 10% out of range
    country = list(rng.choice(["US", "GB"], 400))
    country[:100] = ["XX"] * 100  # 25% unseen
    age = rng.integers(0, 90, 400).astype(float)
    age[rng.random(400) < 0.3] = np.nan  # null burst
    cur = write(
        "cur.parquet", amount=amount, country=country, age=list(map(str, age)), extra=np.zeros(400)
    )
    r = run("data", "check", str(cur), "--reference", str(ref), "--json")
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)
    found = _by_check(report["findings"])
    assert (
        found["missing-column"][0]["column"] == "gone"
        and found["missing-column"][0]["severity"] == "error"
    )
    assert found["unexpected-column"][0]["column"] == "extra"
    assert found["range"][0]["severity"] == "error" and "amount" in found["range"][0]["message"]
    assert (
        found["unseen-category"][0]["severity"] == "error"
        and "'XX'" in found["unseen-category"][0]["message"]
    )
    assert found["dtype"][0]["column"] == "age"  # text now: a type change
    assert found["rows"][0]["severity"] == "warning"  # 1000 -> 400 rows
    assert report["errors"] >= 4 and report["passed"] is False
    assert "data-quality error" in r.stderr


def test_null_increase_and_duplicates(write: Writer, rng: np.random.Generator) -> None:
    n = 500
    ref = write("ref.csv", x=rng.normal(size=n), k=[f"id{i}" for i in range(n)])
    x = rng.normal(size=n)
    x[:150] = np.nan
    k = [f"id{i}" for i in range(n)]  # null rows stay distinct rows
    x[400:450], k[400:450] = x[350:400], k[350:400]  # 50 duplicated rows
    cur = write("cur.csv", x=x, k=k)
    report = check_file(cur, reference=ref)
    checks = {f.check: f for f in report.findings}
    assert checks["nulls"].severity == "error" and "30.0%" in checks["nulls"].message
    assert checks["duplicates"].value is not None and 0.09 < checks["duplicates"].value < 0.11
    assert not report.passed


def test_duplicate_share_counts_repeats(write: Writer) -> None:
    path = write("d.parquet", a=[1.0, 1.0, 2.0, np.nan, np.nan], b=["x", "x", "x", "y", "y"])
    assert duplicate_share(load(path)) == 0.4


def test_clean_file_passes(write: Writer, rng: np.random.Generator) -> None:
    ref, _ = sample_paths()
    r = ok("data", "check", str(ref), "--reference", str(ref))
    assert "passed: 0 error(s), 0 warning(s)" in r.stdout


def test_bundled_current_fails_on_its_null_burst() -> None:
    ref, cur = sample_paths()
    r = run("data", "check", str(cur), "--reference", str(ref))
    assert r.exit_code == 1, r.output
    assert "device_score: null share rose" in r.stdout


def test_schema_mode(tmp_path: Path, write: Writer, rng: np.random.Generator) -> None:
    schema = tmp_path / "schema.yaml"
    schema.write_text(
        "columns:\n"
        "  amount: {type: numeric, min: 0, max: 100, max_null_share: 0.0}\n"
        "  country: {type: categorical, values: [US, GB]}\n"
        "  optional: {type: numeric, required: false}\n"
        "allow_extra_columns: false\n"
        "min_rows: 10\n"
    )
    good = write("good.csv", amount=rng.uniform(0, 100, 50), country=["US", "GB"] * 25)
    assert check_file(good, schema=schema).passed
    bad = write("bad.csv", amount=[-5.0, 1.0, None], country=["US", "FR", "GB"], more=[1, 2, 3])
    report = check_file(bad, schema=schema)
    checks = {f.check for f in report.findings}
    assert {"nulls", "range", "unseen-category", "unexpected-column", "rows"} <= checks
    missing = [f for f in report.findings if f.check == "missing-column"]
    assert missing and missing[0].severity == "info"  # optional column
    r = run("data", "check", str(bad), "--schema", str(schema))
    assert r.exit_code == 1, r.output


def test_schema_errors_point_at_the_line(tmp_path: Path, write: Writer) -> None:
    schema = tmp_path / "schema.yaml"
    schema.write_text("columns:\n  amount:\n    type: number\n")
    data = write("d.csv", amount=[1.0, 2.0])
    r = run("data", "check", str(data), "--schema", str(schema))
    assert r.exit_code == 1, r.output
    assert "schema.yaml:3" in r.stderr and "Traceback" not in r.output


def test_usage_and_bad_file_errors(tmp_path: Path, write: Writer) -> None:
    data = write("d.csv", amount=[1.0, 2.0])
    r = run("data", "check", str(data), "--schema", "s.yaml", "--reference", str(data))
    assert r.exit_code == 2 and "not both" in r.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    r = run("data", "check", str(empty))
    assert r.exit_code == 1 and "empty" in r.stderr and "Traceback" not in r.output


def test_all_null_column_is_an_error(write: Writer) -> None:
    path = write("n.parquet", x=np.full(10, np.nan), y=np.arange(10.0))
    report = check_file(path)
    assert [f.check for f in report.findings] == ["all-null"] and not report.passed


def test_storage_type_change_is_a_warning_but_parquet_vs_csv_text_is_not(write: Writer) -> None:
    ref = write("ref.parquet", age=[30, 41, 52], city=["Oslo", "Rome", "Oslo"])
    cur = write("cur.csv", age=[30.5, 41.0, 52.0], city=["Oslo", "Rome", "Rome"])
    report = check_file(cur, reference=ref)
    dtype = [f for f in report.findings if f.check == "dtype"]
    assert [(f.column, f.severity) for f in dtype] == [("age", "warning")]
    assert "double" in dtype[0].message and "int64" in dtype[0].message
    assert report.passed
