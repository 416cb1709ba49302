"""Whether a step runs: its `when`, and whether a verify step has a mitigation to verify.

A `when` that reads a step which could not run (error, pending) and comes out false was not
decided: "false" would read as "not needed". Such a step is *undecided*: the person is asked, an
unattended run reports it. A verify step after mitigations that all did not run has nothing to
verify; under `--at` a verify step cannot check a change made now against data of the past
(registry reads show the present anyway, so they run).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from mlsre.errors import MlsreError
from mlsre.runbook.model import Step
from mlsre.runbook.sandbox import evaluate, truthy
from mlsre.steps.base import Phase, StepStatus
from mlsre.timeutil import iso

if TYPE_CHECKING:
    from mlsre.runbook.run_model import Run, StepOutcome

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
    return WhenVerdict(Gate.RUN) if go else _not_run(step, ctx)


def _not_run(step: Step, ctx: dict[str, Any]) -> WhenVerdict:
    """A `when` came out false: skip, unless a step it reads could not run (undecided)."""
    ids = _read_steps(step.when) if isinstance(step.when, str) else []
    read = [(sid, ctx["steps"].get(sid) or {}) for sid in ids]
    unknown = [_no_result(sid, ns) for sid, ns in read if ns.get("status") in ("error", "pending")]
    if unknown:
        return WhenVerdict(Gate.UNDECIDED, f"{UNDECIDED} {_action(step)}: {'; '.join(unknown)}")
    seen = ", ".join(f"{sid} {ns.get('status', 'pending')}" for sid, ns in read)
    return WhenVerdict(
        Gate.SKIP, f"not needed: {step.when} is false" + (f" ({seen})" if seen else "")
    )


def _no_result(sid: str, ns: dict[str, Any]) -> str:
    """'check could not run (server down)', 'check has no result'."""
    said = f" ({ns['summary']})" if ns.get("summary") else ""
    return f"{sid} {'could not run' if ns.get('error') else 'has no result'}{said}"


def verify_skip_reason(step: Step, run: Run) -> str | None:
    """Why a verify step should not run now (None: run it).

    Mitigations an interrupted run started without a result (``run.prior.started_only``) may
    have been applied, so there is something to verify.
    """
    if step.phase is not Phase.VERIFY or run.options.phase is Phase.VERIFY:
        return None  # asked for verification alone: the mitigation happened in an earlier run
    mitigations = _verified(step, run.steps)
    if not mitigations:
        return None
    done = run.outcomes
    ran = [done[m.id] for m in mitigations if m.id in done and done[m.id].status in _RAN]
    if not ran and not run.prior.started_only & {m.id for m in mitigations}:
        return f"{NOTHING_TO_VERIFY}: no mitigation ran ({_why_not(mitigations, done)})"
    return _past_data(step, run, ran)


def _past_data(step: Step, run: Run, ran: list[StepOutcome]) -> str | None:
    """Under --at, a change made now cannot show in data of the past."""
    if run.options.at is None or _shows_present(run, step):
        return None
    if any(o.changes for o in ran):
        where = f" --incident {run.incident.ref}" if run.incident else ""
        return (
            "cannot verify here: the mitigation changed the system now, but this run reads data"
            f" as of {iso(run.options.at)}; check the present with"
            f" `mlsre runbook run {run.runbook.id} --phase verify{where}`"
        )
    return None


_RAN = (StepStatus.PASSED, StepStatus.FAILED)


def _verified(step: Step, steps: list[Step]) -> list[Step]:
    """The mitigations a verify step checks: those it `needs`, else every one."""
    mitigations = [s for s in steps if s.phase is Phase.MITIGATE]
    return [s for s in mitigations if s.id in step.needs] or mitigations


def _why_not(mitigations: list[Step], done: dict[str, StepOutcome]) -> str:
    return "; ".join(
        f"{m.id} {done[m.id].status.value}: {done[m.id].summary}"
        if m.id in done
        else f"{m.id} did not run"
        for m in mitigations
    )


def _shows_present(run: Run, step: Step) -> bool:
    """The step's kind reads the system as it is now whatever --at says (a model registry)."""
    cls = run.catalog.kinds.get(step.uses)
    return cls is not None and cls.shows_present
