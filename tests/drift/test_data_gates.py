"""The stricter gates, on data written here by hand (not by our corruption code), and the
detection matrix on the bundled sample (data made by our corruption code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlsre.chaos.sample import sample_paths
from tests.support.helpers import run, strict_json

N = 50_000


def _week(rng: np.random.Generator, week: int, n: int = N) -> dict[str, Any]:
    start = np.datetime64("2026-10-05T00:00:00") + np.timedelta64(7 * week, "D")
    return {
        "created_at": (start + np.sort(rng.integers(0, 7 * 86400, n)).astype("timedelta64[s]")),
        "order_id": np.arange(n) + week * n,
        "price": rng.gamma(2.0, 30.0, n).round(2),
        "weight_kg": rng.normal(5, 1.5, n).round(3),
        "items": rng.integers(1, 12, n),
        "channel": rng.choice(["web", "app", "store"], n),
        "churned": (rng.random(n) < 0.05).astype(np.int64),
    }


def _write(path: Path, cols: dict[str, Any]) -> Path:
    arrays = {
        k: pa.array(v.astype("datetime64[us]")) if v.dtype.kind == "M" else pa.array(v)
        for k, v in cols.items()
    }
    pq.write_table(pa.table(arrays), path)
    return path


@pytest.fixture(scope="module")
def weeks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("gates")
    rng = np.random.default_rng(2026)
    ref = _write(folder / "ref.parquet", _week(rng, 0))
    nxt = _week(rng, 1)
    return ref, _write(folder / "next.parquet", nxt), nxt


def _gate(ref: Path, cur: Path, *extra: str) -> tuple[int, int, dict[str, Any]]:
    d = run(
        "data", "check", str(cur), "--reference", str(ref), "--target", "churned", "--json", *extra
    )
    f = run("drift", "compare", str(ref), str(cur), "--fail-on-drift")
    return d.exit_code, f.exit_code, strict_json(d.stdout)


def _checks(report: dict[str, Any]) -> set[str]:
    return {x["check"] for x in report["findings"] if x["severity"] == "error"}


def test_clean_next_week_passes_and_time_and_ids_are_not_features(
    weeks: tuple[Path, Path, dict[str, Any]],
) -> None:
    ref, nxt, _ = weeks
    data_code, drift_code, report = _gate(ref, nxt)
    assert (data_code, drift_code) == (0, 0), report["findings"]
    r = run("drift", "compare", str(ref), str(nxt), "--json")
    cols = {c["column"]: c for c in strict_json(r.stdout)["columns"]}
    assert cols["created_at"]["status"] == "skipped" and "timestamp" in cols["created_at"]["note"]
    assert cols["order_id"]["status"] == "skipped" and "identifier" in cols["order_id"]["note"]
    shown = run("drift", "compare", str(ref), str(nxt))
    assert "created_at: timestamp column: not compared as a feature" in shown.stdout


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("duplicated", {"duplicates", "duplicate-keys"}),
        ("frozen", {"constant"}),
        ("outliers", {"far-outside"}),
        ("swapped", {"swapped"}),
        ("label", {"label-shift"}),
        ("grams", {"unit-change"}),
        ("gap", {"time-gap"}),
    ],
)
def test_severe_problems_fail_the_gate_by_default(
    weeks: tuple[Path, Path, dict[str, Any]], tmp_path: Path, name: str, expected: set[str]
) -> None:
    ref, _, clean = weeks
    rng = np.random.default_rng(7)
    cols = {k: v.copy() for k, v in clean.items()}
    if name == "duplicated":  # 30% of rows are copies of others
        idx = np.concatenate([np.arange(35_000), rng.integers(0, 35_000, 15_000)])
        cols = {k: v[np.sort(idx)] for k, v in cols.items()}
    elif name == "frozen":
        cols["price"][:] = 42.0
    elif name == "outliers":
        hit = rng.random(N) < 0.02
        cols["price"][hit] = 1e7
    elif name == "swapped":
        cols["price"], cols["weight_kg"] = cols["weight_kg"].copy(), cols["price"].copy()
    elif name == "label":  # 5% -> 20% positives
        cols["churned"] = (rng.random(N) < 0.2).astype(np.int64)
    elif name == "grams":
        cols["weight_kg"] = cols["weight_kg"] * 1000
    elif name == "gap":  # a 12-hour outage mid-week
        t = cols["created_at"]
        keep = (t < np.datetime64("2026-10-15T00:00")) | (t >= np.datetime64("2026-10-15T12:00"))
        cols = {k: v[keep] for k, v in cols.items()}
    cur = _write(tmp_path / f"{name}.parquet", cols)
    data_code, _, report = _gate(ref, cur)
    assert data_code == 1
    assert expected <= _checks(report), report["findings"]


def test_thresholds_are_configurable(
    weeks: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    ref, _, clean = weeks
    cols = {k: v.copy() for k, v in clean.items()}
    cols["churned"] = (np.random.default_rng(1).random(N) < 0.12).astype(np.int64)
    cur = _write(tmp_path / "shift.parquet", cols)
    assert _gate(ref, cur)[0] == 1
    assert _gate(ref, cur, "--max-label-shift", "0.2")[0] == 0
    r = run("data", "check", str(cur), "--reference", str(ref), "--max-frozen", "7")
    assert r.exit_code == 2 and "--max-frozen must be a share" in r.stderr
    late = run("data", "check", str(cur), "--reference", str(ref), "--max-age", "1d")
    assert (
        late.exit_code == 1
        and "created_at: newest" in late.stdout
        and "old (limit 1.0d)" in late.stdout
    )


def test_drift_gates_on_named_columns(
    weeks: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    ref, _, clean = weeks
    cols = {k: v.copy() for k, v in clean.items()}
    cols["channel"] = np.where(np.random.default_rng(3).random(N) < 0.5, "web", cols["channel"])
    cur = _write(tmp_path / "channel.parquet", cols)
    assert run("drift", "compare", str(ref), str(cur), "--fail-on-drift").exit_code == 0
    hit = run("drift", "compare", str(ref), str(cur), "--fail-on", "channel")
    assert hit.exit_code == 1 and "drift in channel" in hit.stderr
    assert run("drift", "compare", str(ref), str(cur), "--fail-on", "price").exit_code == 0
    assert run("drift", "compare", str(ref), str(cur), "--fail-on", "any").exit_code == 1
    bad = run("drift", "compare", str(ref), str(cur), "--fail-on", "nope")
    assert bad.exit_code == 2 and "'nope'" in bad.stderr


def test_matrix_on_the_bundled_sample(tmp_path: Path) -> None:
    ref, nxt = sample_paths()
    md, png = tmp_path / "m.md", tmp_path / "m.png"
    r = run(
        "chaos",
        "matrix",
        str(ref),
        "--current",
        str(nxt),
        "--target",
        "is_fraud",
        "--markdown",
        str(md),
        "--png",
        str(png),
        "--json",
    )
    assert r.exit_code == 0, r.output
    report = strict_json(r.stdout)
    assert report["false_alarms"] == [] and not any(o["caught"] for o in report["clean"])
    severe = {c["kind"]: c["caught_by"] for c in report["cells"] if c["severity"] == 0.2}
    assert len(severe) == 12 and all(severe.values()), severe  # nothing undetectable at 0.2
    assert report["undetected"] == []
    frozen = next(s for s in report["summary"] if s["fault"] == "frozen")
    assert frozen["smallest_detected"] == 0.2
    assert frozen["sentence"] == "no check catches a frozen feature (amount) below severity 0.2"
    assert "| frozen (amount) | - | - | data, drift-any | 0.2 |" in md.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = run("chaos", "matrix", str(ref), "--faults", "frozen", "--severities", "0.05,0.5")
    assert "no check catches a frozen feature (amount) below severity 0.5" in text.stdout
    assert "the uncorrupted copy raised no alarm" in text.stdout


def test_roles_by_type_name_and_uniqueness(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    n = 2000

    def frame(offset: int) -> dict[str, Any]:
        return {
            "merchant_id": rng.integers(0, 50, n),  # a repeating key: a categorical feature
            "session": np.array([f"s-{i + offset}" for i in range(n)]),  # unique text: an id
            "signup_date": np.array([f"2026-0{1 + i % 9}-1{i % 9}" for i in range(n)]),
            "value": rng.normal(size=n),
        }

    ref = _write(tmp_path / "r.parquet", frame(0))
    cur = _write(tmp_path / "c.parquet", frame(n))
    r = run("drift", "compare", str(ref), str(cur), "--json")
    status = {c["column"]: c["status"] for c in strict_json(r.stdout)["columns"]}
    assert status == {
        "merchant_id": "ok",
        "session": "skipped",
        "signup_date": "skipped",
        "value": "ok",
    }
    # the same file twice: duplicate session ids are found, not "unseen categories"
    both = _write(
        tmp_path / "twice.parquet", {k: np.concatenate([v, v]) for k, v in frame(0).items()}
    )
    d = run("data", "check", str(both), "--reference", str(ref), "--json")
    found = {(f["check"], f.get("column")) for f in strict_json(d.stdout)["findings"]}
    assert ("duplicate-keys", "session") in found and ("unseen-category", "session") not in found


def test_unique_integer_amounts_stay_a_feature(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    n = 1000
    ref = _write(
        tmp_path / "r.parquet", {"cents": rng.choice(10**7, n, replace=False), "row": np.arange(n)}
    )
    cur = _write(
        tmp_path / "c.parquet",
        {"cents": rng.choice(10**7, n, replace=False) * 3, "row": np.arange(n) + n},
    )
    r = run("drift", "compare", str(ref), str(cur), "--json")
    status = {c["column"]: c["status"] for c in strict_json(r.stdout)["columns"]}
    assert status == {"cents": "drift", "row": "skipped"}
