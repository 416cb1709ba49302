"""A step made ready to run: its kind looked up, its `with` rendered in the sandbox and
validated against the kind's Params, and the steps that are refused outright.

Each piece is self-contained (the kind's own hooks replace them one by one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlsre.errors import MlsreError
from mlsre.runbook.model import Step
from mlsre.runbook.run_model import StepView
from mlsre.runbook.sandbox import render_value

if TYPE_CHECKING:
    from mlsre.steps.registry import KindRegistry

Prepared = tuple[Step, StepView, Any, Any]  # a step ready to run: its view, kind and params


def view_of(
    registry: KindRegistry, step: Step, index: int, total: int, ctx: dict[str, Any]
) -> tuple[StepView, Any, Any]:
    """The step as the person sees it, its kind and validated params (a problem: kind None)."""
    from mlsre.steps.registry import needs_confirm

    def problem(message: str, mutating: bool = True) -> tuple[StepView, Any, Any]:
        return StepView(step, index, total, step.uses, None, mutating, problem=message), None, None

    try:
        cls: Any = registry.get(step.uses)
    except MlsreError as exc:
        return problem(exc.message)
    refused = _code_injection(step)
    if refused:
        return problem(refused)
    try:
        rendered = render_value(step.with_, ctx)
        params = cls.Params.model_validate(rendered)
    except MlsreError as exc:
        return problem(exc.message, bool(getattr(cls, "mutating", True)))
    except Exception as exc:  # pydantic ValidationError: parameters wrong after rendering
        first = str(exc).splitlines()
        detail = " ".join(first[1:3]).strip() or first[0]
        return problem(f"with: invalid parameters for {step.uses}: {detail}")
    kind = cls()
    try:
        description = kind.describe(params)
    except Exception:  # a plugin's describe() must never stop a run
        description = step.uses
    mutating = needs_confirm(cls, params, step.phase.value)
    return StepView(step, index, total, description, rendered, mutating), kind, params


def _code_injection(step: Step) -> str | None:
    """A shell step templating into an interpreter's code (``sh -c``) is never run."""
    from mlsre.runbook.injection import script_argument_problem

    if step.uses != "shell" or not isinstance(step.with_, dict):
        return None
    found = script_argument_problem(step.with_.get("argv"))
    return f"refused: {found[1]}" if found else None
