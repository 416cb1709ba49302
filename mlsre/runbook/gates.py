"""Whether a step runs: its `when`, and whether a verify step has a mitigation to verify.

A `when` that reads a step which could not run (error, pending) and comes out false was not
decided: "false" would read as "not needed". Such a step is *undecided*: the person is asked, an
unattended run reports it. A verify step after mitigations that all did not run has nothing to
verify; under `--at` a verify step cannot check a change made now against data of the past
(registry reads show the present anyway, so they run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from mlsre.errors import MlsreError
from mlsre.runbook.model import Step
from mlsre.runbook.sandbox import evaluate, truthy
from mlsre.steps.base import Phase, StepStatus
from mlsre.timeutil import iso

if TYPE_CHECKING:
    from mlsre.runbook.run_model import StepOutcome

UNDECIDED = "could not decide whether to"
AWAITING = "awaiting approval"
NOTHING_TO_VERIFY = "nothing to verify"


class Gate(StrEnum):
    RUN = "run"
    SKIP = "skip"  # decided: not needed
    UNDECIDED = "undecided"  # the steps it reads could not run
    ERROR = "error"  # the expression itself is broken


@dataclass
class WhenVerdict:
    gate: Gate
    reason: str = ""


def _action(step: Step) -> str:
    """'roll the serving alias back to the previous version' (from the title), else its id."""
    title = (step.title or "").strip().rstrip(".")
    return title[:1].lower() + title[1:] if title else f"run {step.id}"


def _read_steps(expr: str) -> list[str]:
    from mlsre.runbook.refs import analyze_expression

    return list(dict.fromkeys(r.step for r in analyze_expression(expr).steps))


def judge_when(step: Step, ctx: dict[str, Any]) -> WhenVerdict:
    """Run, skip (with why), undecided (with why), or error (the expression failed)."""
    if step.when is None:
        return WhenVerdict(Gate.RUN)
    try:
        go = truthy(evaluate(step.when, ctx, what="when"))
    except MlsreError as exc:
        return WhenVerdict(Gate.ERROR, exc.message)
    if go:
        return WhenVerdict(Gate.RUN)
    ids = _read_steps(step.when) if isinstance(step.when, str) else []
    read = [(sid, ctx["steps"].get(sid) or {}) for sid in ids]
    unknown = [
        f"{sid} {'could not run' if ns.get('error') else 'has no result'}"
        + (f" ({ns['summary']})" if ns.get("summary") else "")
        for sid, ns in read
        if ns.get("status") in ("error", "pending")
    ]
    if unknown:
        return WhenVerdict(Gate.UNDECIDED, f"{UNDECIDED} {_action(step)}: {'; '.join(unknown)}")
    seen = ", ".join(f"{sid} {ns.get('status', 'pending')}" for sid, ns in read)
    return WhenVerdict(
        Gate.SKIP, f"not needed: {step.when} is false" + (f" ({seen})" if seen else "")
    )


def verify_skip_reason(
    step: Step,
    steps: list[Step],
    outcomes: dict[str, StepOutcome],
    *,
    phase_only: Phase | None,
    at: datetime | None,
    verify_hint: str,
    maybe_ran: set[str] | frozenset[str] = frozenset(),
) -> str | None:
    """Why a verify step should not run now (None: run it).

    ``maybe_ran``: mitigations an interrupted run started without a result; they may have been
    applied, so there is something to verify.
    """
    if step.phase is not Phase.VERIFY or phase_only is Phase.VERIFY:
        return None  # asked for verification alone: the mitigation happened in an earlier run
    mitigations = [s for s in steps if s.phase is Phase.MITIGATE]
    named = [s for s in mitigations if s.id in step.needs]
    mitigations = named or mitigations
    if not mitigations:
        return None
    ran = [
        outcomes[m.id]
        for m in mitigations
        if m.id in outcomes and outcomes[m.id].status in (StepStatus.PASSED, StepStatus.FAILED)
    ]
    if not ran and not maybe_ran & {m.id for m in mitigations}:
        why = "; ".join(
            f"{m.id} {outcomes[m.id].status.value}: {outcomes[m.id].summary}"
            if m.id in outcomes
            else f"{m.id} did not run"
            for m in mitigations
        )
        return f"{NOTHING_TO_VERIFY}: no mitigation ran ({why})"
    if at is not None and any(o.changes for o in ran) and not step.uses.startswith("registry."):
        return (
            f"cannot verify here: the mitigation changed the system now, but this run reads data"
            f" as of {iso(at)}; check the present with `{verify_hint}`"
        )
    return None
