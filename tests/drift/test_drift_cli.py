"""``mlsre drift compare`` through the CLI: output, JSON, exit codes, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlsre.drift.samples import sample_paths, write_samples
from tests.support.fixtures_drift import Writer
from tests.support.helpers import ok, run


def test_bundled_sample_shows_drift_per_column() -> None:
    ref, cur = sample_paths()
    r = ok("drift", "compare", str(ref), str(cur))
    lines = r.stdout.splitlines()
    assert lines[1].split("\t")[:7] == [
        "column",
        "kind",
        "method",
        "statistic",
        "p-value",
        "threshold",
        "verdict",
    ]
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[2:] if "\t" in line}
    assert rows["account_age_days"][6] == "drift"
    assert rows["country"][6] == "ok"
    assert "|" in rows["amount"][7]  # the ref | cur histogram
    assert "null share" in r.stdout  # device_score's null burst explained
    assert "dataset: DRIFT" in r.stdout


def test_bundled_sample_is_what_the_generator_writes(tmp_path: Path) -> None:
    ref, cur = write_samples(tmp_path)
    shipped_ref, shipped_cur = sample_paths()
    assert ref.read_bytes() == shipped_ref.read_bytes()
    assert cur.read_bytes() == shipped_cur.read_bytes()
    assert shipped_ref.stat().st_size + shipped_cur.stat().st_size < 300_000


def test_json_and_fail_on_drift() -> None:
    ref, cur = sample_paths()
    r = run("drift", "compare", str(ref), str(cur), "--json", "--fail-on-drift")
    assert r.exit_code == 1, r.output
    data = json.loads(r.stdout)
    assert data["dataset_drift"] is True
    assert {c["column"] for c in data["columns"]} >= {"amount", "country"}
    assert "dataset drift" in r.stderr
    same = ok("drift", "compare", str(ref), str(ref), "--json", "--fail-on-drift")
    assert json.loads(same.stdout)["drifted_columns"] == 0


def test_per_column_method_threshold_and_columns() -> None:
    ref, cur = sample_paths()
    args = ["drift", "compare", str(ref), str(cur), "--json", "--columns", "amount,country"]
    data = json.loads(ok(*args, "-m", "ks", "-m", "country=chi2", "-t", "amount=0.001").stdout)
    cols = {c["column"]: c for c in data["columns"]}
    assert set(cols) == {"amount", "country"}
    assert cols["amount"]["method"] == "ks" and cols["amount"]["threshold"] == 0.001
    assert cols["country"]["method"] == "chi2" and cols["country"]["pvalue"] is not None


def test_evidently_binning_and_sample() -> None:
    ref, cur = sample_paths()
    data = json.loads(
        ok(
            "drift", "compare", str(ref), str(cur), "--json", "-m", "psi", "--binning", "evidently"
        ).stdout
    )
    amount = next(c for c in data["columns"] if c["column"] == "amount")
    assert len(amount["hist_ref"]) == int(np.ceil(np.log2(6000))) + 1  # Sturges over both files
    sampled = json.loads(
        ok("drift", "compare", str(ref), str(cur), "--json", "--sample", "500").stdout
    )
    assert sampled["ref_rows"] == 500 and sampled["cur_rows"] == 500


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "median"], "unknown method"),
        (["--correction", "holm"], "unknown"),
        (["-t", "high"], "not a number"),
        (["--binning", "fancy"], "unknown"),
        (["--drift-share", "0"], "--drift-share"),
        (["-m", "nope=psi"], "'nope', which is not compared"),
        (["-t", "amount=0.1", "-t", "gone=0.2"], "'gone'"),
    ],
)
def test_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    ref, cur = sample_paths()
    r = run("drift", "compare", str(ref), str(cur), *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and "Traceback" not in r.output


def _fails(*args: str, code: int = 1) -> str:
    r = run("drift", "compare", *args)
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output and r.stderr.startswith("error: ")
    return str(r.stderr)


def test_bad_files_give_one_clear_line(
    tmp_path: Path, write: Writer, rng: np.random.Generator
) -> None:
    good = write("good.csv", x=rng.normal(size=50), c=["a", "b"] * 25)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in _fails(str(empty), str(good))
    header = tmp_path / "header.csv"
    header.write_text("x,c\n")
    assert "no rows" in _fails(str(header), str(good))
    assert "no such file" in _fails(str(tmp_path / "missing.csv"), str(good))
    fake = tmp_path / "fake.parquet"
    fake.write_text("x,c\n1,a\n")
    err = _fails(str(fake), str(good))
    assert "not a Parquet file" in err and ".csv" in err
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"PAR1\x00\x01\x02")
    assert "binary data" in _fails(str(binary), str(good))
    weird = tmp_path / "data.xlsx"
    weird.write_text("x")
    assert "unknown file type" in _fails(str(weird), str(good))
    one = write("one.csv", x=[1.0], c=["a"])
    assert "only one row" in _fails(str(one), str(good))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("x,c\n1,a\n2,b,extra\n")
    assert "cannot read as CSV" in _fails(str(ragged), str(good))
    not_jsonl = tmp_path / "list.jsonl"
    not_jsonl.write_text("[1, 2, 3]\n")
    assert "not JSON Lines" in _fails(str(not_jsonl), str(good))
    twice = tmp_path / "twice.csv"
    twice.write_text("x,x\n1,2\n3,4\n")
    assert "appears more than once" in _fails(str(twice), str(good))
    gz = tmp_path / "packed.csv"
    gz.write_bytes(b"\x1f\x8b\x08\x00" + bytes(20))
    assert "gzip" in _fails(str(gz), str(good))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"x": 1}\n{"x": 2\n')
    assert "cannot read as JSONL" in _fails(str(broken), str(good))


def test_mismatched_columns(write: Writer, rng: np.random.Generator) -> None:
    ref = write("ref.csv", x=rng.normal(size=100), y=rng.normal(size=100))
    other = write("other.csv", a=rng.normal(size=100))
    assert "no column in common" in _fails(str(ref), str(other))
    partial = write("partial.csv", x=rng.normal(size=100), z=rng.normal(size=100))
    data = json.loads(ok("drift", "compare", str(ref), str(partial), "--json").stdout)
    assert [c["column"] for c in data["columns"]] == ["x"]
    assert any("only in reference" in w for w in data["warnings"])
    assert "no column 'nope'" in _fails(str(ref), str(partial), "--columns", "nope")


def test_text_in_a_numeric_column(write: Writer, rng: np.random.Generator) -> None:
    ref = write("ref.csv", amount=rng.normal(size=100))
    values = [f"{v:.3f}" for v in rng.normal(size=100)]
    values[17] = "twelve"
    cur = write("cur.csv", amount=values)
    err = _fails(str(ref), str(cur))
    assert "non-numeric text" in err and "'twelve'" in err
    assert "--categorical amount" in err


def test_all_nan_and_constant_columns(write: Writer, rng: np.random.Generator) -> None:
    n = 200
    ref = write("ref.parquet", x=rng.normal(size=n), gone=np.full(n, np.nan), flat=np.ones(n))
    cur = write("cur.parquet", x=rng.normal(size=n), gone=np.full(n, np.nan), flat=np.ones(n))
    data = json.loads(ok("drift", "compare", str(ref), str(cur), "--json").stdout)
    cols = {c["column"]: c for c in data["columns"]}
    assert cols["gone"]["status"] == "error" and "no usable value" in cols["gone"]["note"]
    assert cols["flat"]["status"] == "ok" and "constant" in cols["flat"]["note"]
    assert data["evaluated_columns"] == 2
    only_nan = write("nan.parquet", gone=np.full(n, np.nan))
    assert "no column could be compared" in _fails(str(only_nan), str(only_nan))


def test_nan_and_infinities_are_counted_then_excluded(
    write: Writer, rng: np.random.Generator
) -> None:
    x = rng.normal(size=300)
    y = rng.normal(size=300)
    y[:5] = np.inf
    y[5:8] = -np.inf
    y[8:20] = np.nan
    ref = write("ref.parquet", x=x)
    cur = write("cur.parquet", x=y)
    col = json.loads(ok("drift", "compare", str(ref), str(cur), "--json").stdout)["columns"][0]
    assert col["cur_inf"] == 8 and col["cur_values"] == 280
    assert col["cur_null_share"] == pytest.approx(12 / 300)


def test_jsonl_and_parquet_inputs_give_the_same_numbers(
    write: Writer, rng: np.random.Generator
) -> None:
    a, b = rng.normal(size=400), rng.normal(0.3, 1, size=400)
    cats_a, cats_b = list(rng.choice(["x", "y", "z"], 400)), list(rng.choice(["x", "y"], 400))
    results = []
    for ext in ("csv", "parquet", "jsonl"):
        ref = write(f"ref.{ext}", v=a, k=cats_a)
        cur = write(f"cur.{ext}", v=b, k=cats_b)
        data = json.loads(ok("drift", "compare", str(ref), str(cur), "--json").stdout)
        results.append([(c["column"], c["statistic"], c["pvalue"]) for c in data["columns"]])
    assert results[0] == results[1] == results[2]


def test_terminal_view_has_colour_and_sparklines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLSRE_FORCE_TERMINAL", "1")
    monkeypatch.setenv("COLUMNS", "160")
    ref, cur = sample_paths()
    r = ok("drift", "compare", str(ref), str(cur))
    assert "▁" in r.stdout or "█" in r.stdout
    assert "dataset: DRIFT" in r.stdout


def test_nested_json_columns_are_reported_not_crashed_on(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    rows = [f'{{"a": {i}, "b": {{"x": {i}}}, "c": [{i}]}}' for i in range(20)]
    path.write_text("\n".join(rows) + "\n")
    data = json.loads(ok("drift", "compare", str(path), str(path), "--json").stdout)
    status = {c["column"]: c["status"] for c in data["columns"]}
    assert status == {"a": "ok", "b": "error", "c": "error"}
    assert any("struct" in w for w in data["warnings"])
    check = json.loads(ok("data", "check", str(path), "--json").stdout)
    assert [f["check"] for f in check["findings"]] == ["unsupported", "unsupported"]
