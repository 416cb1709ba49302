"""A step made ready to run: its kind looked up, refused outright if the kind says so, its
`with` rendered in the sandbox and parsed into the kind's typed params."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlsre.errors import MlsreError
from mlsre.runbook.model import Step
from mlsre.runbook.run_model import StepView
from mlsre.runbook.sandbox import render_value

if TYPE_CHECKING:
    from mlsre.steps.base import StepKind
    from mlsre.steps.catalog import KindCatalog

# A step ready to run: the step, its view, its kind and its params.
Prepared = tuple[Step, StepView, "StepKind[Any]", Any]


def view_of(
    catalog: KindCatalog, step: Step, index: int, total: int, ctx: dict[str, Any]
) -> tuple[StepView, Prepared | None]:
    """The step as the person sees it and, unless ``view.problem`` says why not, the step
    ready to run."""

    def problem(message: str, confirm: bool = True) -> tuple[StepView, None]:
        return StepView(step, index, total, step.uses, None, confirm, problem=message), None

    try:
        kind = catalog.instance(step.uses)
    except MlsreError as exc:
        return problem(exc.message)
    refused = kind.refusal(step.with_) if isinstance(step.with_, dict) else None
    if refused:
        return problem(f"refused: {refused.message}")
    try:
        rendered = render_value(step.with_, ctx)
        params = kind.parse(rendered)
    except MlsreError as exc:
        return problem(exc.message, kind.needs_confirm(None, step.phase.value))
    except Exception as exc:  # pydantic ValidationError: parameters wrong after rendering
        first = str(exc).splitlines()
        detail = " ".join(first[1:3]).strip() or first[0]
        return problem(f"with: invalid parameters for {step.uses}: {detail}")
    try:
        description = kind.describe(params)
    except Exception:  # a plugin's describe() must never stop a run
        description = step.uses
    confirm = kind.needs_confirm(params, step.phase.value)
    view = StepView(step, index, total, description, rendered, confirm)
    return view, (step, view, kind, params)
