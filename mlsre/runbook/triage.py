"""`mlsre triage MODEL`: the diagnose phase of every runbook that fits, at once, ranked.

Each fitting runbook (it takes a `model` input; narrowed by `--alert` triggers or a failure
mode) runs its diagnose steps unattended, on no incident, all runbooks concurrently. Nothing is
changed and nothing recorded. The view says what is wrong and which runbook to run next: the one
whose checks trace a problem to a version change, then the one whose checks found the most
problems (fewer "could not run" breaks a tie).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mlsre.errors import MlsreError, UsageError
from mlsre.runbook.model import Runbook
from mlsre.runbook.run_model import RunOptions, RunOutcome, Unattended
from mlsre.steps.base import Phase, StepStatus
from mlsre.timeutil import iso, utcnow


@dataclass
class Finding:
    step: str
    title: str
    status: StepStatus
    summary: str


@dataclass
class RunbookVerdict:
    runbook: str
    title: str
    failure_mode: str
    outcome: RunOutcome | None  # None: it could not start (a required input missing...)
    failed: list[Finding] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)
    checks: int = 0  # diagnose steps that ran
    problem: str | None = None
    # A failed check that began with a version change: it names a cause, not only a symptom.
    cause: str | None = None


@dataclass
class TriageReport:
    model: str
    evaluated_at: str
    verdicts: list[RunbookVerdict]  # most problems first
    next_runbook: str | None
    duration_s: float

    @property
    def unhealthy(self) -> bool:
        return any(v.outcome is RunOutcome.UNHEALTHY for v in self.verdicts)


def fitting(
    runbooks: list[Runbook], alert: str | None = None, failure_mode: str | None = None
) -> list[Runbook]:
    """Runbooks that take a model; those an alert triggers or of a failure mode when given."""
    fit = [rb for rb in runbooks if "model" in rb.input_specs()]
    if failure_mode:
        fit = [rb for rb in fit if rb.failure_mode == failure_mode]
    if alert:
        fit = [rb for rb in fit if alert in rb.triggers.alerts]
    return fit


def library(settings: Any) -> list[Runbook]:
    from mlsre.runbook.loader import discover, load_runbook

    return [
        entry.runbook or load_runbook(Path(entry.path))
        for entry in discover(settings).entries
        if entry.in_force
    ]


def _diagnose(runbook: Runbook, model: str, at: datetime, settings: Any) -> RunbookVerdict:
    from mlsre.runbook.engine import Engine

    verdict = RunbookVerdict(runbook.id, runbook.title, runbook.failure_mode, None)
    options = RunOptions(inputs={"model": model}, at=at, phase=Phase.DIAGNOSE)
    try:
        report = Engine(None, settings, Unattended()).run(runbook, options, None, actor="triage")
    except MlsreError as exc:
        verdict.problem = exc.message
        return verdict
    verdict.outcome = report.outcome
    for o in report.steps:
        finding = Finding(o.step, o.title, o.status, o.summary)
        if o.status is StepStatus.FAILED:
            verdict.failed.append(finding)
            changed = o.output.get("changed_at") if isinstance(o.output, dict) else None
            if changed and verdict.cause is None:
                verdict.cause = f"version {o.output.get('version')} went live at {changed}"
        elif o.status is StepStatus.ERROR:
            verdict.errors.append(finding)
        if o.status in (StepStatus.PASSED, StepStatus.FAILED, StepStatus.ERROR):
            verdict.checks += 1
    return verdict


def triage(
    model: str,
    settings: Any,
    *,
    at: datetime | None = None,
    alert: str | None = None,
    failure_mode: str | None = None,
    runbooks: list[Runbook] | None = None,
) -> TriageReport:
    started = time.monotonic()
    when = at or utcnow()
    chosen = fitting(runbooks if runbooks is not None else library(settings), alert, failure_mode)
    if not chosen:
        raise UsageError(
            "no runbook fits"
            + (f" alert {alert}" if alert else "")
            + (f" failure mode {failure_mode}" if failure_mode else ""),
            hint="see `mlsre runbook list` (a runbook fits when it takes a `model` input)",
        )
    with ThreadPoolExecutor(max_workers=len(chosen), thread_name_prefix="triage") as pool:
        verdicts = list(pool.map(lambda rb: _diagnose(rb, model, when, settings), chosen))
    verdicts.sort(
        key=lambda v: (v.cause is None, -len(v.failed), len(v.errors), v.outcome is None, v.runbook)
    )
    best = verdicts[0] if verdicts and verdicts[0].failed else None
    return TriageReport(
        model=model,
        evaluated_at=iso(when),
        verdicts=verdicts,
        next_runbook=best.runbook if best else None,
        duration_s=round(time.monotonic() - started, 3),
    )
