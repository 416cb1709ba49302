"""The small fraud-model sample files shipped for the demo, and the generator that made them.

``reference`` is a week of healthy traffic; ``current`` has drifted the way fraud traffic does:
larger amounts, more night-time transactions, a new merchant mix, younger accounts, and a
null burst in ``device_score`` (a feature pipeline half broke). ``country`` and ``is_mobile``
are unchanged, so a good report shows a mix of drifted and stable columns.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from mlsre.paths import bundled_dir

SAMPLE_ROWS = 3000
_DIR = bundled_dir("data")
REFERENCE = "fraud_reference.csv"
CURRENT = "fraud_current.csv"

_MERCHANTS = ["grocery", "electronics", "travel", "fashion", "gaming", "fuel"]
_COUNTRIES = ["US", "GB", "DE", "FR", "BR", "IN"]


def sample_paths() -> tuple[Path, Path]:
    """(reference, current) paths of the bundled fraud-model sample CSVs."""
    return _DIR / REFERENCE, _DIR / CURRENT


def write_samples(folder: Path, rows: int = SAMPLE_ROWS, seed: int = 7) -> tuple[Path, Path]:
    """Write a reference and a drifted current CSV into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ref, cur = folder / REFERENCE, folder / CURRENT
    _write(ref, rng, rows, drifted=False)
    _write(cur, rng, rows, drifted=True)
    return ref, cur


def _write(path: Path, rng: np.random.Generator, rows: int, *, drifted: bool) -> None:
    amount = rng.lognormal(mean=3.6 if drifted else 3.2, sigma=1.0, size=rows)
    merchant_p = [0.2, 0.25, 0.1, 0.15, 0.2, 0.1] if drifted else [0.35, 0.15, 0.1, 0.15, 0.05, 0.2]
    merchant = rng.choice(_MERCHANTS, size=rows, p=merchant_p)
    hour_p = np.ones(24)
    hour_p[8:22] = 3.0
    if drifted:
        hour_p[0:5] = 4.0
    hour = rng.choice(24, size=rows, p=hour_p / hour_p.sum())
    age = rng.gamma(shape=1.5 if drifted else 2.0, scale=200 if drifted else 400, size=rows).astype(
        int
    )
    country = rng.choice(_COUNTRIES, size=rows, p=[0.4, 0.15, 0.15, 0.1, 0.1, 0.1])
    mobile = rng.random(rows) < 0.55
    device = np.clip(rng.normal(0.7, 0.15, size=rows), 0, 1)
    null_share = 0.3 if drifted else 0.01
    device_null = rng.random(rows) < null_share
    header = [
        "amount",
        "merchant_category",
        "hour",
        "account_age_days",
        "country",
        "is_mobile",
        "device_score",
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(header)
        for i in range(rows):
            out.writerow(
                [
                    f"{amount[i]:.2f}",
                    merchant[i],
                    int(hour[i]),
                    int(age[i]),
                    country[i],
                    "true" if mobile[i] else "false",
                    "" if device_null[i] else f"{device[i]:.3f}",
                ]
            )
