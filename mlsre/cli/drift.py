"""``mlsre drift compare``: per-column drift between a reference and a current data file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlsre.cli import output
from mlsre.cli.common import JsonOpt
from mlsre.errors import CheckFailed, UsageError

if TYPE_CHECKING:
    from mlsre.drift.compare import CompareOptions, DriftReport

app = typer.Typer(
    help="Compare two datasets for drift.\n\n"
    "Example: mlsre drift compare reference.parquet current.parquet --fail-on-drift",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Compare two datasets for drift.

    Example: mlsre drift compare reference.parquet current.parquet --fail-on-drift
    """


_BLOCKS = "▁▂▃▄▅▆▇█"
_METHODS = "auto, evidently, psi, ks, wasserstein, js, chi2, z"


@app.command("compare")
def compare(
    reference: Annotated[Path, typer.Argument(help="Reference data: CSV, Parquet or JSON Lines.")],
    current: Annotated[Path, typer.Argument(help="Current data, same columns.")],
    columns: Annotated[
        list[str] | None,
        typer.Option("--columns", help="Only these columns (comma-separated, repeatable)."),
    ] = None,
    categorical: Annotated[
        list[str] | None,
        typer.Option(
            "--categorical", help="Treat these columns as categories (comma-separated, repeatable)."
        ),
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option(
            "--method",
            "-m",
            help=f"One of {_METHODS}; or COLUMN=METHOD for one column (repeatable).",
        ),
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold", "-t", help="Drift threshold (a p-value or a distance); or COLUMN=VALUE."
        ),
    ] = None,
    correction: Annotated[
        str,
        typer.Option("--correction", help="Multiple-testing correction: none, bonferroni or bh."),
    ] = "none",
    sample: Annotated[
        int | None, typer.Option("--sample", help="Compare a random sample of N rows per file.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --sample.")] = 0,
    drift_share: Annotated[
        float,
        typer.Option("--drift-share", help="Dataset drift when this share of columns drifted."),
    ] = 0.5,
    null_threshold: Annotated[
        float,
        typer.Option(
            "--null-threshold", help="A column drifts when its null share rises by this much."
        ),
    ] = 0.05,
    binning: Annotated[
        str,
        typer.Option(
            "--binning", help="PSI/JS bins: quantile (reference quantiles) or evidently (Sturges)."
        ),
    ] = "quantile",
    bins: Annotated[int, typer.Option("--bins", help="Number of quantile bins.")] = 10,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit 1 when the dataset drifted.")
    ] = False,
    fail_on: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when any of these columns drifted (comma-separated, repeatable); "
            "'any' for every column.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Per-column drift (method, statistic, p-value, verdict) and the dataset verdict.

    Timestamp and identifier columns (by type, name or uniqueness) are skipped: `data check`
    checks their gaps, freshness and duplicate keys instead. Name one with --columns to compare
    it anyway.

    Example: mlsre drift compare ref.csv cur.csv --method auto --correction bh --fail-on-drift

    Example: mlsre drift compare ref.parquet cur.parquet --fail-on amount,country
    """
    from mlsre.drift.compare import compare_files, gate_failures

    opts = _options(
        columns,
        categorical,
        method,
        threshold,
        correction,
        sample,
        seed,
        drift_share,
        binning,
        bins,
    )
    opts.null_threshold = null_threshold
    report = compare_files(reference, current, opts)
    if as_json:
        output.print_json(report)
    else:
        _render(report)
    reasons = gate_failures(report, dataset=fail_on_drift, columns=_split(fail_on))
    if reasons:
        raise CheckFailed("; ".join(reasons))


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _options(
    columns: list[str] | None,
    categorical: list[str] | None,
    method: list[str] | None,
    threshold: list[str] | None,
    correction: str,
    sample: int | None,
    seed: int,
    drift_share: float,
    binning: str,
    bins: int,
) -> CompareOptions:
    from mlsre.drift.compare import CORRECTIONS, CompareOptions
    from mlsre.drift.methods import Binning, Method

    opts = CompareOptions(columns=_split(columns) or None, categorical=set(_split(categorical)))
    for item in method or []:
        name, _, value = item.rpartition("=")
        try:
            chosen = Method(value.strip().lower())
        except ValueError:
            raise UsageError(
                f"--method {item!r}: unknown method", hint=f"use one of {_METHODS}"
            ) from None
        if name:
            opts.column_methods[name.strip()] = chosen
        else:
            opts.method = chosen
    for item in threshold or []:
        name, _, value = item.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            raise UsageError(
                f"--threshold {item!r}: not a number", hint="e.g. --threshold 0.2"
            ) from None
        if name:
            opts.column_thresholds[name.strip()] = number
        else:
            opts.threshold = number
    if correction not in CORRECTIONS:
        raise UsageError(f"--correction {correction!r}: unknown", hint="use none, bonferroni or bh")
    try:
        opts.binning = Binning(binning)
    except ValueError:
        raise UsageError(
            f"--binning {binning!r}: unknown", hint="use quantile or evidently"
        ) from None
    if not 0 < drift_share <= 1:
        raise UsageError("--drift-share must be in (0, 1]")
    if bins < 2:
        raise UsageError("--bins must be at least 2")
    opts.correction, opts.sample, opts.seed, opts.drift_share, opts.bins = (
        correction,
        sample,
        seed,
        drift_share,
        bins,
    )
    return opts


def sparkline(shares: list[float], top: float) -> str:
    if top <= 0:
        return " " * len(shares)
    return "".join(
        _BLOCKS[min(len(_BLOCKS) - 1, int(s / top * (len(_BLOCKS) - 1) + 0.5))] for s in shares
    )


def _hist(ref: list[float], cur: list[float], ordered: bool, width: int = 12) -> str:
    if not ref:
        return ""
    if len(ref) > width and ordered:  # numeric bins: merge neighbours, keep the shape
        groups = [range(i * len(ref) // width, (i + 1) * len(ref) // width) for i in range(width)]
        ref = [sum(ref[i] for i in g) for g in groups]
        cur = [sum(cur[i] for i in g) for g in groups]
    elif len(ref) > width:  # categories: the ones that matter most in either file
        keep = sorted(range(len(ref)), key=lambda i: -(ref[i] + cur[i]))[:width]
        keep.sort()
        ref, cur = [ref[i] for i in keep], [cur[i] for i in keep]
    top = max(max(ref), max(cur))
    return f"{sparkline(ref, top)} | {sparkline(cur, top)}"


def _num(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    if value != 0 and (abs(value) < 10**-digits or abs(value) >= 10**6):
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


def _render(report: DriftReport) -> None:
    rows = []
    for c in report.columns:
        verdict = output.styled(c.status.value)
        stat = _num(c.statistic) + (f" ({c.band})" if c.band else "")
        pval = _num(c.adjusted_pvalue if c.adjusted_pvalue is not None else c.pvalue)
        rows.append(
            [
                c.column,
                c.kind,
                c.method or "-",
                stat,
                pval,
                _num(c.threshold, 2),
                verdict,
                _hist(c.hist_ref, c.hist_cur, ordered=c.kind == "numeric"),
            ]
        )
    sizes = f"{report.ref_rows} vs {report.cur_rows} rows"
    title = f"drift: {report.reference} -> {report.current} ({sizes})"
    columns = [
        "column",
        "kind",
        "method",
        "statistic",
        "p-value",
        "threshold",
        "verdict",
        "ref | cur",
    ]
    output.table(title, columns, rows)
    notes = [
        f"{c.column}: {c.note}" for c in report.columns if c.note and c.status.value != "error"
    ]
    for text in notes + report.warnings:
        output.line(f"note: {text}")
    if report.correction != "none":
        tests = sum(c.adjusted_pvalue is not None for c in report.columns)
        output.line(f"p-values adjusted for {tests} tests ({report.correction})")
    verdict = "DRIFT" if report.dataset_drift else "no drift"
    output.line(
        f"dataset: {verdict} — {report.drifted_columns} of {report.evaluated_columns} "
        "columns drifted "
        f"(share {report.drift_share:.2f}, threshold {report.drift_share_threshold:.2f})",
        tone="bad" if report.dataset_drift else "ok",
    )
