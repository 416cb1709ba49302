"""``mlsre chaos``: corrupt data on purpose, and find out which checks would notice."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlsre.cli import output
from mlsre.cli.common import JsonOpt
from mlsre.errors import UsageError

if TYPE_CHECKING:
    from mlsre.chaos.corrupt import CorruptionReport
    from mlsre.chaos.matrix import MatrixReport

app = typer.Typer(
    help="Corrupt data on purpose; find out which checks would notice.\n\n"
    "Example: mlsre chaos corrupt ref.parquet bad.parquet --fault missing:column=amount,share=0.3",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Corrupt data on purpose; find out which checks would notice.

    Example: mlsre chaos matrix reference.parquet --target label --png matrix.png
    """


@app.command("faults")
def faults(as_json: JsonOpt = False) -> None:
    """Every fault, its parameters (defaults) and its severity parameter.

    Example: mlsre chaos faults
    """
    from mlsre.chaos.faults import CATALOGUE

    rows = [
        [
            info.kind.value,
            ", ".join(
                f"{p.name}={p.default}" if p.default is not None else p.name for p in info.params
            ),
            info.severity or "-",
            info.summary,
        ]
        for info in CATALOGUE.values()
    ]
    if as_json:
        output.print_json(
            [dict(zip(["fault", "params", "severity", "does"], r, strict=True)) for r in rows]
        )
        return
    output.table("faults", ["fault", "params", "severity", "does"], rows)


@app.command("corrupt")
def corrupt(
    source: Annotated[Path, typer.Argument(help="Input data: CSV, Parquet or JSON Lines.")],
    target: Annotated[Path, typer.Argument(help="Output file, same format as the input.")],
    fault: Annotated[
        list[str],
        typer.Option("--fault", "-f", help="KIND[:key=value,...]; repeatable, applied in order."),
    ],
    seed: Annotated[
        int | None, typer.Option("--seed", help="Same seed, same input: the same output bytes.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Inject faults into a data file, streaming in batches (files larger than memory work).
    Prints exactly what was done: rows and columns touched, rows added or removed, the seed.
    `mlsre chaos faults` lists the faults and their parameters.

    Example: mlsre chaos corrupt ref.parquet bad.parquet --fault missing:column=amount,share=0.3,mechanism=mnar --seed 7
    """
    from mlsre.chaos.corrupt import corrupt_file
    from mlsre.chaos.faults import parse_fault

    report = corrupt_file(source, target, [parse_fault(f) for f in fault], seed)
    if as_json:
        output.print_json(report)
    else:
        _render_corruption(report)


def _render_corruption(report: CorruptionReport) -> None:
    rows = [
        [
            (f.fault),
            (", ".join(f.columns) or "(rows)"),
            str(f.rows_touched),
            str(f.rows_added),
            str(f.rows_removed),
            (f.detail),
        ]
        for f in report.faults
    ]
    output.table(
        (f"corrupted {report.input} -> {report.output} (seed {report.seed})"),
        ["fault", "columns", "rows touched", "added", "removed", "detail"],
        rows,
    )
    output.line(
        f"{report.rows_in} rows in, {report.rows_out} rows out; rerun with --seed {report.seed}"
    )


@app.command("matrix")
def matrix(
    reference: Annotated[Path, typer.Argument(help="The known-good reference data.")],
    current: Annotated[
        Path | None,
        typer.Option("--current", help="Corrupt this file instead of a copy of the reference."),
    ] = None,
    fault_list: Annotated[
        list[str] | None,
        typer.Option(
            "--faults",
            help="Faults to try (space- or ';'-separated KIND[:key=value,...]; repeatable). "
            "Default: 12 common faults.",
        ),
    ] = None,
    severities: Annotated[
        str, typer.Option("--severities", help="Comma-separated severities in (0, 1).")
    ] = "0.01,0.05,0.2",
    target_col: Annotated[
        str | None, typer.Option("--target", help="The label column (enables label-shift).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for every corruption.")] = 0,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Also write the matrix as Markdown here.")
    ] = None,
    png: Annotated[
        Path | None, typer.Option("--png", help="Also write a heatmap PNG here.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Would we notice? Applies each fault at each severity to a copy of the data, runs `data
    check` and `drift compare` against the reference with CI gates (data check's exit code,
    drift --fail-on-drift, drift --fail-on any), and reports which caught what, the smallest
    severity caught per fault, the faults nothing caught, and false alarms on the clean copy.

    Example: mlsre chaos matrix reference.parquet --target label --markdown matrix.md --png matrix.png
    """
    from mlsre.chaos.matrix import DEFAULT_FAULTS, MatrixOptions, run_matrix

    try:
        sev = [float(s) for s in severities.split(",") if s.strip()]
    except ValueError:
        raise UsageError(
            f"--severities {severities!r}: not a list of numbers", hint="e.g. 0.01,0.05,0.2"
        ) from None
    if not sev:
        raise UsageError("--severities is empty")
    chosen = [f for item in fault_list or [] for f in item.replace(";", " ").split() if f]
    opts = MatrixOptions(
        faults=chosen or list(DEFAULT_FAULTS), severities=sev, target=target_col, seed=seed
    )
    report = run_matrix(reference, current, opts)
    if markdown is not None:
        from mlsre.chaos.render import to_markdown

        markdown.write_text(to_markdown(report), encoding="utf-8")
    if png is not None:
        from mlsre.chaos.render import write_png

        write_png(report, png)
    if as_json:
        output.print_json(report)
    else:
        _render_matrix(report)


def _render_matrix(report: MatrixReport) -> None:
    from mlsre.chaos.render import cell_text

    by_fault: dict[str, list[str]] = {}
    for run in report.cells:
        by_fault.setdefault(run.kind.value, []).append(cell_text(run))
    rows = []
    for s in report.summary:
        smallest = f"{s.smallest_detected:g}" if s.smallest_detected is not None else "never"
        name = s.fault + (f" ({', '.join(s.columns)})" if s.columns else "")
        rows.append([(name), *by_fault.get(s.fault, []), smallest])
    output.table(
        (
            f"would we notice? {report.reference}"
            + (f" (faults applied to {report.current})" if report.current else "")
        ),
        ["fault", *[f"{v:g}" for v in report.severities], "smallest caught"],
        rows,
    )
    output.line(
        "data = data check; drift-share = drift --fail-on-drift; drift-any = drift --fail-on any"
    )
    for s in report.summary:
        caught = s.smallest_detected == min(report.severities)
        output.line(s.sentence, tone="ok" if caught else "bad")
    if report.false_alarms:
        output.line(
            f"false alarms on the uncorrupted copy: {', '.join(report.false_alarms)}",
            tone="bad",
        )
    else:
        output.line("the uncorrupted copy raised no alarm", tone="ok")
    for text in report.skipped:
        output.line(f"not run: {text}")
    output.line(f"{len(report.cells)} runs in {report.seconds:.1f}s")
