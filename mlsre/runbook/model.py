"""The runbook file format, v1, as a pydantic model.

Only the *shape* lives here; checks that need the whole file (step references, cycles, template
variables) or the step-kind registry (``with:`` parameters) live in :mod:`mlsre.runbook.validate`.
The names templates may use are declared here too, so the validator and the engine agree on them.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlsre.incident.model import Severity
from mlsre.steps.base import Phase

API_VERSION = "mlsre/v1"
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
INPUT_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
KIND_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
DURATION_PATTERN = r"^(\d+(\.\d+)?(ms|s|m|h|d))+$"
ON_FAIL_PATTERN = r"^(continue|stop|goto [a-z0-9][a-z0-9_-]*)$"

# Names a template or expression may start from (the engine provides each of them).
TEMPLATE_GLOBALS = frozenset({"inputs", "steps", "incident", "now", "at", "runbook"})
# Extra names inside `expect` (one sample of the step's result; see mlsre.steps.base.StepResult).
EXPECT_NAMES = frozenset({"value", "labels", "sample", "output"})
# What `steps.<id>.X` may read.
STEP_RESULT_FIELDS = (
    "output",
    "status",
    "failed",
    "passed",
    "error",
    "skipped",
    "summary",
    "samples",
    "value",
)
# Filters the engine adds to Jinja2's built-in ones.
ENGINE_FILTERS = frozenset({"duration", "promql_escape", "percent", "ago"})


class InputType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DURATION = "duration"
    LIST = "list"


class OnFail(StrEnum):
    CONTINUE = "continue"
    STOP = "stop"
    GOTO = "goto"


def default_on_fail(phase: str) -> OnFail:
    """A failed step without ``on_fail``: diagnosis keeps looking; a mitigation or verification
    that failed stops the run rather than act on a broken state."""
    return OnFail.CONTINUE if phase == Phase.DIAGNOSE else OnFail.STOP


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class InputSpec(_Strict):
    """One input a runbook takes (``mlsre runbook run ID --input name=value``)."""

    description: str = Field("", description="What the value is, shown when asking for it.")
    required: bool = Field(False, description="The run refuses to start without it.")
    default: Any = Field(None, description="Value used when the input is not given.")
    type: InputType = Field(
        InputType.STRING, description="How a value given on the command line is parsed."
    )

    @model_validator(mode="after")
    def _default_fits(self) -> InputSpec:
        if self.default is not None:
            problem = input_type_problem(self.type, self.default)
            if problem:
                raise ValueError(f"default {problem}")
        return self


_DURATION = re.compile(DURATION_PATTERN)


def input_type_problem(kind: InputType, value: Any) -> str | None:
    """Why ``value`` is not of input type ``kind`` (None when it is)."""
    if kind == InputType.STRING:
        ok = isinstance(value, str)
    elif kind == InputType.NUMBER:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == InputType.INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == InputType.BOOLEAN:
        ok = isinstance(value, bool)
    elif kind == InputType.DURATION:
        ok = isinstance(value, str) and _DURATION.fullmatch(value) is not None
    else:
        ok = isinstance(value, list)
    return None if ok else f"{value!r} is not a {kind.value}"


class Triggers(_Strict):
    """What this runbook answers: alert names (Alertmanager ``alertname``) and SLO names."""

    alerts: list[str] = Field(default_factory=list)
    slos: list[str] = Field(default_factory=list)


class Step(_Strict):
    """One step: a check (diagnose/verify) or an action (mitigate) done by a step kind."""

    id: str = Field(
        pattern=ID_PATTERN, description="Unique within the runbook; referenced as steps['id']."
    )
    title: str = Field("", description="One line shown to the person running the step.")
    uses: str = Field(
        pattern=KIND_PATTERN, description="Step kind, e.g. prometheus.query, registry.rollback."
    )
    with_: dict[str, Any] = Field(
        default_factory=dict,
        alias="with",
        description="Parameters of the step kind; strings are Jinja2 templates.",
    )
    expect: str | None = Field(
        None,
        description="Jinja2 expression over each sample (value, labels, ...); "
        "the step fails if any sample breaks it.",
    )
    on_fail: str | None = Field(
        None,
        pattern=ON_FAIL_PATTERN,
        description="continue | stop | goto STEP. "
        "Default: continue in diagnose, stop in mitigate and verify.",
    )
    when: str | bool | None = Field(
        None, description="Jinja2 expression; the step is skipped when it is false."
    )
    needs: list[str] = Field(
        default_factory=list, description="Steps that must finish before this one starts."
    )
    phase: Phase = Field(Phase.DIAGNOSE, description="diagnose | mitigate | verify.")
    confirm: str | bool | None = Field(
        None,
        description="Ask before running: a templated question, or true to ask about the step's "
        "description.",
    )
    timeout: str | None = Field(
        None, pattern=DURATION_PATTERN, description="e.g. 30s, 5m; default: the kind's own."
    )
    retries: int = Field(
        0, ge=0, le=10, description="Extra attempts when the step errors (never when it fails)."
    )
    guidance: str = Field(
        "", description="Markdown for the person: what this step tells you, what to do next."
    )

    @field_validator("needs")
    @classmethod
    def _needs_are_ids(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(ID_PATTERN, item):
                raise ValueError(f"'{item}' is not a step id")
        return value

    @property
    def on_fail_action(self) -> OnFail:
        if self.on_fail is None:
            return default_on_fail(self.phase)
        return OnFail(self.on_fail.split()[0])

    @property
    def goto(self) -> str | None:
        """The step to jump to when this one fails (``on_fail: goto X``)."""
        if self.on_fail and self.on_fail.startswith("goto "):
            return self.on_fail.split(None, 1)[1]
        return None

    @property
    def timeout_s(self) -> float | None:
        if self.timeout is None:
            return None
        from mlsre.timeutil import parse_duration

        return parse_duration(self.timeout).total_seconds()


class Runbook(_Strict):
    """A whole runbook file."""

    api_version: Literal["mlsre/v1"] = Field(
        alias="apiVersion", description="Format version: mlsre/v1."
    )
    kind: Literal["Runbook"] = Field(description="Always Runbook.")
    id: str = Field(
        pattern=ID_PATTERN,
        description="Unique id, e.g. latency-regression; a workspace runbook with a bundled id "
        "overrides it.",
    )
    title: str = Field(min_length=1)
    description: str = ""
    failure_mode: str = Field(
        pattern=ID_PATTERN, description="The ML failure mode, e.g. latency, data-drift."
    )
    severity: Severity = Field(
        Severity.SEV3, description="Default severity of incidents this runbook handles."
    )
    owners: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    triggers: Triggers = Field(default_factory=Triggers)
    inputs: dict[str, InputSpec | None] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, value: dict[str, InputSpec | None]) -> dict[str, InputSpec | None]:
        for name in value:
            if not re.fullmatch(INPUT_NAME_PATTERN, name):
                raise ValueError(f"input name '{name}' must be an identifier (letters, digits, _)")
        return value

    def input_specs(self) -> dict[str, InputSpec]:
        """Inputs with ``name: {}`` / ``name:`` (null) normalised to a default spec."""
        return {k: (v or InputSpec()) for k, v in self.inputs.items()}

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)
