"""A labelled, timestamped transactions sample for the detection matrix and the game days.

Week 0 is the reference; week 1 is a clean batch from the following week (new timestamps and
ids, the same distributions), the one that must pass every gate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlsre.paths import bundled_dir

_DIR = bundled_dir("data")
REFERENCE = "transactions_week0.parquet"
NEXT_WEEK = "transactions_week1.parquet"
ROWS = 20_000


def sample_paths() -> tuple[Path, Path]:
    """(reference week, clean following week) of the bundled transactions sample."""
    return _DIR / REFERENCE, _DIR / NEXT_WEEK


def write_week(path: Path, week: int, rows: int = ROWS, seed: int = 21) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed + week)
    start = np.datetime64("2026-11-02T00:00:00") + np.timedelta64(7 * week, "D")
    offsets = np.sort(rng.integers(0, 7 * 86400, rows)).astype("timedelta64[s]")
    table = pa.table(
        {
            "event_time": pa.array((start + offsets).astype("datetime64[us]")),
            "txn_id": pa.array(np.arange(rows, dtype=np.int64) + week * rows),
            "amount": rng.lognormal(3.2, 0.9, rows).round(2),
            "account_age_days": rng.integers(1, 3650, rows),
            "device_score": rng.beta(2, 5, rows).round(4),
            "hour": rng.integers(0, 24, rows),
            "merchant_category": rng.choice(
                ["grocery", "electronics", "travel", "fashion", "fuel"],
                rows,
                p=[0.35, 0.2, 0.15, 0.2, 0.1],
            ),
            "country": rng.choice(
                ["US", "GB", "DE", "FR", "BR"], rows, p=[0.4, 0.2, 0.15, 0.15, 0.1]
            ),
            "is_fraud": (rng.random(rows) < 0.05).astype(np.int64),
        }
    )
    pq.write_table(table, path)
    return path
