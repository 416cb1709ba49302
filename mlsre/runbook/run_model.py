"""What a runbook run is made of: options, the person's interface, the run in progress, who
listens to it, and the report it produces."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from mlsre.errors import ExitCode
from mlsre.runbook.context import incident_context, step_namespace
from mlsre.runbook.model import Runbook, Step
from mlsre.steps.base import Interaction, Phase, StepResult, StepStatus
from mlsre.timeutil import iso, utcnow

if TYPE_CHECKING:
    from mlsre.incident.model import Incident
    from mlsre.runbook.journal import RecordedStep, RunRecord
    from mlsre.steps.catalog import KindCatalog

MAX_PARALLEL = 16  # steps are I/O-bound (HTTP, subprocess); threads wait, not compute


class Decision(StrEnum):
    RUN = "run"
    SKIP = "skip"
    EDIT = "edit"  # edit inputs, then ask again
    QUIT = "quit"


class RunOutcome(StrEnum):
    HEALTHY = "healthy"  # every check that ran passed
    UNHEALTHY = "unhealthy"  # a check ran and found a problem
    ERROR = "error"  # a check could not run; health unknown
    QUIT = "quit"  # the person stopped the run (resume later)

    @classmethod
    def of(cls, statuses: list[StepStatus], quit_: bool) -> RunOutcome:
        """A failed check makes the run unhealthy; else a check that could not run, an error."""
        if StepStatus.FAILED in statuses:
            return cls.UNHEALTHY
        if StepStatus.ERROR in statuses:
            return cls.ERROR
        return cls.QUIT if quit_ else cls.HEALTHY

    @property
    def exit_code(self) -> ExitCode:
        return {
            RunOutcome.HEALTHY: ExitCode.OK,
            RunOutcome.UNHEALTHY: ExitCode.FAILED,
            RunOutcome.ERROR: ExitCode.CHECK_ERROR,
            RunOutcome.QUIT: ExitCode.OK,
        }[self]


class Awaiting(StrEnum):
    """What a step left for a person (its status stays "skipped"; `--json` field ``awaiting``)."""

    APPROVAL = "approval"  # a change not approved: `mlsre runbook approve`
    DECISION = "decision"  # a `when` that could not be decided: a person decides


@dataclass
class StepView:
    """A step as the person sees it before it runs."""

    step: Step
    index: int
    total: int
    description: str
    params: dict[str, Any] | None
    needs_confirm: bool  # a person's yes (or --yes) before it runs: StepKind.needs_confirm
    problem: str | None = None  # rendering or parameter error
    change: str | None = None  # what it will change, read from the system before asking

    @classmethod
    def bare(cls, step: Step) -> StepView:
        """A step that never got as far as its kind (skipped, or its `when` failed)."""
        return cls(step, 0, 0, step.uses, None, False)


@dataclass
class StepOutcome:
    step: str
    title: str
    phase: Phase
    kind: str
    status: StepStatus
    summary: str
    description: str = ""
    output: Any = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    attempts: int = 0
    resumed: bool = False  # recorded by an earlier, interrupted run
    awaiting: Awaiting | None = None  # left for a person (see Awaiting)

    @property
    def needs_attention(self) -> bool:
        return self.status is StepStatus.PENDING or self.awaiting is not None

    @classmethod
    def of(
        cls,
        view: StepView,
        result: StepResult,
        duration: float,
        attempts: int,
        awaiting: Awaiting | None = None,
    ) -> StepOutcome:
        """A fresh outcome: the kind's result (status None: passed) and how long it took."""
        step = view.step
        return cls(
            step=step.id,
            title=step.title,
            phase=step.phase,
            kind=step.uses,
            status=result.status or StepStatus.PASSED,
            summary=result.summary,
            description=view.description,
            output=result.output,
            samples=result.samples,
            evidence=result.evidence,
            changes=result.changes,
            duration_s=round(duration, 4),
            attempts=attempts,
            awaiting=awaiting,
        )

    @classmethod
    def dry(cls, step: Step, view: StepView) -> StepOutcome:
        """What a dry run shows of a step: what it would do, or why it could not."""
        return cls(
            step.id,
            step.title,
            step.phase,
            step.uses,
            StepStatus.SKIPPED,
            view.problem or "dry run: not executed",
            description=view.description,
            output=view.params,
        )

    @classmethod
    def resumed_from(cls, step: Step, rec: RecordedStep) -> StepOutcome:
        """A result an earlier run recorded, reused instead of running the step again."""
        return cls(
            step.id,
            step.title,
            step.phase,
            step.uses,
            rec.status,
            rec.summary,
            output=rec.output,
            samples=rec.samples,
            changes=rec.changes,
            duration_s=rec.duration_s,
            resumed=True,
            awaiting=rec.awaiting,
        )


