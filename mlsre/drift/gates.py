"""The stricter data gates: problems severe enough that ``data check`` fails by default.

Each has a threshold in :class:`Gates` (a ``data check`` option each): duplicated rows, a feature
that froze or became constant, values far outside the reference range, a unit change, swapped
columns, a label shift on ``--target``, and for timestamp/identifier columns (drift/roles.py)
gaps, freshness, order and duplicate keys instead of feature comparisons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mlsre.drift.load import Column
from mlsre.timeutil import UNIT_SECONDS

if TYPE_CHECKING:
    from mlsre.drift.quality import Finding
    from mlsre.drift.schema import ColumnSpec

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
DISTINCT_CAP = 1000
CONTINUOUS = 20  # a numeric feature with more distinct values than this is continuous
UNIT_FACTOR = 30.0  # quartiles all scaled by at least this much (or 1/this): a unit change
SWAP_CLOSE, SWAP_FAR = 0.25, 0.5  # quantile distances (in reference IQRs) for "looks swapped"


@dataclass
class Gates:
    """Thresholds of the stricter checks (errors: ``data check`` exits 1)."""

    max_duplicates: float = 0.05  # duplicated-row share above the reference's
    max_far_outside: float = 0.001  # share of values beyond the reference range by its width
    max_frozen: float = 0.1  # rise of the share of a numeric feature's commonest value
    max_label_shift: float = 0.05  # change of any class's share in the --target column
    max_gap: float = 5.0  # largest time gap vs the reference's, both in median gaps
    max_age_s: float | None = None  # newest timestamp older than this: stale data
    target: str | None = None
    now: datetime | None = None


def shape_of(col: Column) -> dict[str, Any]:
    """The figures a reference column is profiled with (and a current column compared by)."""
    if col.values is not None:
        vals = col.values[np.isfinite(col.values)]
        if vals.size == 0:
            return {}
        ordered = np.sort(vals)
        runs = _runs(ordered)
        gaps = np.diff(ordered)
        positive = gaps[gaps > 0]
        gap_ratio = float(positive.max() / np.median(positive)) if positive.size else None
        return {
            "quantiles": [float(q) for q in np.quantile(ordered, QUANTILES)],
            "top_share": float(runs.max() / vals.size),
            "distinct": int(min(runs.size, DISTINCT_CAP)),
            "ascending": bool(np.all(np.diff(vals) >= 0)),
            "gap_ratio": gap_ratio,
            "unique": bool(runs.size == col.size),
        }
    assert col.codes is not None
    valid = col.codes[col.codes >= 0]
    if valid.size == 0:
        return {}
    counts = np.bincount(valid, minlength=len(col.categories))
    used = int(np.count_nonzero(counts))
    return {
        "top_share": float(counts.max() / valid.size),
        "distinct": min(used, DISTINCT_CAP),
        "unique": bool(used == col.size),
    }


def _runs(ordered: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    edges = np.flatnonzero(np.diff(ordered) != 0) + 1
    bounds = np.concatenate(([0], edges, [ordered.size]))
    return np.diff(bounds)


def feature_checks(
    name: str, col: Column, want: ColumnSpec, gates: Gates, found: list[Finding]
) -> list[float] | None:
    """Frozen/constant, far outside the range, unit change. Returns the current quantiles."""
    from mlsre.drift.quality import Finding, Severity

    shape = shape_of(col)
    if not shape:
        return None
    ref_distinct = want.distinct or 0
    if shape["distinct"] == 1 and ref_distinct > 1:
        many = f"{ref_distinct}+" if ref_distinct >= DISTINCT_CAP else str(ref_distinct)
        msg = f"{name}: became constant (every value is the same; the reference had {many} values)"
        found.append(Finding("constant", Severity.ERROR, msg, column=name, value=1.0))
    elif want.top_share is not None and ref_distinct > CONTINUOUS:
        rise = shape["top_share"] - want.top_share
        if rise >= gates.max_frozen:
            msg = (
                f"{name}: {shape['top_share']:.1%} of rows hold one value (reference "
                f"{want.top_share:.1%}): a frozen or stale feature"
            )
            found.append(Finding("frozen", Severity.ERROR, msg, column=name, value=rise))
    if col.values is None:
        return None
    finite = col.values[np.isfinite(col.values)]
    if want.min is not None and want.max is not None and want.max > want.min and finite.size:
        span = want.max - want.min
        far = int(np.count_nonzero((finite < want.min - span) | (finite > want.max + span)))
        share = far / finite.size
        if far and share >= gates.max_far_outside:
            msg = (
                f"{name}: {share:.2%} of values are far outside the reference range "
                f"[{want.min:g}, {want.max:g}] (beyond it by more than its width; now up to "
                f"[{finite.min():g}, {finite.max():g}])"
            )
            found.append(Finding("far-outside", Severity.ERROR, msg, column=name, value=share))
    quantiles: list[float] = shape["quantiles"]
    if want.quantiles:
        factor = _unit_factor(want.quantiles, quantiles)
        if factor is not None:
            msg = (
                f"{name}: values look scaled by {factor:.3g} (median {want.quantiles[2]:g} -> "
                f"{quantiles[2]:g}): a unit change?"
            )
            found.append(Finding("unit-change", Severity.ERROR, msg, column=name, value=factor))
    return quantiles


def _unit_factor(ref: list[float], cur: list[float]) -> float | None:
    ratios = []
    for i in (1, 2, 3):
        if ref[i] == 0 or cur[i] == 0 or (ref[i] > 0) != (cur[i] > 0):
            return None
        ratios.append(cur[i] / ref[i])
    if max(ratios) / min(ratios) > 1.25:
        return None
    factor = math.exp(sum(math.log(r) for r in ratios) / 3)
    return factor if factor >= UNIT_FACTOR or factor <= 1 / UNIT_FACTOR else None


def swap_checks(
    current: dict[str, list[float]], spec: dict[str, ColumnSpec], found: list[Finding]
) -> None:
    """Two numeric features whose distributions traded places."""
    from mlsre.drift.quality import Finding, Severity

    names = [n for n in current if spec.get(n) and spec[n].quantiles]
    flagged: set[str] = set()
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if a in flagged or b in flagged:
                continue
            ra, rb = spec[a].quantiles or [], spec[b].quantiles or []
            ca, cb = current[a], current[b]
            if (
                _distance(ca, rb) < SWAP_CLOSE
                and _distance(cb, ra) < SWAP_CLOSE
                and _distance(ca, ra) > SWAP_FAR
                and _distance(cb, rb) > SWAP_FAR
            ):
                flagged |= {a, b}
                msg = f"columns {a!r} and {b!r} look swapped (each now looks like the other)"
                found.append(Finding("swapped", Severity.ERROR, msg, column=a))
    # a swap also scales each column by the other's magnitude: one finding says it better
    found[:] = [f for f in found if not (f.check == "unit-change" and f.column in flagged)]


def _distance(cur: list[float], ref: list[float]) -> float:
    scale = (ref[3] - ref[1]) or (ref[4] - ref[0]) or abs(ref[2]) or 1.0
    return float(np.mean(np.abs(np.asarray(cur) - np.asarray(ref)))) / scale


def identifier_checks(name: str, col: Column, want: ColumnSpec, found: list[Finding]) -> None:
    from mlsre.drift.quality import Finding, Severity

    if not want.unique:
        return
    shape = shape_of(col)
    if not shape or shape["unique"]:
        return
    if col.values is not None:
        vals = col.values[np.isfinite(col.values)]
        dups = int(vals.size - np.unique(vals).size)
    else:
        assert col.codes is not None
        valid = col.codes[col.codes >= 0]
        dups = int(valid.size - np.unique(valid).size)
    share = dups / max(col.size, 1)
    msg = f"{name}: {dups} duplicate keys ({share:.1%} of rows); the reference had none"
    found.append(Finding("duplicate-keys", Severity.ERROR, msg, column=name, value=share))


def timestamp_checks(
    name: str, col: Column, want: ColumnSpec, gates: Gates, found: list[Finding]
) -> None:
    """Order, gaps and freshness: what matters for a timestamp (never its range)."""
    from mlsre.drift.quality import Finding, Severity

    if col.values is None:
        return
    shape = shape_of(col)
    if not shape:
        return
    if want.ascending and not shape["ascending"]:
        msg = f"{name}: rows are no longer in time order (the reference was)"
        found.append(Finding("time-order", Severity.WARNING, msg, column=name))
    ratio, ref_ratio = shape["gap_ratio"], max(want.gap_ratio or 1.0, 1.0)
    if ratio is not None and ratio > gates.max_gap * ref_ratio:
        finite = np.sort(col.values[np.isfinite(col.values)])
        gaps = np.diff(finite)
        at = int(np.argmax(gaps))
        unit = _unit_seconds(col.source_type, float(finite[-1]))
        msg = (
            f"{name}: a gap of {_duration(float(gaps[at]) * unit)} after "
            f"{_stamp(float(finite[at]) * unit)} ({ratio:.0f}x the median gap; reference "
            f"at most {ref_ratio:.0f}x)"
        )
        found.append(Finding("time-gap", Severity.ERROR, msg, column=name, value=ratio))
    newest = float(np.nanmax(col.values))
    unit = _unit_seconds(col.source_type, newest)
    if want.max is not None and newest < want.max:
        msg = f"{name}: newest {_stamp(newest * unit)} is older than the reference's newest"
        found.append(Finding("freshness", Severity.WARNING, msg, column=name))
    if gates.max_age_s is not None:
        now = (gates.now or datetime.now(UTC)).timestamp()
        age = now - newest * unit
        if age > gates.max_age_s:
            msg = f"{name}: newest {_stamp(newest * unit)} is {_duration(age)} old (limit {_duration(gates.max_age_s)})"
            found.append(Finding("freshness", Severity.ERROR, msg, column=name, value=age))


def label_shift(
    name: str, ref: dict[str, float], col: Column, gates: Gates, found: list[Finding]
) -> None:
    from mlsre.drift.quality import Finding, Severity

    cur = class_shares(col)
    worst, label = 0.0, ""
    for key in set(ref) | set(cur):
        change = abs(cur.get(key, 0.0) - ref.get(key, 0.0))
        if change > worst:
            worst, label = change, key
    if worst >= gates.max_label_shift:
        msg = (
            f"{name}: label shift: class {label!r} went from {ref.get(label, 0.0):.1%} to "
            f"{cur.get(label, 0.0):.1%} of rows"
        )
        found.append(Finding("label-shift", Severity.ERROR, msg, column=name, value=worst))


def class_shares(col: Column) -> dict[str, float]:
    if col.values is not None:
        vals = col.values[np.isfinite(col.values)]
        keys, counts = np.unique(vals, return_counts=True)
        total = max(int(counts.sum()), 1)
        return {f"{k:g}": int(c) / total for k, c in zip(keys, counts, strict=True)}
    assert col.codes is not None
    valid = col.codes[col.codes >= 0]
    counts = np.bincount(valid, minlength=len(col.categories))
    total = max(int(counts.sum()), 1)
    return {c: int(n) / total for c, n in zip(col.categories, counts, strict=True) if n}


def _unit_seconds(source_type: str, sample: float) -> float:
    if source_type.startswith("date32"):
        return 86400.0
    for unit, secs in (("[ns", 1e-9), ("[us", 1e-6), ("[ms", 1e-3), ("[s", 1.0)):
        if unit in source_type:
            return secs
    if source_type.startswith("date64"):
        return 1e-3
    return 1e-3 if abs(sample) > 1e11 else 1.0  # epoch numbers: milliseconds or seconds


def _stamp(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"{seconds:g}"


def _duration(seconds: float) -> str:
    for unit in "dhm":
        size = UNIT_SECONDS[unit]
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"
