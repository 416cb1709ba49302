"""The contract between the runbook engine and a step kind.

A step kind declares a pydantic model for its ``with:`` block (``Params``) and a ``run`` that
returns a :class:`StepResult`. It never prints or prompts: it talks to external systems through
``ctx`` and to the person through ``ctx.interaction``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from pydantic import BaseModel


class StepStatus(StrEnum):
    PASSED = "passed"  # the check ran and the system looks healthy
    FAILED = "failed"  # the check ran and found the system unhealthy
    ERROR = "error"  # the check itself could not run (server down, bad query)
    SKIPPED = "skipped"  # not run: `when` was false, the person skipped it, or awaiting approval
    PENDING = "pending"  # needs a person (a manual step in an unattended run)


class Phase(StrEnum):
    DIAGNOSE = "diagnose"
    MITIGATE = "mitigate"
    VERIFY = "verify"


@dataclass
class StepResult:
    """What a step kind returns.

    ``status`` None means "let the engine decide": passed, unless ``expect`` fails on a sample.
    ``samples`` are what ``expect`` is evaluated over (each a namespace such as
    ``{"value": 0.31, "labels": {"version": "4"}}``); an empty list with an ``expect`` is "no data"
    unless ``judged`` says the kind decided without samples.
    """

    status: StepStatus | None = None
    summary: str = ""
    output: Any = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    # The kind reached its verdict without samples (e.g. "no version change in the lookback"):
    # `expect` has nothing to check and that is not "no data".
    judged: bool = False
    # What the step found beyond its samples (e.g. "version 4 went live at 17:29Z"): kept at the
    # head of the summary whatever `expect` decides.
    finding: str = ""


class Interaction(Protocol):
    """How a step reaches the person running it; the CLI implements it, tests use another."""

    def ask(
        self, question: str, *, choices: list[str] | None = None, default: str | None = None
    ) -> str | None:
        """The answer, or None when nobody can answer (unattended run)."""

    def checklist(self, title: str, items: list[str]) -> list[str] | None:
        """The items the person ticked, or None when nobody can answer."""


@dataclass
class StepContext:
    """Everything a step kind may use while it runs."""

    settings: Any  # mlsre.config.Settings (typed loosely to keep this module import-light)
    inputs: dict[str, Any] = field(default_factory=dict)
    incident: dict[str, Any] | None = None
    at: datetime | None = None  # evaluate queries as of this time (None: now)
    timeout_s: float = 30.0
    dry_run: bool = False
    interaction: Interaction | None = None
    transport: Any = None  # replay/recording transport for integrations; None = live HTTP


class StepKind(Protocol):
    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    mutating: ClassVar[bool]  # changes a system: needs `confirm` in a runbook

    def describe(self, params: Any) -> str:
        """One line: what this step will query or change (dry runs and confirm prompts)."""

    def run(self, params: Any, ctx: StepContext) -> StepResult: ...
