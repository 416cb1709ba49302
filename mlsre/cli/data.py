"""``mlsre data check``: data-quality findings for a file, against a reference or a schema."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlsre.cli import output
from mlsre.cli.common import JsonOpt
from mlsre.errors import CheckFailed, UsageError

if TYPE_CHECKING:
    from mlsre.drift.checks import DataCheckReport

app = typer.Typer(
    help="Data-quality checks on a dataset.\n\n"
    "Example: mlsre data check cur.parquet --reference ref.parquet",
    no_args_is_help=True,
)

_SEVERITY_STYLE = {"error": "failed", "warning": "error", "info": "skipped"}


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
    as_json: JsonOpt = False,
) -> None:
    """Missing/unexpected columns, type changes, null increases, out-of-range values, unseen
    categories, row-count change and duplicate rows. Exits 1 when any finding is an error.

    Example: mlsre data check current.csv --reference reference.csv
    """
    from mlsre.drift.checks import check_file

    if schema is not None and reference is not None:
        raise UsageError("give --schema or --reference, not both")
    report = check_file(current, reference=reference, schema=schema)
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
            [output.styled(f.severity.value, _SEVERITY_STYLE[f.severity.value]), f.check, f.message]
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
        style="green" if report.passed else "bold red",
    )
