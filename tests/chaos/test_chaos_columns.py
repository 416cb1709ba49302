"""Which column the detection matrix corrupts when a fault names none, on two layouts."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mlsre.chaos.faults import parse_fault
from mlsre.chaos.matrix import _fill_columns
from mlsre.drift.quality import reference_profile


def _transactions(path: Path) -> Path:
    """A timestamp, a continuous amount, a small count, a merchant category, a label."""
    rng = random.Random(1)
    rows = ["ts,amount,count,merchant,is_fraud"]
    for i in range(400):
        rows.append(
            f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z,{rng.uniform(1, 500):.2f},"
            f"{rng.randint(0, 3)},{rng.choice('abcd')},{int(rng.random() < 0.1)}"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _devices(path: Path) -> Path:
    """Only categories and a label: no number to scale, no time to leave a gap in."""
    rng = random.Random(2)
    rows = ["city,device,churned"]
    for _ in range(300):
        rows.append(
            f"{rng.choice(['oslo', 'lima', 'pune'])},{rng.choice('xyz')},{rng.randint(0, 1)}"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _pick(data: Path, fault_text: str, target: str | None) -> tuple[str | None, dict[str, object]]:
    fault = parse_fault(fault_text, need_columns=False)
    why = _fill_columns(fault, reference_profile(data, target), target)
    return why, {k: v for k, v in fault.params.items() if k in ("column", "other") and v}


@pytest.mark.parametrize(
    ("fault", "target", "why", "picked"),
    [
        ("noise", None, None, {"column": "amount"}),  # the continuous one, not the count
        ("missing", None, None, {"column": "amount"}),
        ("typo", None, None, {"column": "merchant"}),
        ("time-gap", None, None, {"column": "ts"}),
        ("duplicates", None, None, {}),  # whole rows
        ("label-shift", None, "needs --target (the label column)", {}),
        ("label-shift", "is_fraud", None, {"column": "is_fraud"}),
        ("swap", "is_fraud", "needs two numeric feature columns", {"column": "amount"}),
        ("noise:column=count", None, None, {"column": "count"}),  # a named column is kept
    ],
)
def test_transactions(
    tmp_path: Path, fault: str, target: str | None, why: str | None, picked: dict[str, object]
) -> None:
    assert _pick(_transactions(tmp_path / "t.csv"), fault, target) == (why, picked)


@pytest.mark.parametrize(
    ("fault", "why", "picked"),
    [
        ("noise", "no numeric feature column in the data", {}),
        ("missing", None, {"column": "city"}),  # any feature when none is numeric
        ("typo", None, {"column": "city"}),
        ("time-gap", "no timestamp column in the data", {}),
        ("label-shift", None, {"column": "churned"}),
    ],
)
def test_devices(tmp_path: Path, fault: str, why: str | None, picked: dict[str, object]) -> None:
    assert _pick(_devices(tmp_path / "d.csv"), fault, "churned") == (why, picked)
