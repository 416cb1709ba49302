"""What a runbook run is made of: options, the person's interface, and the report it produces."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from mlsre.errors import ExitCode
from mlsre.runbook.journal import RecordedStep
from mlsre.runbook.model import Step
from mlsre.steps.base import Interaction, Phase, StepStatus

DEFAULT_TIMEOUT_S = 60.0
# Kinds that ask the person, wait or write a note: they change no system (even in the mitigate
# phase) and never run in a concurrent batch.
PERSON_KINDS = frozenset({"manual", "wait", "note"})
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


@dataclass
class StepView:
    """A step as the person sees it before it runs."""

    step: Step
    index: int
    total: int
    description: str
    params: dict[str, Any] | None
    mutating: bool
    problem: str | None = None  # rendering or parameter error
    change: str | None = None  # what it will change, read from the system before asking


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
