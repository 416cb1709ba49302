"""A run's record on the incident: what each step writes, and reading it back to resume.

:class:`Journal` listens to a run (see ``RunListener``) and appends its events to the incident;
:func:`read_runs` reads them back. Everything a run writes is bounded here: samples, evidence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlsre.incident.model import Event, EventKind
from mlsre.runbook.run_model import Awaiting, RunListener
from mlsre.steps.base import StepStatus
from mlsre.timeutil import iso, utcnow

if TYPE_CHECKING:
    from mlsre.incident.store import Store
    from mlsre.runbook.model import Step
    from mlsre.runbook.run_model import Run, RunReport, StepOutcome, StepView

MAX_EVENT_CHARS = 256_000  # evidence of one step result, as JSON
MAX_RECORDED_SAMPLES = 200  # samples of one step result (the report keeps them all)


def bounded_evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """Keep evidence whole when it is small; otherwise keep what fits and say what was cut."""
    text = json.dumps(evidence, default=str, allow_nan=True)
    if len(text) <= MAX_EVENT_CHARS:
        return evidence
    kept: dict[str, Any] = {}
    budget = MAX_EVENT_CHARS
    for key, value in evidence.items():
        size = len(json.dumps(value, default=str, allow_nan=True))
        if size <= budget:
            kept[key] = value
            budget -= size
        else:
            kept[key] = {"truncated": True, "chars": size}
    return kept


def step_result_data(run_id: str, out: StepOutcome) -> dict[str, Any]:
    """A STEP_RESULT event's data: the outcome, bounded (the store redacts every event)."""
    data = {
        "run": run_id,
        "step": out.step,
        "kind": out.kind,
        "phase": out.phase.value,
        "status": out.status.value,
        "summary": out.summary,
        "duration_s": out.duration_s,
        "attempts": out.attempts,
        "output": out.output,
        "samples": out.samples[:MAX_RECORDED_SAMPLES],
        "changes": out.changes,
        "evidence": bounded_evidence(out.evidence),
    }
    if out.awaiting is not None:
        data["awaiting"] = out.awaiting.value
    return data


def _model_changes(run: Run, outcome: StepOutcome) -> list[dict[str, Any]]:
    """The outcome's changes that moved a model, as its kind tells them apart."""
    from mlsre.steps.base import StepResult

    cls = run.catalog.kinds.get(outcome.kind)
    if not outcome.changes or cls is None:
        return []
    return cls().model_changes(StepResult(outcome.status, changes=outcome.changes))


class Journal(RunListener):
    """Records a run on its incident: started, each step's start and result, model changes,
    edited inputs, finished or interrupted."""

    def __init__(self, store: Store, incident_id: int, actor: str) -> None:
        self.store = store
        self.incident_id = incident_id
        self.actor = actor

    def _append(self, kind: EventKind, data: dict[str, Any]) -> None:
        from mlsre.jsonutil import plain

        self.store.append(self.incident_id, kind, plain(data), self.actor, utcnow())

    def run_started(self, run: Run) -> None:
        phase = run.options.phase
        self._append(
            EventKind.RUNBOOK_STARTED,
            {
                "run": run.run_id,
                "runbook": run.runbook.id,
                "title": run.runbook.title,
                "inputs": run.inputs,
                "at": iso(run.options.at) if run.options.at else None,
                "phase": phase.value if phase else None,
            },
        )

    def step_started(self, run: Run, step: Step, view: StepView) -> None:
        data = {"run": run.run_id, "step": step.id, "kind": step.uses, "phase": step.phase.value}
        self._append(EventKind.STEP_STARTED, {**data, "description": view.description})

    def step_result(self, run: Run, outcome: StepOutcome) -> None:
        self._append(EventKind.STEP_RESULT, step_result_data(run.run_id, outcome))
        for change in _model_changes(run, outcome):
            data = {"run": run.run_id, "step": outcome.step, **change}
            self._append(EventKind.MODEL_CHANGED, data)

    def inputs_changed(self, run: Run, step: Step, changes: dict[str, Any]) -> None:
        data = {"run": run.run_id, "runbook": run.runbook.id, "step": step.id, "changes": changes}
        self._append(EventKind.INPUTS_CHANGED, data)

    def run_finished(self, run: Run, report: RunReport) -> None:
        if run.quit:  # the person stopped: the run stays unfinished, to be resumed
            return
        counts = {s.value: len(report.named(s)) for s in StepStatus}
        data = {"run": run.run_id, "runbook": run.runbook.id, "outcome": report.outcome.value}
        self._append(EventKind.RUNBOOK_FINISHED, {**data, "counts": counts})

    def interrupted(self, run: Run) -> None:
        data = {"run": run.run_id, "runbook": run.runbook.id, "step": ", ".join(run.running)}
        self._append(EventKind.INTERRUPTED, data)


@dataclass
class RecordedStep:
    status: StepStatus
    summary: str
    output: Any
    samples: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    duration_s: float
    awaiting: Awaiting | None = None

    @classmethod
    def of(cls, data: dict[str, Any]) -> RecordedStep:
        status = StepStatus(data["status"])
        summary = data.get("summary", "")
        given = data.get("awaiting")
        return cls(
            status=status,
            summary=summary,
            output=data.get("output"),
            samples=list(data.get("samples") or []),
            changes=list(data.get("changes") or []),
            duration_s=float(data.get("duration_s") or 0.0),
            awaiting=Awaiting(given) if given else _awaiting_before_the_field(status, summary),
        )


def _awaiting_before_the_field(status: StepStatus, summary: str) -> Awaiting | None:
    """Events written before ``awaiting`` was recorded said it only at the head of the summary."""
    from mlsre.runbook.gates import AWAITING, UNDECIDED

    if status is not StepStatus.SKIPPED:
        return None
    if summary.startswith(AWAITING):
        return Awaiting.APPROVAL
    return Awaiting.DECISION if summary.startswith(UNDECIDED) else None


@dataclass
class RunRecord:
    """What the incident's events say about one run of a runbook."""

    run_id: str
    runbook: str
    inputs: dict[str, Any]
    at: str | None
    phase: str | None
    finished: bool = False
    results: dict[str, RecordedStep] = field(default_factory=dict)
    started_only: set[str] = field(default_factory=set)  # started, no result (crash in between)
    started_count: dict[str, int] = field(default_factory=dict)

    def read(self, ev: Event) -> None:
        """One more event of this run."""
        step = ev.data.get("step")
        if ev.kind is EventKind.STEP_STARTED and step:
            self.started_only.add(step)
            self.started_count[step] = self.started_count.get(step, 0) + 1
        elif ev.kind is EventKind.STEP_RESULT and step:
            self.started_only.discard(step)
            self.results[step] = RecordedStep.of(ev.data)
        elif ev.kind is EventKind.RUNBOOK_FINISHED:
            self.finished = True


def read_runs(events: list[Event]) -> list[RunRecord]:
    runs: dict[str, RunRecord] = {}
    for ev in events:
        d = ev.data
        run_id = d.get("run")
        if ev.kind is EventKind.RUNBOOK_STARTED and run_id:
            inputs = dict(d.get("inputs") or {})
            runs[run_id] = RunRecord(run_id, d["runbook"], inputs, d.get("at"), d.get("phase"))
        elif run_id in runs:
            runs[run_id].read(ev)
    return list(runs.values())


def unfinished_run(events: list[Event]) -> RunRecord | None:
    runs = [r for r in read_runs(events) if not r.finished]
    return runs[-1] if runs else None
