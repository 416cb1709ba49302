"""Data-quality findings for one file, against a reference file or a schema (``mlsre data check``).

Every finding has a severity and one line saying what is wrong. Errors fail the check (exit 1):
missing columns, changed types, a large null increase, many out-of-range values or unseen
categories, and the stricter gates of drift/gates.py (duplicates, frozen or constant features,
values far outside the range, unit changes, swapped columns, label shift, time gaps, duplicate
keys). Thresholds are constants here and in docs/drift.md; a schema or options set their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mlsre.drift.gates import (
    Gates,
    class_shares,
    feature_checks,
    identifier_checks,
    label_shift,
    swap_checks,
    timestamp_checks,
)
from mlsre.drift.load import Column, Dataset, Kind, Source, UnsupportedColumn
from mlsre.drift.roles import Role
from mlsre.drift.schema import ColumnSpec, DataSchema, column_spec, load_schema, profile_of
from mlsre.errors import ValidationError

NULL_WARN = 0.01  # null share rose by at least this much (absolute): warning
NULL_ERROR = 0.10  # ... by at least this much: error
RANGE_WARN = 0.001  # share of values outside the expected range: warning
RANGE_ERROR = 0.05
UNSEEN_ERROR = 0.05  # share of rows holding a category never seen before: error
ROWS_WARN = 0.5  # row count changed by more than 50%
DUP_WARN = 0.01  # duplicate-row share above the reference's by this much


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass
class Finding:
    check: str
    severity: Severity
    message: str
    column: str | None = None
    value: float | None = None


@dataclass
class DataCheckReport:
    path: str
    rows: int
    against: str  # the reference file or schema file, or "" for self-checks only
    findings: list[Finding] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    passed: bool = True


@dataclass
class ReferenceProfile:
    """What a reference file promises, computed once (the chaos matrix reuses it per cell)."""

    spec: DataSchema
    against: str
    duplicate_share: float
    classes: dict[str, float] | None  # class shares of the target column


def reference_profile(reference: Path, target: str | None = None) -> ReferenceProfile:
    ref = Source(reference)
    hashes = RowHashes(ref.n_rows)
    columns = {}
    classes = None
    for name in ref.names:
        try:
            col = ref.column(name)
        except UnsupportedColumn:
            continue
        columns[name] = column_spec(col)
        if name == target:
            classes = class_shares(col)
        hashes.add(col)
    if target is not None and classes is None:
        raise ValidationError(
            f"{reference}: no column {target!r} (--target)",
            hint=f"columns: {', '.join(ref.names[:20])}",
        )
    return ReferenceProfile(
        profile_of(columns, ref.n_rows), str(reference), hashes.share(), classes
    )


@dataclass
class _Against:
    """What a file is checked against: a schema, a reference profile, or nothing."""

    spec: DataSchema
    name: str = ""
    duplicate_share: float = 0.0
    classes: dict[str, float] | None = None


def _against(
    reference: Path | None, schema: Path | None, profile: ReferenceProfile | None, gates: Gates
) -> _Against:
    if schema is not None:
        return _Against(load_schema(schema), str(schema))
    if profile is None and reference is not None:
        profile = reference_profile(reference, gates.target)
    if profile is None:
        return _Against(DataSchema())
    return _Against(profile.spec, profile.against, profile.duplicate_share, profile.classes)


def check_file(
    current: Path,
    *,
    reference: Path | None = None,
    schema: Path | None = None,
    gates: Gates | None = None,
    profile: ReferenceProfile | None = None,
) -> DataCheckReport:
    """Findings for ``current``; columns are read and checked one at a time."""
    gates = gates or Gates()
    cur = Source(current)
    against = _against(reference, schema, profile, gates)
    spec = against.spec
    if gates.target is not None and gates.target not in cur.names:
        raise ValidationError(
            f"{current}: no column {gates.target!r} (--target)",
            hint=f"columns: {', '.join(cur.names[:20])}",
        )
    report = DataCheckReport(str(current), cur.n_rows, against.name)
    found = report.findings
    _presence(cur.names, spec, found)
    hashes = RowHashes(cur.n_rows)
    quantiles: dict[str, list[float]] = {}
    for name in cur.names:
        try:
            col = cur.column(name)
        except UnsupportedColumn as exc:
            found.append(Finding("unsupported", Severity.INFO, exc.message, column=name))
            continue
        q = _column_findings(name, col, against, gates, found)
        if q is not None:
            quantiles[name] = q
        hashes.add(col)
    swap_checks(quantiles, spec.columns, found)
    _rows(cur.n_rows, spec, found)
    _duplicates(hashes.share(), spec, against.duplicate_share, gates, found)
    report.errors = sum(f.severity is Severity.ERROR for f in found)
    report.warnings = sum(f.severity is Severity.WARNING for f in found)
    report.passed = report.errors == 0
    return report


def _column_findings(
    name: str, col: Column, against: _Against, gates: Gates, found: list[Finding]
) -> list[float] | None:
    """Every check of one column; its quantiles when it is a feature (for the swap check)."""
    want = against.spec.columns.get(name)
    q = None
    if _check_column(name, col, want, found) and want is not None:
        q = _by_role(name, col, want, gates, found)
    if name == gates.target and against.classes is not None:
        label_shift(name, against.classes, col, gates, found)
    return q


def _by_role(
    name: str, col: Column, want: ColumnSpec, gates: Gates, found: list[Finding]
) -> list[float] | None:
    """The checks for a column's role; a feature's quantiles (for the swap check) or None."""
    if want.role == Role.TIMESTAMP.value:
        timestamp_checks(name, col, want, gates, found)
        return None
    if want.role == Role.IDENTIFIER.value:
        identifier_checks(name, col, want, found)
        return None
    if col.kind is Kind.NUMERIC:
        _numeric(name, col, want, found)
    else:
        _categories(name, col, want, found)
    return feature_checks(name, col, want, gates, found)


def _duplicates(
    dup: float, spec: DataSchema, ref_dup: float, gates: Gates, found: list[Finding]
) -> None:
    """Exact duplicate rows: a schema sets the limit, else the reference's share plus slack."""
    if spec.max_duplicate_share is not None:
        limit = hard = spec.max_duplicate_share
    else:
        limit, hard = ref_dup + DUP_WARN, ref_dup + gates.max_duplicates
    if dup > limit:
        sev = Severity.ERROR if dup > hard else Severity.WARNING
        msg = f"{dup:.1%} of rows are exact duplicates (expected <= {limit:.1%})"
        found.append(Finding("duplicates", sev, msg, value=dup))


