"""``mlsre chaos corrupt``: each fault does exactly what it says, on 100,000 rows."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support.fixtures_drift import write_table
from tests.support.helpers import ok, run, strict_json

N = 100_000


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(5)
    folder = tmp_path_factory.mktemp("chaos")
    ts = np.datetime64("2026-11-01") + np.arange(N).astype("timedelta64[m]")
    cols = {
        "ts": pa.array(ts.astype("datetime64[us]")),
        "amount": rng.lognormal(3, 1, N),
        "age": rng.integers(18, 90, N),
        "country": list(rng.choice(["US", "GB", "DE"], N)),
        "label": (rng.random(N) < 0.05).astype(np.int64),
    }
    path = folder / "in.parquet"
    pq.write_table(pa.table(cols), path)
    return path


def _corrupt(src: Path, dst: Path, *faults: str, seed: int = 1) -> dict[str, object]:
    args = ["chaos", "corrupt", str(src), str(dst), "--seed", str(seed), "--json"]
    for f in faults:
        args += ["--fault", f]
    out: dict[str, object] = strict_json(ok(*args).stdout)
    return out


def _read(path: Path) -> pa.Table:
    return pq.read_table(path)


@pytest.mark.parametrize("mechanism", ["mcar", "mar", "mnar"])
def test_missing_share_within_one_point(data: Path, tmp_path: Path, mechanism: str) -> None:
    out = tmp_path / "o.parquet"
    rep = _corrupt(data, out, f"missing:column=amount,share=0.3,mechanism={mechanism}")
    before, after = _read(data), _read(out)
    nulls = after.column("amount").null_count / N
    assert abs(nulls - 0.3) < 0.01
    assert rep["faults"][0]["rows_touched"] == after.column("amount").null_count  # type: ignore[index]
    for other in ("ts", "age", "country", "label"):
        assert after.column(other).equals(before.column(other))
    amount = before.column("amount").to_numpy()
    gone = after.column("amount").is_null().to_numpy(zero_copy_only=False)
    if mechanism == "mnar":  # the largest values went missing, nothing else
        assert amount[gone].min() >= amount[~gone].max()
    if mechanism == "mar":  # only rows whose age is above its median
        age = before.column("age").to_numpy()
        assert (age[gone] > np.median(age)).mean() > 0.95


def test_rename_renames_and_nothing_else(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    _corrupt(data, out, "rename:column=age,to=years")
    before, after = _read(data), _read(out)
    assert after.column_names == ["ts", "amount", "years", "country", "label"]
    assert after.column("years").equals(before.column("age"))
    assert after.drop_columns(["years"]).equals(before.drop_columns(["age"]))


def test_seed_reproduces_the_same_bytes(data: Path, tmp_path: Path) -> None:
    faults = (
        "noise:column=amount,share=0.2",
        "typo:column=country,share=0.1",
        "duplicates:share=0.1",
    )
    a, b, c = tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "c.parquet"
    _corrupt(data, a, *faults, seed=9)
    _corrupt(data, b, *faults, seed=9)
    _corrupt(data, c, *faults, seed=10)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (a, b, c)]
    assert digest[0] == digest[1] != digest[2]


def test_row_faults_do_what_they_say(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    rep = _corrupt(data, out, "duplicates:share=0.3")
    t = _read(out)
    rows = t.num_rows
    keys = {tuple(r.values()) for r in t.select(["ts", "amount"]).to_pylist()}
    assert abs((rows - len(keys)) / rows - 0.3) < 0.01
    assert rep["rows_out"] == rows and rep["rows_in"] == N

    _corrupt(data, out, "label-shift:column=label,to=0.2")
    label = _read(out).column("label").to_numpy()
    assert abs(label.mean() - 0.2) < 0.01

    rep = _corrupt(data, out, "time-gap:column=ts,share=0.1,start=0.5")
    ts = _read(out).column("ts").cast(pa.int64()).to_numpy()
    gap = np.diff(ts).max() / np.median(np.diff(ts))
    assert 9_000 < gap < 11_000 and rep["rows_out"] == N - 10_000


def test_value_faults(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    before = _read(data).column("amount").to_numpy()
    _corrupt(data, out, "scale:column=amount,share=1,factor=1000")
    assert np.allclose(_read(out).column("amount").to_numpy(), before * 1000)
    _corrupt(data, out, "frozen:column=amount,share=1")
    assert set(_read(out).column("amount").to_numpy()) == {before[0]}
    _corrupt(data, out, "outliers:column=amount,share=0.02")
    after = _read(out).column("amount").to_numpy()
    changed = after != before
    assert abs(changed.mean() - 0.02) < 0.003
    assert np.all(np.abs(after[changed] - np.median(before)) > 50 * before.std())
    _corrupt(data, out, "swap:column=amount,other=age,share=0.2")
    t = _read(out)
    moved = t.column("age").to_numpy() != _read(data).column("age").to_numpy()
    assert abs(moved.mean() - 0.2) < 0.01
    assert np.array_equal(t.column("age").to_numpy()[moved], before[moved])  # both now float64
    _corrupt(data, out, "unseen:column=country,share=0.1,value=XX")
    assert abs(np.mean(np.array(_read(out).column("country").to_pylist()) == "XX") - 0.1) < 0.01
    _corrupt(data, out, "encoding:column=country,share=1")
    broken = set(_read(out).column("country").to_pylist())
    assert broken == {"USÃ©", "GBÃ©", "DÃ\x89"}  # accented, then UTF-8 read as Latin-1


def test_csv_and_jsonl_stream_in_batches(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    cols = {"amount": rng.normal(size=N), "country": list(rng.choice(["US", "GB"], N))}
    for ext in ("csv", "jsonl"):
        src = write_table(tmp_path / f"in.{ext}", cols)
        out = tmp_path / f"out.{ext}"
        rep = _corrupt(src, out, "missing:column=amount,share=0.25", "drop:column=country")
        text = out.read_text().splitlines()
        assert rep["rows_out"] == N and len(text) == N + (ext == "csv")
        if ext == "csv":
            assert text[0] == '"amount"'
            empty = sum(1 for line in text[1:] if line == "")
        else:
            empty = sum(1 for line in text if json.loads(line)["amount"] is None)
            assert "country" not in json.loads(text[0])
        assert abs(empty / N - 0.25) < 0.01


def test_bad_input_is_one_line(data: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "o.parquet")
    not_data = tmp_path / "notes.csv"
    not_data.write_bytes(b"\x00\x01binary")
    cases = [
        (["--fault", "melt:column=amount"], "unknown fault 'melt'", 2),
        (["--fault", "noise:column=amount,sigma=lots"], "sigma='lots' is not a number", 2),
        (["--fault", "noise:column=amount,wobble=1"], "unknown parameter 'wobble'", 2),
        (["--fault", "noise:column=nope"], "no column 'nope'", 1),
        (["--fault", "typo:column=amount"], "needs a text column", 1),
    ]
    for extra, message, code in cases:
        r = run("chaos", "corrupt", str(data), out, *extra)
        assert r.exit_code == code, r.output
        assert (
            message in r.stderr and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
        )
    r = run("chaos", "corrupt", str(not_data), str(tmp_path / "o.csv"), "--fault", "duplicates")
    assert r.exit_code == 1 and "binary data, not CSV text" in r.stderr


def test_terminal_view_says_what_was_done_and_shows_names_as_text(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    src = write_table(tmp_path / "in.csv", {"[red]amt[/red]": rng.normal(size=1000)})
    out = tmp_path / "out.csv"
    env = {"MLSRE_FORCE_TERMINAL": "1", "COLUMNS": "200"}
    r = run(
        "chaos",
        "corrupt",
        str(src),
        str(out),
        "-f",
        "noise:column=[red]amt[/red],share=0.5",
        "--seed",
        "3",
        env=env,
    )
    assert r.exit_code == 0, r.output
    assert (
        "[red]amt[/red]" in r.stdout
        and "1000 rows in, 1000 rows out; rerun with --seed 3" in r.stdout
    )
    touched = int(r.stdout.split("share=0.5,sigma=2")[1].split("│")[2].strip())
    assert 400 < touched < 600


def test_noise_typo_and_text_faults(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    before = _read(data)
    amount = before.column("amount").to_numpy()
    _corrupt(data, out, "noise:column=amount,share=0.2,sigma=2")
    diff = _read(out).column("amount").to_numpy() - amount
    moved = diff != 0
    assert abs(moved.mean() - 0.2) < 0.01
    assert abs(diff[moved].std() / (2 * amount.std()) - 1) < 0.05

    _corrupt(data, out, "typo:column=country,share=0.1")
    old = before.column("country").to_pylist()
    new = _read(out).column("country").to_pylist()
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert abs(len(changed) / N - 0.1) < 0.01
    assert all(
        len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1 for a, b in changed
    )

    _corrupt(data, out, "as-text:column=amount,share=0.1")
    text = _read(out).column("amount")
    assert text.type == pa.string()
    values = text.to_pylist()
    formatted = [v.endswith(" USD") for v in values]
    assert abs(np.mean(formatted) - 0.1) < 0.01
    plain = [float(v) for v, f in zip(values, formatted, strict=True) if not f]
    assert np.allclose(plain, amount[~np.array(formatted)])


def test_csv_type_contradicted_by_a_later_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlsre.chaos.stream

    monkeypatch.setattr(mlsre.chaos.stream, "CSV_BLOCK", 4096)  # many blocks from a small file
    src = tmp_path / "in.csv"
    src.write_text("n,label\n" + "".join(f"{i},a\n" for i in range(5000)) + "2.5,b\n")
    out = tmp_path / "out.csv"
    rep = _corrupt(src, out, "unseen:column=label,share=0.5")
    lines = out.read_text().splitlines()
    assert rep["rows_in"] == rep["rows_out"] == 5001 and len(lines) == 5002
    assert lines[1].startswith("0,") and lines[-1].startswith("2.5,")
