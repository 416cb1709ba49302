"""``mlsre drift compare``: per-column drift between a reference file and a current file."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mlsre.drift import stats
from mlsre.drift.load import Column, Kind, Source, UnsupportedColumn, numeric_text_share
from mlsre.drift.methods import (
    DEFAULT_THRESHOLD,
    DISCRETE_MAX,
    PVALUE_METHODS,
    Binning,
    Method,
    Prepared,
    choose,
    drifted,
    evaluate,
    psi_band,
)
from mlsre.drift.roles import Role, role_of
from mlsre.errors import UsageError, ValidationError

CORRECTIONS = ("none", "bonferroni", "bh")
WORKERS = 2  # columns compared at once: each holds one column of each file


class ColumnStatus(StrEnum):
    DRIFT = "drift"
    OK = "ok"
    ERROR = "error"  # could not be compared (all null, wrong type): not counted in the share
    SKIPPED = "skipped"  # a timestamp or identifier: not a feature (data check looks at it)


@dataclass
class CompareOptions:
    columns: list[str] | None = None
    categorical: set[str] = field(default_factory=set)
    method: Method = Method.AUTO
    column_methods: dict[str, Method] = field(default_factory=dict)
    threshold: float | None = None
    column_thresholds: dict[str, float] = field(default_factory=dict)
    correction: str = "none"
    sample: int | None = None
    seed: int = 0
    drift_share: float = 0.5
    null_threshold: float = 0.05
    binning: Binning = Binning.QUANTILE
    bins: int = stats.PSI_BINS


@dataclass
class ColumnDrift:
    column: str
    kind: str
    status: ColumnStatus
    method: str = ""
    statistic: float | None = None
    pvalue: float | None = None
    adjusted_pvalue: float | None = None
    threshold: float | None = None
    band: str | None = None  # PSI only: none / moderate / major
    ref_values: int = 0  # usable values (nulls, NaN and infinities excluded)
    cur_values: int = 0
    ref_null_share: float = 0.0
    cur_null_share: float = 0.0
    ref_inf: int = 0
    cur_inf: int = 0
    note: str = ""
    hist_labels: list[str] = field(default_factory=list)
    hist_ref: list[float] = field(default_factory=list)
    hist_cur: list[float] = field(default_factory=list)


@dataclass
class DriftReport:
    reference: str
    current: str
    ref_rows: int
    cur_rows: int
    rule: str
    correction: str
    drift_share_threshold: float
    columns: list[ColumnDrift]
    drifted_columns: int
    evaluated_columns: int
    drift_share: float
    dataset_drift: bool
    warnings: list[str] = field(default_factory=list)


def compare_files(reference: Path, current: Path, opts: CompareOptions) -> DriftReport:
    _check_options(opts)
    ref = Source(reference, opts.categorical)
    cur = Source(current, opts.categorical)
    names, warnings = _align(ref, cur, opts.columns)
    _check_per_column_options(opts, names)
    for src in (ref, cur):
        if src.n_rows < 2:
            raise ValidationError(f"{src.path}: only one row; drift needs at least 2 rows per file")
    ref_rows = _sample_rows(ref.n_rows, opts.sample, opts.seed)
    cur_rows = _sample_rows(cur.n_rows, opts.sample, opts.seed + 1)

    def one(name: str) -> ColumnDrift:  # two columns in memory per worker, dropped on return
        return _one_column(ref, cur, name, ref_rows, cur_rows, opts)

    workers = min(WORKERS, len(names))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:  # numpy and Arrow release the GIL
            results = list(pool.map(one, names))
    else:
        results = [one(name) for name in names]
    _decide(results, opts)
    evaluated = _evaluated(results)
    n_drift = sum(r.status is ColumnStatus.DRIFT for r in evaluated)
    share = n_drift / len(evaluated) if evaluated else 0.0
    warnings += [f"{r.column}: {r.note}" for r in results if r.status is ColumnStatus.ERROR]
    return DriftReport(
        reference=str(reference),
        current=str(current),
        ref_rows=len(ref_rows) if ref_rows is not None else ref.n_rows,
        cur_rows=len(cur_rows) if cur_rows is not None else cur.n_rows,
        rule=opts.method.value,
        correction=opts.correction,
        drift_share_threshold=opts.drift_share,
        columns=results,
        drifted_columns=n_drift,
        evaluated_columns=len(evaluated),
        drift_share=share,
        dataset_drift=share >= opts.drift_share,
        warnings=warnings,
    )


def _check_options(opts: CompareOptions) -> None:
    if opts.correction not in CORRECTIONS:
        raise UsageError(
            f"unknown correction {opts.correction!r}", hint="use none, bonferroni or bh"
        )
    if opts.sample is not None and opts.sample < 2:
        raise UsageError("--sample must be at least 2")


def _check_per_column_options(opts: CompareOptions, names: list[str]) -> None:
    for option, per_column in (
        ("--method", opts.column_methods),
        ("--threshold", opts.column_thresholds),
    ):
        unknown = [c for c in per_column if c not in names]
        if unknown:
            raise UsageError(
                f"{option} names {', '.join(map(repr, unknown))}, which is not compared",
                hint=f"compared columns: {', '.join(names[:20])}",
            )


def _one_column(
    ref: Source,
    cur: Source,
    name: str,
    ref_rows: npt.NDArray[np.int64] | None,
    cur_rows: npt.NDArray[np.int64] | None,
    opts: CompareOptions,
) -> ColumnDrift:
    try:
        a, b = ref.column(name, ref_rows), cur.column(name, cur_rows)
    except UnsupportedColumn as exc:
        return ColumnDrift(column=name, kind="other", status=ColumnStatus.ERROR, note=exc.message)
    role = role_of(a)
    if role is not Role.FEATURE and name not in (opts.columns or ()):
        note = f"{role.value} column: not compared as a feature (data check checks it)"
        return ColumnDrift(name, a.kind.value, ColumnStatus.SKIPPED, note=note)
    return _compare_column(ref, cur, name, a, b, opts)


def _evaluated(results: list[ColumnDrift]) -> list[ColumnDrift]:
    """The columns that got a verdict; an error when none could be compared at all."""
    evaluated = [r for r in results if r.status in (ColumnStatus.DRIFT, ColumnStatus.OK)]
    if not evaluated and all(r.status is ColumnStatus.ERROR for r in results):
        raise ValidationError(
            "no column could be compared: " + "; ".join(f"{r.column}: {r.note}" for r in results),
            hint="check that the files hold data",
        )
    return evaluated


def _align(ref: Source, cur: Source, wanted: list[str] | None) -> tuple[list[str], list[str]]:
    warnings: list[str] = []
    if wanted is not None:
        for src in (ref, cur):
            missing = [c for c in wanted if c not in src.names]
            if missing:
                raise ValidationError(
                    f"{src.path}: no column {', '.join(map(repr, missing))}",
                    hint=f"columns in that file: {', '.join(src.names[:20])}",
                )
        return list(dict.fromkeys(wanted)), warnings
    only_ref = [c for c in ref.names if c not in cur.names]
    only_cur = [c for c in cur.names if c not in ref.names]
    common = [c for c in ref.names if c in cur.names]
    if not common:
        raise ValidationError(
            f"{ref.path} and {cur.path} have no column in common",
            hint="are these exports of the same table? compare the headers",
        )
    if only_ref:
        warnings.append(f"only in reference (skipped): {', '.join(only_ref)}")
    if only_cur:
        warnings.append(f"only in current (skipped): {', '.join(only_cur)}")
    return common, warnings


def _sample_rows(n_rows: int, size: int | None, seed: int) -> npt.NDArray[np.int64] | None:
    if size is None or n_rows <= size:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=size, replace=False))


def _compare_column(
    ref: Source, cur: Source, name: str, a: Column, b: Column, opts: CompareOptions
) -> ColumnDrift:
    _check_types(ref, cur, a, b)
    kind = a.kind.value
    out = ColumnDrift(column=name, kind=kind, status=ColumnStatus.OK)
    prep = _prepare(a, b, out)
    if out.status is ColumnStatus.ERROR:
        return out
    rule = opts.column_methods.get(name, opts.method)
    method = choose(prep, rule) if rule in (Method.AUTO, Method.EVIDENTLY) else rule
    binning = Binning.EVIDENTLY if rule is Method.EVIDENTLY else opts.binning
    try:
        res = evaluate(prep, method, binning, opts.bins)
    except UsageError as exc:
        raise UsageError(f"column {name!r}: {exc.message}", hint=exc.hint) from None
    out.method = res.method.value
    out.statistic = res.statistic
    out.pvalue = res.pvalue
    out.hist_labels, out.hist_ref, out.hist_cur = res.hist_labels, res.hist_ref, res.hist_cur
    default = DEFAULT_THRESHOLD[res.method]
    out.threshold = opts.column_thresholds.get(
        name, opts.threshold if opts.threshold is not None else default
    )
    if res.method is Method.PSI:
        out.band = psi_band(res.statistic)
    return out


def _check_types(ref: Source, cur: Source, a: Column, b: Column) -> None:
    if a.kind is b.kind:
        return
    text, text_ds = (a, ref) if a.kind is Kind.CATEGORICAL else (b, cur)
    other_ds = cur if text_ds is ref else ref
    share, bad = numeric_text_share(text)
    if share > 0.5 and bad is not None:
        raise ValidationError(
            f"{text_ds.path}: column {a.name!r} is numeric in {other_ds.path} but holds "
            f"non-numeric text here, e.g. {bad!r}",
            hint="fix the export, or pass --categorical " + a.name + " to compare it as text",
        )
    raise ValidationError(
        f"column {a.name!r} is {a.kind.value} in {ref.path} ({a.source_type}) but "
        f"{b.kind.value} in {cur.path} ({b.source_type})",
        hint=f"pass --categorical {a.name} to compare both as text",
    )


def _prepare(a: Column, b: Column, out: ColumnDrift) -> Prepared:
    if a.values is not None and b.values is not None:
        ref_sorted, ref_nan, out.ref_inf = stats.finite_sorted(a.values)
        cur_sorted, cur_nan, out.cur_inf = stats.finite_sorted(b.values)
        out.ref_null_share = ref_nan / max(a.size, 1)
        out.cur_null_share = cur_nan / max(b.size, 1)
        out.ref_values, out.cur_values = int(ref_sorted.size), int(cur_sorted.size)
        if not _usable(out, ref_sorted.size, cur_sorted.size):
            return Prepared(numeric=True)
        distinct = _distinct(ref_sorted, cur_sorted)
        if ref_sorted[0] == ref_sorted[-1]:
            out.note = f"constant in reference ({ref_sorted[0]:g})"
        return Prepared(True, ref_sorted=ref_sorted, cur_sorted=cur_sorted, distinct=distinct)
    assert a.codes is not None and b.codes is not None
    out.ref_null_share = a.null_count() / max(a.size, 1)
    out.cur_null_share = b.null_count() / max(b.size, 1)
    assert a.codes is not None and b.codes is not None
    labels = list(a.categories)
    index = {c: i for i, c in enumerate(labels)}
    mapping = np.empty(len(b.categories), dtype=np.int64)
    for i, c in enumerate(b.categories):
        mapping[i] = index.setdefault(c, len(labels))
        if mapping[i] == len(labels):
            labels.append(c)
    ref_counts = np.zeros(len(labels), dtype=np.int64)
    ref_counts[: len(a.categories)] = np.bincount(
        a.codes[a.codes >= 0], minlength=len(a.categories)
    )
    cur_counts = np.zeros(len(labels), dtype=np.int64)
    local = np.bincount(b.codes[b.codes >= 0], minlength=len(b.categories))
    np.add.at(cur_counts, mapping, local)
    used = (ref_counts + cur_counts) > 0  # a file's dictionary may list values no row holds
    if not used.all():
        labels = [c for c, keep in zip(labels, used, strict=True) if keep]
        ref_counts, cur_counts = ref_counts[used], cur_counts[used]
    out.ref_values, out.cur_values = int(ref_counts.sum()), int(cur_counts.sum())
    if not _usable(out, out.ref_values, out.cur_values):
        return Prepared(numeric=False)
    if np.count_nonzero(ref_counts) == 1:
        out.note = "a single category in reference"
    return Prepared(
        False, ref_counts=ref_counts, cur_counts=cur_counts, labels=labels, distinct=len(labels)
    )


def _usable(out: ColumnDrift, n_ref: int, n_cur: int) -> bool:
    for n, which in ((n_ref, "reference"), (n_cur, "current")):
        if n == 0:
            out.status = ColumnStatus.ERROR
            out.note = f"no usable value in {which} (all null, NaN or infinite)"
            return False
    return True


def _distinct(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> int:
    """Distinct values over both files, exact up to DISCRETE_MAX (all the rule needs)."""
    limit = DISCRETE_MAX
    in_ref = stats.distinct_upto(ref_sorted, limit)
    in_cur = stats.distinct_upto(cur_sorted, limit)
    if in_ref > limit or in_cur > limit:
        return max(in_ref, in_cur)
    return len(set(stats.sorted_unique(ref_sorted)) | set(stats.sorted_unique(cur_sorted)))


def _decide(results: list[ColumnDrift], opts: CompareOptions) -> None:
    """Multiple-testing correction over the p-value tests, then each column's verdict."""
    tested = [r for r in results if r.status is not ColumnStatus.ERROR and r.pvalue is not None]
    tested = [r for r in tested if Method(r.method) in PVALUE_METHODS]
    adjusted = stats.adjust_pvalues([r.pvalue or 0.0 for r in tested], opts.correction)
    for r, p in zip(tested, adjusted, strict=True):
        r.adjusted_pvalue = p
    for r in results:
        if r.status in (ColumnStatus.ERROR, ColumnStatus.SKIPPED):
            continue
        if r.statistic is None or r.threshold is None:
            continue
        method = Method(r.method)
        value = r.adjusted_pvalue if method in PVALUE_METHODS else r.statistic
        is_drift = drifted(method, value if value is not None else 1.0, r.threshold)
        if r.cur_null_share - r.ref_null_share >= opts.null_threshold:
            is_drift = True
            burst = f"null share {r.ref_null_share:.1%} -> {r.cur_null_share:.1%}"
            r.note = f"{r.note}; {burst}" if r.note else burst
        # Infinities are left out of the statistics, so a column half +inf would look calm:
        # more of them than the reference had is drift in itself, like a burst of nulls.
        ref_inf = r.ref_inf / max(r.ref_values + r.ref_inf, 1)
        cur_inf = r.cur_inf / max(r.cur_values + r.cur_inf, 1)
        if cur_inf - ref_inf >= opts.null_threshold:
            is_drift = True
            burst = f"infinite share {ref_inf:.1%} -> {cur_inf:.1%}"
            r.note = f"{r.note}; {burst}" if r.note else burst
        r.status = ColumnStatus.DRIFT if is_drift else ColumnStatus.OK


ANY_COLUMN = "any"


def gate_failures(report: DriftReport, *, dataset: bool, columns: list[str]) -> list[str]:
    """Why the drift gate fails (empty: it passes): the dataset verdict when ``dataset``, and
    drift in any of ``columns`` (``any``: every compared column)."""
    reasons = []
    if dataset and report.dataset_drift:
        reasons.append(
            f"dataset drift: {report.drifted_columns} of {report.evaluated_columns} columns "
            f"drifted (share {report.drift_share:.2f} >= {report.drift_share_threshold:.2f})"
        )
    if columns:
        known = {c.column for c in report.columns}
        unknown = [c for c in columns if c != ANY_COLUMN and c not in known]
        if unknown:
            raise UsageError(
                f"--fail-on names {', '.join(map(repr, unknown))}, which is not compared",
                hint=f"compared columns: {', '.join(sorted(known)[:20])}",
            )
        wanted = known if ANY_COLUMN in columns else set(columns)
        hit = [
            c.column
            for c in report.columns
            if c.column in wanted and c.status is ColumnStatus.DRIFT
        ]
        if hit:
            reasons.append(f"drift in {', '.join(hit)}")
    return reasons