def _presence(names: list[str], spec: DataSchema, found: list[Finding]) -> None:
    for name, want in spec.columns.items():
        if name not in names:
            sev = Severity.ERROR if want.required else Severity.INFO
            found.append(Finding("missing-column", sev, f"column {name!r} is missing", column=name))
    if spec.columns and not spec.allow_extra_columns:
        for name in names:
            if name not in spec.columns:
                msg = f"column {name!r} was not expected"
                found.append(Finding("unexpected-column", Severity.WARNING, msg, column=name))


def _check_column(name: str, col: Column, want: ColumnSpec | None, found: list[Finding]) -> bool:
    """Nulls and type; True when the values are worth checking further."""
    null_share = col.null_count() / max(col.size, 1)
    if null_share == 1.0:
        msg = f"{name}: every value is null"
        found.append(Finding("all-null", Severity.ERROR, msg, column=name, value=1.0))
        return False
    if want is None:
        return False
    if want.type != col.kind.value:
        msg = f"{name}: type changed from {want.type} to {col.kind.value} ({col.source_type})"
        found.append(Finding("dtype", Severity.ERROR, msg, column=name))
        return False
    if want.dtype and storage_type(want.dtype) != storage_type(col.source_type):
        msg = f"{name}: stored as {storage_type(col.source_type)}, was {storage_type(want.dtype)}"
        found.append(Finding("dtype", Severity.WARNING, msg, column=name))
    _nulls(name, null_share, want, found)
    return True


def storage_type(arrow_type: str) -> str:
    """The value type behind Arrow's spelling: dictionary<values=string, ...> and large_string
    are both "string", so a Parquet reference and a CSV export compare equal."""
    text = arrow_type.strip()
    if text.startswith("dictionary<values="):
        text = text[len("dictionary<values=") :].split(",", 1)[0]
    return {"large_string": "string", "large_utf8": "string", "utf8": "string"}.get(text, text)


def _nulls(name: str, share: float, want: ColumnSpec, found: list[Finding]) -> None:
    base = want.null_share or 0.0
    if want.max_null_share is not None:
        if share > want.max_null_share:
            msg = f"{name}: {share:.1%} null, more than the allowed {want.max_null_share:.1%}"
            found.append(Finding("nulls", Severity.ERROR, msg, column=name, value=share))
        return
    rise = share - base
    if rise >= NULL_WARN:
        sev = Severity.ERROR if rise >= NULL_ERROR else Severity.WARNING
        msg = f"{name}: null share rose from {base:.1%} to {share:.1%}"
        found.append(Finding("nulls", sev, msg, column=name, value=share))


