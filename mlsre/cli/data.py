"""``mlsre data``: the command group; parses, calls :mod:`mlsre.drift.quality`, renders."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlsre.cli import output
from mlsre.cli.common import JsonOpt
from mlsre.errors import CheckFailed, UsageError

if TYPE_CHECKING:
    from mlsre.drift.quality import DataCheckReport

app = typer.Typer(
    help="Data-quality checks on a dataset.\n\n"
    "Example: mlsre data check cur.parquet --reference ref.parquet",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Data-quality checks on a dataset.

    Example: mlsre data check current.csv --schema schema.yaml
    """


@app.command("check")
def check(
    current: Annotated[Path, typer.Argument(help="The data to check: CSV, Parquet or JSON Lines.")],
    schema: Annotated[
        Path | None, typer.Option("--schema", help="A YAML schema of expected columns.")
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference", help="A known-good file to compare columns, ranges, nulls with."
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="The label column: fail when its class balance shifts."),
    ] = None,
    max_duplicates: Annotated[
        float,
        typer.Option(
            "--max-duplicates",
            help="Fail when duplicated rows exceed the reference's by this share.",
        ),
    ] = 0.05,
    max_far_outside: Annotated[
        float,
        typer.Option(
            "--max-far-outside",
            help="Fail when this share of a column's values lies beyond the reference range by more than its width.",
        ),
    ] = 0.001,
    max_frozen: Annotated[
        float,
        typer.Option(
            "--max-frozen",
            help="Fail when one value's share of a numeric feature rises by this much (stale feature).",
        ),
    ] = 0.1,
    max_label_shift: Annotated[
        float,
        typer.Option(
            "--max-label-shift", help="Fail when a --target class's share moves by this much."
        ),
    ] = 0.05,
    max_gap: Annotated[
        float,
        typer.Option(
            "--max-gap",
            help="Fail when a timestamp column's largest gap is this many times the reference's (in median gaps).",
        ),
    ] = 5.0,
    max_age: Annotated[
        str | None,
        typer.Option(
            "--max-age", help="Fail when the newest timestamp is older than this (e.g. 2h, 1d)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Missing/unexpected columns, type changes, null increases, out-of-range values, unseen
    categories, row-count change and duplicate rows; against a reference also duplicated rows,
    frozen or constant features, values far outside the range, unit changes, swapped columns,
    a label shift (--target), and for timestamp/identifier columns gaps, order, freshness and
    duplicate keys (they are not compared as features). Exits 1 when any finding is an error.

    Example: mlsre data check current.csv --reference reference.csv

    Example: mlsre data check batch.parquet --reference last_week.parquet --target label --max-age 1d
    """
    from mlsre.drift.gates import Gates
    from mlsre.drift.quality import check_file
    from mlsre.timeutil import parse_duration

    if schema is not None and reference is not None:
        raise UsageError("give --schema or --reference, not both")
    for flag, value in (
        ("--max-duplicates", max_duplicates),
        ("--max-far-outside", max_far_outside),
        ("--max-frozen", max_frozen),
        ("--max-label-shift", max_label_shift),
    ):
        if not 0 <= value <= 1:
            raise UsageError(f"{flag} must be a share between 0 and 1, not {value:g}")
    if max_gap <= 0:
        raise UsageError("--max-gap must be positive")
    gates = Gates(
        max_duplicates=max_duplicates,
        max_far_outside=max_far_outside,
        max_frozen=max_frozen,
        max_label_shift=max_label_shift,
        max_gap=max_gap,
        max_age_s=parse_duration(max_age).total_seconds() if max_age else None,
        target=target,
    )
    report = check_file(current, reference=reference, schema=schema, gates=gates)
    if as_json:
        output.print_json(report)
    else:
        _render(report)
    if not report.passed:
        raise CheckFailed(f"{report.errors} data-quality error(s) in {report.path}")


def _render(report: DataCheckReport) -> None:
    against = f" against {report.against}" if report.against else ""
    if report.findings:
        rows = [
            [
                output.styled(f.severity.value, output.FINDING_TONE[f.severity.value]),
                f.check,
                f.message,
            ]
            for f in report.findings
        ]
        output.table(
            f"data check: {report.path}{against} ({report.rows} rows)",
            ["severity", "check", "finding"],
            rows,
        )
    else:
        output.line(f"data check: {report.path}{against} ({report.rows} rows): no findings")
    verdict = "passed" if report.passed else "failed"
    output.line(
        f"{verdict}: {report.errors} error(s), {report.warnings} warning(s)",
        tone="ok" if report.passed else "bad",
    )
