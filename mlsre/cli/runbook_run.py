"""``mlsre runbook run | resume | approve | test``: the engine at the terminal (registered by runbook.py)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlsre.cli import common, output
from mlsre.cli.common import (
    ApproveOpt,
    AsOpt,
    AtOpt,
    IncidentOpt,
    InputOpt,
    JsonOpt,
    NonInteractiveOpt,
    ReplayOpt,
    ReplayRequiredOpt,
)
from mlsre.steps.base import Phase

if TYPE_CHECKING:
    from mlsre.runbook.engine import Operator, RunReport


def _operator(non_interactive: bool, yes: bool, as_json: bool) -> Operator:

    if not non_interactive and not as_json and sys.stdin.isatty() and sys.stdout.isatty():
        from mlsre.cli.operator import TerminalOperator

        return TerminalOperator(yes=yes)
    return _Printing(yes=yes, quiet=as_json)


class _Printing:
    """Unattended, printing one line per step as it finishes (nothing when --json)."""

    interactive = False

    def __init__(self, yes: bool, quiet: bool) -> None:
        from mlsre.runbook.engine import Unattended

        self._inner = Unattended(yes=yes)
        self.quiet = quiet

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def after_step(self, view: Any, outcome: Any) -> None:
        if not self.quiet:
            output.line(step_line(outcome))


def step_line(outcome: Any) -> Any:
    """``  failed  step-id: what it found`` (the status coloured in a terminal, never markup)."""
    status = outcome.status.value
    return output.joined(
        " " * (8 - len(status)), output.styled(status), f"  {outcome.step}: {outcome.summary}"
    )


def render_report(report: RunReport, as_json: bool) -> None:
    if as_json:
        output.print_json(report)
    else:
        if report.dry_run:
            output.table(
                f"Dry run of {report.runbook}: nothing was queried or changed",
                ["STEP", "PHASE", "KIND", "WOULD"],
                [
                    [
                        o.step,
                        o.phase.value,
                        o.kind,
                        o.summary if o.summary != "dry run: not executed" else o.description,
                    ]
                    for o in report.steps
                ],
            )
            return
        from mlsre.steps.base import StepStatus

        where = f" on {report.incident}" if report.incident else ""
        output.line(
            f"Runbook {report.runbook}{where}: {report.outcome.value}"
            f" (data as of {report.evaluated_at})",
            tone="accent",
        )
        for label, status in (("failed", StepStatus.FAILED), ("could not run", StepStatus.ERROR)):
            if names := report.named(status):
                output.line(f"  {label}: {', '.join(names)}")
        for item in report.needs_attention:
            output.line(f"  needs attention: {item}")
        if report.stopped_at:
            output.line(f"  stopped after {report.stopped_at} (on_fail: stop)")
    raise typer.Exit(int(report.exit_code))


def run(
    ctx: typer.Context,
    runbook: Annotated[
        str, typer.Argument(help="Runbook id (see `mlsre runbook list`) or a file.")
    ],
    incident: IncidentOpt = None,
    open_: Annotated[
        bool, typer.Option("--open", help="Open a new incident for this run.")
    ] = False,
    no_incident: Annotated[
        bool,
        typer.Option(
            "--no-incident",
            help="A health check: run it, record nothing on any incident (stats stay true).",
        ),
    ] = False,
    input_: InputOpt = None,
    at: AtOpt = None,
    non_interactive: NonInteractiveOpt = False,
    yes: ApproveOpt = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Render every step and show what it would query or change; touch nothing.",
        ),
    ] = False,
    phase: Annotated[
        Phase | None, typer.Option("--phase", help="Only steps of this phase.")
    ] = None,
    replay: ReplayOpt = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a runbook, step by step with you, or unattended.

    Exit codes: 0 all checks healthy, 1 a check failed (the system is unhealthy),
    4 a check could not run (health unknown).

    Example: mlsre runbook run latency-regression --incident INC-7 -i model=fraud-detector

    Example: mlsre runbook run error-rate --no-incident --non-interactive -i model=fraud-detector
    """
    from mlsre.actor import resolve_actor
    from mlsre.runbook.runner import RunRequest, parse_pairs, start
    from mlsre.timeutil import parse_time

    if incident and open_:
        from mlsre.errors import UsageError

        raise UsageError("give --incident or --open, not both")
    settings, store = common.settings_and_store(ctx)
    req = RunRequest(
        runbook=runbook,
        incident=incident,
        open_incident=open_,
        inputs=parse_pairs(input_ or []),
        at=parse_time(at) if at else None,
        phase=phase,
        dry_run=dry_run,
        replay=replay,
        no_incident=no_incident,
    )
    report = start(
        req, settings, store, _operator(non_interactive, yes, as_json), resolve_actor(as_)
    )
    render_report(report, as_json)