def _numeric(name: str, col: Column, want: ColumnSpec, found: list[Finding]) -> None:
    assert col.values is not None
    vals = col.values
    n_inf = int(np.count_nonzero(np.isinf(vals)))
    if n_inf:
        found.append(
            Finding(
                "infinite",
                Severity.WARNING,
                f"{name}: {n_inf} infinite values (excluded)",
                column=name,
                value=n_inf,
            )
        )
    finite = vals[np.isfinite(vals)]
    if finite.size == 0:
        return
    low = want.min if want.min is not None else -np.inf
    high = want.max if want.max is not None else np.inf
    outside = int(np.count_nonzero((finite < low) | (finite > high)))
    if outside:
        share = outside / finite.size
        sev = (
            Severity.ERROR
            if share >= RANGE_ERROR
            else Severity.WARNING
            if share >= RANGE_WARN
            else Severity.INFO
        )
        seen = f"[{finite.min():g}, {finite.max():g}]"
        msg = f"{name}: {share:.2%} of values outside the expected [{low:g}, {high:g}] (now {seen})"
        found.append(Finding("range", sev, msg, column=name, value=share))
    if (
        finite.size > 1
        and finite.min() == finite.max()
        and not (want.min is not None and want.min == want.max)
        and not want.distinct  # a profiled reference: feature_checks says "became constant"
    ):
        found.append(
            Finding("constant", Severity.WARNING, f"{name}: constant ({finite[0]:g})", column=name)
        )


def _categories(name: str, col: Column, want: ColumnSpec, found: list[Finding]) -> None:
    assert col.codes is not None
    if want.values is None:
        return
    known = set(want.values)
    unseen_idx = [i for i, c in enumerate(col.categories) if c not in known]
    if not unseen_idx:
        return
    valid = col.codes[col.codes >= 0]
    counts = np.bincount(valid, minlength=len(col.categories))
    share = float(counts[unseen_idx].sum() / max(valid.size, 1))
    examples = ", ".join(repr(col.categories[i]) for i in unseen_idx[:3])
    more = f" and {len(unseen_idx) - 3} more" if len(unseen_idx) > 3 else ""
    sev = Severity.ERROR if share >= UNSEEN_ERROR else Severity.WARNING
    msg = f"{name}: {share:.1%} of rows hold unseen categories {examples}{more}"
    found.append(Finding("unseen-category", sev, msg, column=name, value=share))


def _rows(n_rows: int, spec: DataSchema, found: list[Finding]) -> None:
    if spec.min_rows is not None and n_rows < spec.min_rows:
        msg = f"{n_rows} rows, fewer than the minimum {spec.min_rows}"
        found.append(Finding("rows", Severity.ERROR, msg))
    if spec.max_rows is not None and n_rows > spec.max_rows:
        msg = f"{n_rows} rows, more than the maximum {spec.max_rows}"
        found.append(Finding("rows", Severity.ERROR, msg))
    if spec.expected_rows:
        change = n_rows / spec.expected_rows - 1
        if abs(change) > ROWS_WARN:
            msg = f"row count changed by {change:+.0%} ({spec.expected_rows} -> {n_rows})"
            found.append(Finding("rows", Severity.WARNING, msg, value=change))


class RowHashes:
    """64-bit hashes of whole rows, folded in one column at a time (the columns can be dropped)."""

    def __init__(self, n_rows: int) -> None:
        self.acc = np.zeros(n_rows, dtype=np.uint64)
        self.columns = 0

    def add(self, col: Column) -> None:
        self.acc = self.acc * np.uint64(1099511628211) ^ _column_hash(col)
        self.columns += 1

    def share(self) -> float:
        """Share of rows that repeat an earlier row exactly."""
        if self.acc.size < 2 or not self.columns:
            return 0.0
        return 1.0 - np.unique(self.acc).size / self.acc.size


def duplicate_share(ds: Dataset) -> float:
    hashes = RowHashes(ds.n_rows)
    for col in ds.columns.values():
        hashes.add(col)
    return hashes.share()


def _column_hash(col: Column) -> npt.NDArray[np.uint64]:
    if col.values is not None:
        vals = np.where(np.isnan(col.values), np.nan, col.values + 0.0)  # one NaN, no -0.0
        bits = vals.view(np.uint64)
    else:
        assert col.codes is not None
        bits = col.codes.astype(np.int64).view(np.uint64)
    mixed = (bits ^ (bits >> np.uint64(33))) * np.uint64(0xFF51AFD7ED558CCD)
    return mixed ^ (mixed >> np.uint64(33))