@dataclass
class RunReport:
    run_id: str
    runbook: str
    incident: str | None
    outcome: RunOutcome
    steps: list[StepOutcome]
    needs_attention: list[str] = field(default_factory=list)
    stopped_at: str | None = None
    dry_run: bool = False
    evaluated_at: str | None = None  # the time the data was read as of (--at, else the start)

    @classmethod
    def of(cls, run: Run) -> RunReport:
        ordered = [run.outcomes[s.id] for s in run.runbook.steps if s.id in run.outcomes]
        return cls(
            run_id=run.run_id,
            runbook=run.runbook.id,
            incident=run.incident.ref if run.incident else None,
            outcome=RunOutcome.of([o.status for o in ordered], run.quit),
            steps=ordered,
            needs_attention=[f"{o.step}: {o.summary}" for o in ordered if o.needs_attention],
            stopped_at=run.stopped_at,
            dry_run=run.options.dry_run,
            evaluated_at=iso(run.ctx["at"]),
        )

    def named(self, status: StepStatus) -> list[str]:
        return [o.step for o in self.steps if o.status is status]

    @property
    def exit_code(self) -> ExitCode:
        return self.outcome.exit_code


class Operator(Interaction, Protocol):
    """The person (or the lack of one) running the runbook; the CLI implements it."""

    interactive: bool

    def before_step(self, view: StepView) -> Decision: ...

    def edit_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]: ...

    def confirm(self, view: StepView, question: str) -> bool: ...

    def interrupted_mitigation(self, view: StepView) -> bool:
        """A mitigation started earlier and has no result: run it again?"""

    def running(self, view: StepView) -> AbstractContextManager[None]: ...

    def after_step(self, view: StepView, outcome: StepOutcome) -> None: ...


class Unattended:
    """No person: run everything; confirm-gated steps need ``--yes``; questions stay pending."""

    interactive = False

    def __init__(self, yes: bool = False) -> None:
        self.yes = yes
        self.seen: list[StepOutcome] = []

    def before_step(self, view: StepView) -> Decision:
        return Decision.RUN

    def edit_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return inputs

    def confirm(self, view: StepView, question: str) -> bool:
        return self.yes

    def interrupted_mitigation(self, view: StepView) -> bool:
        return False

    def running(self, view: StepView) -> AbstractContextManager[None]:
        return nullcontext()

    def after_step(self, view: StepView, outcome: StepOutcome) -> None:
        self.seen.append(outcome)

    def ask(
        self, question: str, *, choices: list[str] | None = None, default: str | None = None
    ) -> str | None:
        return None

    def checklist(self, title: str, items: list[str]) -> list[str] | None:
        return None


@dataclass
class RunOptions:
    inputs: dict[str, str] = field(default_factory=dict)
    at: datetime | None = None
    phase: Phase | None = None
    dry_run: bool = False
    transport: Any = None  # a replay transport; None = live systems
    max_parallel: int = MAX_PARALLEL


@dataclass
class Run:
    """One walk through a runbook: what it was given, and what it has found so far."""

    runbook: Runbook
    options: RunOptions
    incident: Incident | None
    run_id: str
    prior: RunRecord  # what an earlier, interrupted run of it recorded (empty for a fresh run)
    catalog: KindCatalog  # the step kinds it runs
    ctx: dict[str, Any] = field(default_factory=dict)  # what templates and expressions see
    listeners: list[RunListener] = field(default_factory=list)
    outcomes: dict[str, StepOutcome] = field(default_factory=dict)
    running: list[str] = field(default_factory=list)  # between step started and its result
    stopped_at: str | None = None
    quit: bool = False

    def __post_init__(self) -> None:
        now = utcnow()
        self.ctx = {
            "inputs": dict(self.prior.inputs),
            "incident": incident_context(self.incident),
            "runbook": {"id": self.runbook.id, "title": self.runbook.title},
            "now": now,
            "at": self.options.at or now,
            "steps": {s.id: step_namespace(None) for s in self.runbook.steps},
        }

    @property
    def steps(self) -> list[Step]:
        return self.runbook.steps

    @property
    def inputs(self) -> dict[str, Any]:
        return dict(self.ctx["inputs"])

    def keep(self, out: StepOutcome) -> None:
        """An outcome of this run; later steps' templates see it."""
        self.outcomes[out.step] = out
        self.ctx["steps"][out.step] = step_namespace(
            out.status, out.output, out.summary, out.samples
        )


class RunListener:
    """Told what a run does, as it does it (the incident's journal is one; see journal.py).

    Calls come one at a time (the engine holds its lock), from the step's thread.
    """

    def run_started(self, run: Run) -> None:
        """A fresh run began (a resumed run continues one already started)."""

    def step_started(self, run: Run, step: Step, view: StepView) -> None:
        """A step is about to run (not called for steps skipped before running)."""

    def step_result(self, run: Run, outcome: StepOutcome) -> None:
        """A step's outcome, fresh (never one reused from an earlier run)."""

    def inputs_changed(self, run: Run, step: Step, changes: dict[str, Any]) -> None:
        """The person edited inputs before ``step``: each changed name, old and new."""

    def run_finished(self, run: Run, report: RunReport) -> None:
        """The walk ended (``run.quit``: the person quit; it can be resumed)."""

    def interrupted(self, run: Run) -> None:
        """Ctrl-C: ``run.running`` names the steps still running."""
