"""Chaos figures: streaming corruption (time, peak memory) at 1M and 5M rows, and the 12x3
detection matrix on 200,000 rows.

Each measurement runs in a fresh subprocess that reports its own peak RSS, against a baseline
measured in the same run: a plain streaming copy of the same file (same reads and writes, no
faults). Streaming keeps peak memory flat as rows grow: compare the 1M and 5M peaks.

    .venv/bin/python bench/chaos.py            # 1M and 5M rows, matrix on 200k
    .venv/bin/python bench/chaos.py --quick    # 200k and 1M rows, matrix on 50k
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAULTS = [
    "missing:column=amount,share=0.3,mechanism=mnar",
    "noise:column=score,share=0.2",
    "typo:column=country,share=0.05",
    "duplicates:share=0.1",
]

_CHILD = """
import json, resource, sys, time
from pathlib import Path
mode, src, dst = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
t0 = time.perf_counter()
if mode == "copy":
    from mlsre.chaos.stream import BatchWriter, read_batches
    w = BatchWriter(dst)
    for b in read_batches(src):
        w.write(b)
    w.close()
else:
    from mlsre.chaos.corrupt import corrupt_file
    from mlsre.chaos.faults import parse_fault
    corrupt_file(src, dst, [parse_fault(f) for f in json.loads(sys.argv[4])], seed=1)
print(json.dumps({"s": time.perf_counter() - t0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_rows(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    chunk = 500_000
    writer = None
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        table = pa.table(
            {
                "ts": pa.array(
                    (
                        np.datetime64("2026-01-01")
                        + (np.arange(n) + start).astype("timedelta64[s]")
                    ).astype("datetime64[us]")
                ),
                "amount": rng.lognormal(3, 1, n),
                "score": rng.random(n),
                "age": rng.integers(18, 90, n),
                "country": rng.choice(["US", "GB", "DE", "FR"], n),
                "label": (rng.random(n) < 0.05).astype(np.int64),
            }
        )
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def child(mode: str, src: Path, dst: Path) -> dict[str, float]:
    args = [sys.executable, "-c", _CHILD, mode, str(src), str(dst), json.dumps(FAULTS)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def matrix(rows: int, folder: Path) -> None:
    from mlsre.chaos.matrix import MatrixOptions, run_matrix
    from mlsre.chaos.sample import write_week
    from mlsre.drift.compare import CompareOptions, compare_files
    from mlsre.drift.quality import check_file

    ref = write_week(folder / "ref.parquet", 0, rows=rows)
    t0 = time.perf_counter()
    check_file(ref, reference=ref)
    compare_files(ref, ref, CompareOptions())
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = run_matrix(ref, None, MatrixOptions(target="is_fraud"))
    total = time.perf_counter() - t0
    print(
        f"matrix {len(report.summary)} faults x {len(report.severities)} severities on {rows:,} rows: "
        f"{total:.1f}s = {total / one:.0f}x one clean data check + drift compare ({one:.2f}s)"
    )


def main() -> None:
    quick = "--quick" in sys.argv
    sizes = [200_000, 1_000_000] if quick else [1_000_000, 5_000_000]
    with tempfile.TemporaryDirectory(prefix="mlsre-bench-chaos-") as tmp:
        folder = Path(tmp)
        peaks = []
        for rows in sizes:
            src = folder / f"in-{rows}.parquet"
            write_rows(src, rows)
            base = child("copy", src, folder / "copy.parquet")
            run = child("corrupt", src, folder / "out.parquet")
            peaks.append(run["rss_mb"])
            size_mb = src.stat().st_size / 1e6
            print(
                f"corrupt {rows:>9,} rows ({size_mb:.0f} MB parquet, {len(FAULTS)} faults): "
                f"{run['s']:.1f}s = {run['s'] / base['s']:.1f}x a plain streaming copy; "
                f"peak RSS {run['rss_mb']:.0f} MB = {run['rss_mb'] / base['rss_mb']:.2f}x the copy's"
            )
            for p in (src, folder / "copy.parquet", folder / "out.parquet"):
                p.unlink(missing_ok=True)
        print(
            f"peak memory {sizes[-1] // sizes[0]}x the rows: {peaks[-1] / peaks[0]:.2f}x the memory"
        )
        matrix(50_000 if quick else 200_000, folder)


if __name__ == "__main__":
    main()
