"""``mlsre chaos corrupt``: stream a data file through a list of faults into a file of the same
format. Deterministic for a seed: the same input, faults and seed give the same bytes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlsre.chaos.faults import CATALOGUE, Fault, FaultKind, Target, describe
from mlsre.chaos.stream import BatchWriter, detect_format_of_name, read_batches, read_schema
from mlsre.chaos.transforms import ColumnStats, Tally, apply, is_numeric, is_text, label_value
from mlsre.drift.load import detect_format
from mlsre.errors import UsageError, ValidationError


@dataclass
class FaultResult:
    fault: str  # the fault with every parameter spelled out
    kind: FaultKind
    columns: list[str]
    rows_touched: int
    rows_added: int = 0
    rows_removed: int = 0
    detail: str = ""


@dataclass
class CorruptionReport:
    input: str
    output: str
    format: str
    seed: int
    rows_in: int
    rows_out: int
    faults: list[FaultResult] = field(default_factory=list)


_NEEDS_STATS = {
    FaultKind.NOISE,
    FaultKind.OUTLIERS,
    FaultKind.FROZEN,
    FaultKind.LABEL_SHIFT,
    FaultKind.TIME_GAP,
}


def corrupt_file(
    source: Path, output: Path, faults: list[Fault], seed: int | None = None
) -> CorruptionReport:
    if not faults:
        raise UsageError(
            "give at least one --fault", hint="e.g. --fault missing:column=x,share=0.1"
        )
    fmt = detect_format(source)
    if detect_format_of_name(output) != fmt:
        raise UsageError(
            f"{output}: the output must be {fmt.upper()} like the input",
            hint=f"give it the extension {source.suffix}",
        )
    if output.resolve() == source.resolve():
        raise UsageError(f"{output}: the output would overwrite the input")
    seed = secrets.randbelow(2**31) if seed is None else seed
    schema = read_schema(source)
    _check_columns(source, schema, faults)
    stats = _first_pass(source, schema, faults)
    rng = np.random.default_rng(seed)
    tallies = [Tally() for _ in faults]
    rows_in = rows_out = 0
    writer = BatchWriter(output)
    try:
        for batch in read_batches(source, schema=schema):
            rows_in += batch.num_rows
            for fault, tally in zip(faults, tallies, strict=True):
                batch = apply(batch, fault, stats, rng, tally)
            rows_out += batch.num_rows
            writer.write(batch)
        if writer.schema is None:
            raise ValidationError(f"{source}: has a header but no rows")
    finally:
        writer.close()
    report = CorruptionReport(str(source), str(output), fmt, seed, rows_in, rows_out)
    for fault, tally in zip(faults, tallies, strict=True):
        report.faults.append(
            FaultResult(
                describe(fault),
                fault.kind,
                fault.columns(),
                tally.rows_touched,
                tally.rows_added,
                tally.rows_removed,
                _detail(fault, stats),
            )
        )
    return report


def _detail(fault: Fault, stats: dict[str, ColumnStats]) -> str:
    name = fault.column or ""
    if fault.kind is FaultKind.LABEL_SHIFT and name in stats:
        st = stats[name]
        value = label_value(fault, st)
        p0 = st.classes.get(value, 0) / max(sum(st.classes.values()), 1)
        return f"class {value!r} was {p0:.1%} of rows"
    if fault.kind is FaultKind.FROZEN and name in stats:
        return f"frozen at {stats[name].first!r}"
    if fault.kind is FaultKind.RENAME:
        return f"renamed to {fault.text_param('to') or name + '_v2'!r}"
    return ""


def _check_columns(source: Path, schema: Any, faults: list[Fault]) -> None:
    """Every named column exists (as the earlier faults left the file) and has the right kind."""
    types = {f.name: f.type for f in schema}
    for fault in faults:
        where = f"{source}: --fault {fault.text!r}"
        for name in fault.columns():
            if name not in types:
                raise ValidationError(
                    f"{where}: no column {name!r}", hint=f"columns: {', '.join(list(types)[:20])}"
                )
        if fault.column is not None:
            _check_kind(where, fault, fault.column, types[fault.column])
        if fault.kind is FaultKind.MISSING and fault.params.get("mechanism") == "mar":
            _check_mar(where, fault, types)
        types = _columns_after(fault, types)


def _check_kind(where: str, fault: Fault, name: str, typ: Any) -> None:
    target = CATALOGUE[fault.kind].target
    wrong = (target is Target.NUMERIC and not is_numeric(typ)) or (
        target is Target.TEXT and not is_text(typ)
    )
    if wrong:
        raise ValidationError(
            f"{where}: column {name!r} is {typ}, {fault.kind.value} needs a {target.value} column"
        )


def _check_mar(where: str, fault: Fault, types: dict[str, Any]) -> None:
    """Missing at random depends on a numeric column ``by``: the first other one by default."""
    if not fault.params.get("by"):
        others = [n for n, t in types.items() if n != fault.column and is_numeric(t)]
        if not others:
            raise ValidationError(f"{where}: mar needs by=COLUMN (numeric)")
        fault.params["by"] = others[0]
    by = fault.text_param("by") or ""
    if by not in types or not is_numeric(types[by]):
        raise ValidationError(f"{where}: by={by!r} must be a numeric column")


def _columns_after(fault: Fault, types: dict[str, Any]) -> dict[str, Any]:
    """The columns the next fault sees: a drop or a rename changes them."""
    column = fault.column
    if column is None:
        return types
    if fault.kind is FaultKind.DROP:
        return {n: t for n, t in types.items() if n != column}
    if fault.kind is FaultKind.RENAME:
        to = fault.text_param("to") or f"{column}_v2"
        return {to if n == column else n: t for n, t in types.items()}
    return types


def _first_pass(source: Path, schema: Any, faults: list[Fault]) -> dict[str, ColumnStats]:
    """Whole-file figures the faults need: read only those columns (Parquet) in one pass."""
    wanted: dict[str, tuple[bool, bool]] = {}  # column -> (numeric stats, class counts)
    for fault in faults:
        wanted.update(_stats_wanted(fault, schema))
    stats = {name: ColumnStats() for name in wanted}
    if not wanted:
        return stats
    for batch in read_batches(source, columns=list(wanted), schema=schema):
        for name, (numeric, classes) in wanted.items():
            stats[name].add(batch.column(name), numeric=numeric, classes=classes)
    for fault in faults:
        if fault.kind is FaultKind.LABEL_SHIFT and fault.column:
            _check_classes(f"{source}: --fault {fault.text!r}", fault, stats[fault.column])
    return stats


def _stats_wanted(fault: Fault, schema: Any) -> dict[str, tuple[bool, bool]]:
    """The input columns whose whole-file figures this fault needs: (numeric, class counts)."""
    name, by = fault.column, fault.text_param("by")
    missing = fault.kind is FaultKind.MISSING
    mech = fault.params.get("mechanism") if missing else None
    if fault.kind in _NEEDS_STATS or (missing and mech != "mcar"):
        _refuse_renamed_inputs(fault, schema, [n for n in (name, by) if n])
    wanted = _own_stats(fault, schema)
    if mech == "mnar" and name:
        wanted[name] = (True, False)
    if mech == "mar" and by:
        wanted[by] = (True, False)
    return wanted


def _own_stats(fault: Fault, schema: Any) -> dict[str, tuple[bool, bool]]:
    """Noise, outliers, freezing, label shift and time gaps read figures of their own column."""
    import pyarrow as pa

    name = fault.column
    if fault.kind not in _NEEDS_STATS or not name:
        return {}
    typ = schema.field(name).type
    numeric = is_numeric(typ) or pa.types.is_temporal(typ)
    return {name: (numeric, fault.kind is FaultKind.LABEL_SHIFT)}


def _refuse_renamed_inputs(fault: Fault, schema: Any, needs: list[str]) -> None:
    if any(n not in schema.names for n in needs):
        raise UsageError(
            f"--fault {fault.text!r}: its column is made by an earlier --fault (a rename); "
            "this fault needs figures of the whole input column",
            hint="put this fault before the rename, on the original name",
        )


def _check_classes(where: str, fault: Fault, st: ColumnStats) -> None:
    """A label shift moves rows of one class: the class must exist, and another beside it."""
    value = fault.text_param("value")
    if value is not None and value not in st.classes:
        known = ", ".join(sorted(st.classes)[:10])
        raise ValidationError(
            f"{where}: no row has {fault.column}={value!r}", hint=f"classes: {known}"
        )
    if len(st.classes) < 2:
        raise ValidationError(f"{where}: column {fault.column!r} has one class")
