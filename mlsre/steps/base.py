"""The contract between the runbook engine, the validator and a step kind: :class:`StepKind`.

A step kind subclasses ``StepKind[ItsParams]`` (``ItsParams`` is the pydantic model of its
``with:`` block) and implements ``run``, which returns a :class:`StepResult`. Every other hook has
its default here, in one place; the validator, the engine and the preflight ask the kind through
these hooks and never name a kind. A kind never prints or prompts: it talks to external systems
through ``ctx`` and to the person through ``ctx.interaction``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, cast, get_args

if TYPE_CHECKING:
    from pydantic import BaseModel

# How long a step may run when neither the step (`timeout:`), its kind (`time_limit`) nor its
# params (`timeout_s`) say otherwise.
DEFAULT_TIME_LIMIT_S = 60.0


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

    settings: Any  # mlsre.settings.Settings (typed loosely to keep this module import-light)
    inputs: dict[str, Any] = field(default_factory=dict)
    incident: dict[str, Any] | None = None
    at: datetime | None = None  # evaluate queries as of this time (None: now)
    timeout_s: float = 30.0
    dry_run: bool = False
    interaction: Interaction | None = None
    transport: Any = None  # replay/recording transport for integrations; None = live HTTP


@dataclass(frozen=True)
class Refusal:
    """Why a step must never run (e.g. a template run as code by ``sh -c``).

    ``at`` is where, inside the step's ``with:`` block (``("argv", 2)``), for the validator's
    ``file:line:column``."""

    message: str
    at: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class ReadCheck:
    """A read-only step a preflight runs in place of another one (``uses``, ``with``, ``expect``).

    ``if_missing`` is added to a "not found in the registry" finding of this check (``{name}`` is
    replaced by the model's name), e.g. how to designate a missing fallback version."""

    uses: str
    with_: dict[str, Any]
    expect: str | None = None
    if_missing: str = ""


P = TypeVar("P", bound="BaseModel")


class StepKind(Generic[P]):
    """One step kind: subclass ``StepKind[ItsParams]``, set ``name`` and implement ``run``.

    ``Params`` is taken from the type argument (``class Ping(StepKind[PingParams])``). Every hook
    below has a default that is right for a read-only check; override only what differs.
    """

    # -- what the kind is -------------------------------------------------------------------------
    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    # Changes a system (so needs `confirm` in any phase), unless `mutates(params)` says otherwise.
    mutating: ClassVar[bool] = False
    # A person is already in the loop (asks one, records what one says, or waits for the system
    # while one watches): never run in parallel with others, no `confirm` even as a mitigation.
    person_in_loop: ClassVar[bool] = False
    # Names an `expect` of this kind may use besides the common ones (None: not declared, so any
    # name is accepted).
    sample_fields: ClassVar[frozenset[str] | None] = None
    # The `with:` field that holds a check this kind polls (`{uses, with, expect}`), if any: the
    # validator checks the inner kind, its params and its `expect` like a step's.
    nested_check: ClassVar[str | None] = None
    # Reads the system as it is now whatever `--at` says (a model registry keeps no history), so
    # a verify step of this kind still runs after a mitigation under `--at`.
    shows_present: ClassVar[bool] = False
    # Why a preflight never runs this kind ("" = it may run, or be replaced by `preflight`).
    preflight_skip: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Params" in cls.__dict__:
            return
        for base in getattr(cls, "__orig_bases__", ()):
            args = [a for a in get_args(base) if isinstance(a, type)]
            if args:
                cls.Params = args[0]
                return

    # -- the hooks --------------------------------------------------------------------------------
    def mutates(self, params: P) -> bool:
        """Does this step, with these params, change a system? Default: the class's ``mutating``."""
        return self.mutating

    def changes_system(self, params: P | None) -> bool:
        """``mutates`` when the params are known (a kind's own bug counts as "yes"), else
        ``mutating`` (templated values are only known at run time)."""
        if params is None:
            return self.mutating
        try:
            return bool(self.mutates(params))
        except Exception:  # a plugin's own bug: the safe answer
            return True

    def changes_system_as_written(self, raw_with: Any) -> bool:
        """:meth:`changes_system` for a ``with:`` block before rendering: its params when they
        parse as written, else (templated values) the class's ``mutating``."""
        try:
            params: P | None = self.parse(raw_with)
        except Exception:
            params = None
        return self.changes_system(params)

    def needs_confirm(self, params: P | None, phase: str) -> bool:
        """The one rule the validator and the engine share: a step needs a person's yes (its
        `confirm`, or `--yes` unattended) when it changes a system, or when it is a mitigation of
        a kind that does not already have a person in the loop."""
        if self.changes_system(params):
            return True
        return str(phase) == "mitigate" and not self.person_in_loop

    def time_limit(self, params: P) -> float:
        """How long the engine lets the step run unless the step's own ``timeout:`` says:
        the params' ``timeout_s`` when set, else :data:`DEFAULT_TIME_LIMIT_S`."""
        own = getattr(params, "timeout_s", None)
        return float(own) if isinstance(own, int | float) and own > 0 else DEFAULT_TIME_LIMIT_S

    def describe(self, params: P) -> str:
        """One line: what this step will query or change (dry runs, confirm prompts, `show`)."""
        return self.name

    def preview(self, params: P, ctx: StepContext) -> str | None:
        """What the step will change, read from the system now (for the confirm prompt)."""
        return None

    def refusal(self, raw_with: dict[str, Any]) -> Refusal | None:
        """Why a step with this (unrendered) ``with:`` must never run; None when it may. The
        validator reports it at ``Refusal.at``; the engine refuses to run the step."""
        return None

    def preflight(self, raw_with: dict[str, Any], settings: Any) -> list[ReadCheck] | None:
        """The read-only checks a preflight runs in place of this step (``with`` unrendered).

        None (the default): the step itself when it changes nothing; a step that changes a
        system is then not run at all."""
        return None

    def model_changes(self, result: StepResult) -> list[dict[str, Any]]:
        """The entries of ``result.changes`` that moved a model (recorded on the incident)."""
        return [
            c
            for c in result.changes
            if c.get("kind") == "alias" or {"alias", "from_version", "to_version"} <= set(c)
        ]

    def parse(self, raw: Any) -> P:
        """The typed params for a (rendered) ``with:`` block; raises pydantic's ValidationError."""
        return cast(P, self.Params.model_validate(raw))

    def run(self, params: P, ctx: StepContext) -> StepResult:
        raise NotImplementedError(f"step kind {self.name} has no run()")
