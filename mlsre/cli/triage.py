"""``mlsre triage MODEL``: every fitting runbook's diagnose phase at once, on one screen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mlsre.cli import output
from mlsre.cli.common import JsonOpt, config_path

if TYPE_CHECKING:
    from mlsre.runbook.triage import TriageReport

app = typer.Typer()


@app.command("triage")
def triage(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Registered model name (the `model` label).")],
    at: Annotated[
        str | None, typer.Option("--at", help="Diagnose as of this time (ISO, unix, -2h).")
    ] = None,
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
    from mlsre.settings import load_settings
    from mlsre.timeutil import parse_time

    settings, _ = load_settings(config_path(ctx))
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
    output.line(
        f"Triage of {report.model} (data as of {report.evaluated_at},"
        f" {len(report.verdicts)} runbooks in {report.duration_s:.1f}s)",
        style="bold",
    )
    rows = []
    for v in report.verdicts:
        if v.outcome is None:
            verdict, found = output.styled("error", "error"), f"cannot run: {v.problem}"
        else:
            verdict = output.styled(v.outcome.value, _STYLE.get(v.outcome.value))
            first = v.failed[:1] or v.errors[:1]
            found = "; ".join(f"{f.step}: {f.summary}" for f in first) or "all checks passed"
            more = len(v.failed) + len(v.errors) - len(first)
            found += f" (+{more} more)" if more > 0 else ""
        rows.append([v.runbook, verdict, f"{len(v.failed)}/{v.checks}", _cut(found, 110)])
    output.table(None, ["RUNBOOK", "VERDICT", "FAILED", "WHAT IS WRONG"], rows)
    if report.next_runbook:
        best = report.verdicts[0]
        if best.cause:
            output.line(f"Cause to rule out first: {best.cause}")
        output.line(
            f"Next: mlsre runbook run {report.next_runbook} -i model={report.model}"
            " --incident INC-?  (or --open)",
            style="bold",
        )
    else:
        output.line("No check failed: nothing points at a runbook.")


_STYLE = {"unhealthy": "failed", "healthy": "passed", "error": "error", "quit": "skipped"}


def _cut(text: str, width: int) -> str:
    """Shorten at a word boundary, never mid-word."""
    if len(text) <= width:
        return text
    return text[: width - 1].rsplit(" ", 1)[0] + "…"