def resume(
    ctx: typer.Context,
    incident: Annotated[
        str, typer.Argument(help="Incident whose interrupted run to continue.", metavar="INCIDENT")
    ],
    non_interactive: NonInteractiveOpt = False,
    yes: ApproveOpt = False,
    replay: ReplayOpt = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Continue an interrupted run (crash, closed laptop) with the steps that have no result.

    A mitigation that started but has no result is never re-run automatically: you are asked.

    Example: mlsre runbook resume INC-7
    """
    from mlsre.actor import resolve_actor
    from mlsre.runbook.runner import resume as resume_run

    settings, store = common.settings_and_store(ctx)
    report = resume_run(
        incident,
        settings,
        store,
        _operator(non_interactive, yes, as_json),
        resolve_actor(as_),
        replay,
    )
    render_report(report, as_json)


def approve(
    ctx: typer.Context,
    incident: Annotated[
        str, typer.Argument(help="Incident whose run left a step awaiting approval.")
    ],
    step: Annotated[
        str | None, typer.Argument(help="The step to approve (default: every step waiting).")
    ] = None,
    non_interactive: NonInteractiveOpt = False,
    yes: ApproveOpt = False,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve a mitigation an unattended run left "awaiting approval", and run it now.

    Asks the same confirm (showing what will change), records the result on the same run, then runs the verify steps that had nothing to verify.

    Example: mlsre runbook approve INC-7 rollback
    """
    from mlsre.actor import resolve_actor
    from mlsre.runbook.runner import approve as approve_run

    settings, store = common.settings_and_store(ctx)
    report = approve_run(
        incident,
        step,
        settings,
        store,
        _operator(non_interactive, yes, as_json),
        resolve_actor(as_),
    )
    render_report(report, as_json)


def test(
    ctx: typer.Context,
    runbook: Annotated[str, typer.Argument(help="Runbook id or file.")],
    replay: ReplayRequiredOpt,
    expect_status: Annotated[
        str | None,
        typer.Option(
            "--expect-status", help="Expected outcome: passed|healthy, failed|unhealthy, error."
        ),
    ] = None,
    expect_step: Annotated[
        list[str] | None, typer.Option("--expect-step", help="STEP=STATUS expected (repeatable).")
    ] = None,
    input_: InputOpt = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Test a runbook against recorded evidence (for your CI); exit 1 when expectations differ.

    Example: mlsre runbook test latency-regression --replay incident.json --expect-status failed
    """
    from mlsre.runbook.engine import Unattended
    from mlsre.runbook.runner import parse_pairs
    from mlsre.runbook.runner import test as test_run
    from mlsre.timeutil import parse_time

    settings = common.settings(ctx)
    report = test_run(
        runbook,
        settings,
        replay,
        parse_pairs(input_ or []),
        parse_time(at) if at else None,
        Unattended(yes=True),
    )
    aliases = {"passed": "healthy", "failed": "unhealthy"}
    problems = []
    if expect_status and aliases.get(expect_status, expect_status) != report.outcome.value:
        problems.append(f"outcome is {report.outcome.value}, expected {expect_status}")
    got = {o.step: o.status.value for o in report.steps}
    for pair in expect_step or []:
        step, _, status = pair.partition("=")
        if got.get(step) != status:
            problems.append(f"step {step} is {got.get(step, 'not run')}, expected {status}")
    if as_json:
        output.print_json({"report": report, "problems": problems, "ok": not problems})
    else:
        for o in report.steps:
            output.line(step_line(o))
        output.line(
            "runbook test passed" if not problems else "runbook test FAILED: " + "; ".join(problems)
        )
    raise typer.Exit(0 if not problems else 1)
