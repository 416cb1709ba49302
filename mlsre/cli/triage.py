"""``mlsre triage MODEL``: every fitting runbook's diagnose phase at once, on one screen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mlsre.cli import common, output
from mlsre.cli.common import AtOpt, JsonOpt

if TYPE_CHECKING:
    from mlsre.runbook.triage import TriageReport

app = typer.Typer()


@app.command("triage")
def triage(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Registered model name (the `model` label).")],
    at: AtOpt = None,
    alert: Annotated[
        str | None, typer.Option("--alert", help="Only runbooks this alert triggers.")
    ] = None,
    failure_mode: Annotated[
        str | None, typer.Option("--failure-mode", help="Only runbooks of this failure mode.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What is wrong with a model, and which runbook to run next.

    Runs the diagnose phase of every runbook that takes a model (all at once, unattended,
    recording nothing, changing nothing) and ranks them by the problems their checks found.
    Exit codes: 0 nothing found, 1 a check failed, 4 only "could not run" problems.

    Example: mlsre triage fraud-detector --at -30m
    """
    from mlsre.runbook.triage import triage as run_triage
    from mlsre.timeutil import parse_time

    settings = common.settings(ctx)
    report = run_triage(
        model,
        settings,
        at=parse_time(at) if at else None,
        alert=alert,
        failure_mode=failure_mode,
    )
    if as_json:
        output.print_json(report)
    else:
        _render(report)
    errors = any(v.errors for v in report.verdicts)
    raise typer.Exit(1 if report.unhealthy else 4 if errors else 0)


def _render(report: TriageReport) -> None:
    import re

    output.line(
        f"Triage of {report.model} (data as of {report.evaluated_at},"
        f" {len(report.verdicts)} runbooks in {report.duration_s:.1f}s)",
        tone="accent",
    )
    rows = []
    for v in report.verdicts:
        if v.outcome is None:
            verdict, found = output.styled("error"), f"cannot run: {v.problem}"
        else:
            verdict = output.styled(v.outcome.value)
            first = (v.failed or v.errors)[:1]
            found = "; ".join(
                f"{f.step}: {re.sub(r'expect `[^`]*` ', '', f.summary)}" for f in first
            )
            found = found or "all checks passed"
        rows.append([v.runbook, verdict, f"{len(v.failed)}/{v.checks}", found])
    columns = ["RUNBOOK", "VERDICT", "FAILED", "WHAT IS WRONG"]
    if output.is_terminal():  # one line per runbook: the finding cut to the screen's width
        from rich.table import Table
        from rich.text import Text

        console = output.console()
        widths = [max(len(col), *(len(str(r[n])) for r in rows)) for n, col in enumerate(columns)]
        room = max(20, console.width - sum(widths[:3]) - 9)
        table = Table(box=None, header_style=output.STYLE["accent"], padding=(0, 1))
        for col in columns:
            table.add_column(output.text(col))
        for row in rows:
            cells = [c if isinstance(c, Text) else output.text(c) for c in row]
            cells[3].truncate(room, overflow="ellipsis")
            table.add_row(*cells)
        console.print(table)
    else:
        output.table(None, columns, rows)
    if report.next_runbook:
        best = report.verdicts[0]
        if best.cause:
            output.line(f"Cause to rule out first: {best.cause}")
        output.line(
            f"Next: mlsre runbook run {report.next_runbook} -i model={report.model} --open",
            tone="accent",
        )
    else:
        output.line("No check failed: nothing points at a runbook.")
