"""Benchmark: ``mlsre drift compare`` against Evidently's DataDriftPreset on the same files.

Generates a reference and a drifted current Parquet file (ROWS x (20 numeric + 5 categorical);
some columns shifted well past Evidently's thresholds, the rest unchanged), then runs, as whole
processes, load included:

* ``mlsre drift compare REF CUR --method evidently --json`` (Evidently's method choice), and
* ``bench/drift_evidently.py`` (DataDriftPreset) in the bench-only venv,

and prints wall time, peak RSS of each, the ratios, and whether every column got the same
drifted/not-drifted verdict (and how far the statistics are apart).

Evidently is a bench-only dependency and needs pandas < 3, so it lives in its own venv::

    python3.11 -m venv .venv-bench
    .venv-bench/bin/pip install -r bench/requirements-evidently.txt
    .venv/bin/python bench/drift.py --rows 1000000   # --skip-evidently: time mlsre only

Files go to bench/out/drift/ (gitignored) and are reused when they exist with the same size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MLSRE_PY = ROOT / ".venv" / "bin" / "python"
BENCH_PY = ROOT / ".venv-bench" / "bin" / "python"

# (kind, parameters, change in current); shifts are far from the 0.1 thresholds on purpose
NUMERIC = [
    ("normal", 0.0), ("normal", 0.5), ("lognormal", 0.0), ("lognormal", 0.4), ("uniform", 0.0),
    ("uniform", 0.3), ("normal_scale", 1.6), ("normal", 0.02), ("poisson", 0.0), ("poisson", 6.0),
    ("normal", 0.0), ("normal", 0.0), ("lognormal", 0.0), ("uniform", 0.0), ("normal", 0.01),
    ("normal_scale", 1.02), ("poisson", 0.0), ("normal", 0.0), ("normal", 1.0), ("normal", 0.0),
]  # fmt: skip
CATEGORIES = [6, 12, 3, 30, 8]
CAT_SHIFT = [True, False, True, False, False]


def _numeric(rng: np.random.Generator, kind: str, change: float, n: int, drifted: bool) -> Any:
    delta = change if drifted else 0.0
    if kind == "normal":
        return rng.normal(delta, 1.0, n)
    if kind == "normal_scale":
        return rng.normal(0.0, change if drifted else 1.0, n)
    if kind == "lognormal":
        return rng.lognormal(delta, 0.8, n)
    if kind == "uniform":
        return rng.uniform(delta, 1.0 + delta, n)
    return rng.poisson(20 + delta, n).astype(np.float64)


def _categorical(rng: np.random.Generator, k: int, shift: bool, n: int, drifted: bool) -> Any:
    import pyarrow as pa

    weights = np.linspace(1.0, 3.0, k)
    if shift and drifted:
        weights = weights[::-1] ** 2
    codes = rng.choice(k, size=n, p=weights / weights.sum()).astype(np.int32)
    labels = pa.array([f"cat_{i:02d}" for i in range(k)])
    return pa.DictionaryArray.from_arrays(pa.array(codes), labels)


def generate(folder: Path, rows: int, seed: int = 42) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / f"reference_{rows}.parquet", folder / f"current_{rows}.parquet")
    if all(p.exists() for p in paths):
        return paths
    for path, drifted in zip(paths, (False, True), strict=True):
        rng = np.random.default_rng(seed + int(drifted))
        cols: dict[str, Any] = {}
        for i, (kind, change) in enumerate(NUMERIC):
            values = _numeric(rng, kind, change, rows, drifted)
            values[rng.random(rows) < 0.01] = np.nan  # 1% missing in both files
            cols[f"num_{i:02d}"] = values
        for i, (k, shift) in enumerate(zip(CATEGORIES, CAT_SHIFT, strict=True)):
            cols[f"cat_{i}"] = _categorical(rng, k, shift, rows, drifted)
        pq.write_table(pa.table(cols), path)
    return paths


def run_measured(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one child process, from its own rusage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if code not in (0, 1):
            sys.stderr.write(err.read().decode(errors="replace"))
            raise SystemExit(f"command failed ({code}): {' '.join(cmd)}")
        return wall, usage.ru_maxrss / 1024.0, out.read().decode()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "drift")
    parser.add_argument("--skip-evidently", action="store_true")
    args = parser.parse_args()

    t0 = time.perf_counter()
    ref, cur = generate(args.out, args.rows)
    size_mb = (ref.stat().st_size + cur.stat().st_size) / 1e6
    print(
        f"data: {args.rows:,} rows x 25 columns, 2 Parquet files {size_mb:.0f} MB "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    numeric_mb = args.rows * 20 * 8 * 2 / 1e6
    print(f"loaded numeric arrays (both files): {numeric_mb:.0f} MB")

    cmd = [
        str(MLSRE_PY),
        "-m",
        "mlsre",
        "drift",
        "compare",
        str(ref),
        str(cur),
        "--method",
        "evidently",
        "--json",
    ]
    ml_wall, ml_peak, ml_out = run_measured(cmd)
    mlsre_cols = {c["column"]: c for c in json.loads(ml_out)["columns"]}
    print(f"mlsre    : {ml_wall:7.2f} s  peak RSS {ml_peak:7.0f} MB")
    if not args.skip_evidently:
        if not BENCH_PY.exists():
            raise SystemExit("no .venv-bench: see the docstring for how to install Evidently")
        script = str(ROOT / "bench" / "drift_evidently.py")
        ev_wall, ev_peak, ev_out = run_measured([str(BENCH_PY), script, str(ref), str(cur)])
        ev = json.loads(ev_out)["columns"]
        print(f"evidently: {ev_wall:7.2f} s  peak RSS {ev_peak:7.0f} MB")
        print(
            f"speed-up : {ev_wall / ml_wall:.1f}x faster; "
            f"memory {ml_peak / ev_peak:.2f}x of Evidently's"
        )
        _agreement(mlsre_cols, ev)
    print(f"mlsre peak / numeric arrays: {ml_peak / numeric_mb:.2f}x")


def _agreement(mine: dict[str, Any], theirs: dict[str, Any]) -> None:
    same = [c for c in theirs if c in mine and (mine[c]["status"] == "drift") == theirs[c]["drift"]]
    differ = [c for c in theirs if c not in same]

    def gap(c: str) -> float:  # Evidently reports the p-value for tests, the distance otherwise
        key = "pvalue" if "p_value" in theirs[c]["method"] else "statistic"
        return abs(float(mine[c][key]) - float(theirs[c]["value"]))

    worst = max((gap(c) for c in theirs if c in mine), default=0.0)
    n_drift = sum(theirs[c]["drift"] for c in theirs)
    print(f"verdicts : {len(same)}/{len(theirs)} columns agree ({n_drift} drifted per Evidently)")
    print(f"largest difference of a statistic or p-value vs Evidently: {worst:.2e}")
    for c in differ:
        print(f"  differs: {c}: mlsre {mine.get(c)} vs evidently {theirs[c]}")


if __name__ == "__main__":
    main()
