"""Asking before a step changes a system: what it will change, and the question to ask."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

from mlsre.errors import MlsreError
from mlsre.incident.model import Event
from mlsre.runbook import journal
from mlsre.runbook.gates import AWAITING, NOTHING_TO_VERIFY
from mlsre.runbook.model import Runbook, Step
from mlsre.runbook.run_model import Awaiting, RunOptions, StepView
from mlsre.runbook.sandbox import render_value
from mlsre.steps.base import Phase, StepContext, StepStatus

if TYPE_CHECKING:
    from mlsre.settings import Settings
    from mlsre.steps.base import StepKind


def preview(
    kind: StepKind[Any], params: Any, settings: Settings, ctx: dict[str, Any], options: RunOptions
) -> str | None:
    """What the step will change, read from the system now ("move champion of m from 4 to 3").

    None when the kind cannot tell, or under --replay (a preview would use up recorded answers).
    """
    if options.transport is not None:
        return None
    sctx = StepContext(
        settings=settings,
        inputs=dict(ctx["inputs"]),
        incident=ctx["incident"] or None,
        dry_run=True,
    )
    try:
        text = kind.preview(params, sctx)
    except MlsreError as exc:
        return f"cannot tell what will change ({exc.message})"
    except Exception:  # a plugin's preview must never stop a run
        return None
    return str(text) if text else None


def question(step: Step, view: StepView, ctx: dict[str, Any]) -> str:
    """The runbook's `confirm` text rendered, else what the step will change, as a question."""
    text = step.confirm if isinstance(step.confirm, str) else f"{view.change or view.description}?"
    with suppress(MlsreError):  # an unrenderable question is still worth asking
        text = str(render_value(text, ctx, what="confirm"))
    return " ".join(text.split())


def refusal(view: StepView, interactive: bool) -> tuple[str, Awaiting | None]:
    """Why a step was not approved; unattended, it is left awaiting approval."""
    what = view.change or view.description
    if interactive:
        return f"declined: {what}", None
    return f"{AWAITING}: {what}", Awaiting.APPROVAL


def interrupted_mitigation(view: StepView) -> str:
    """Why a mitigation an interrupted run started is not run again unasked."""
    return (
        f"{AWAITING}: {view.description} was started by an interrupted run and may have been"
        " applied; check, then run it again by hand"
    )


def awaiting(events: list[Event]) -> tuple[journal.RunRecord, list[str]] | None:
    """The newest run with steps left awaiting approval, and those steps (None: nothing waits)."""
    for rec in reversed(journal.read_runs(events)):
        ids = [
            sid
            for sid, r in rec.results.items()
            if r.status is StepStatus.SKIPPED and r.awaiting is Awaiting.APPROVAL
        ]
        if ids:
            return rec, ids
    return None


def reopen_for_approval(record: journal.RunRecord, runbook: Runbook, ids: list[str]) -> None:
    """Forget the recorded results that approval replaces: the approved steps, and the verify
    steps skipped because no mitigation ran (they run after the approved mitigation)."""
    for sid in ids:
        record.results.pop(sid, None)
    for step in runbook.steps:
        rec = record.results.get(step.id)
        if step.phase is Phase.VERIFY and rec and rec.summary.startswith(NOTHING_TO_VERIFY):
            del record.results[step.id]
