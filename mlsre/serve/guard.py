"""Guard rails for automatic mitigation: the one place that says yes or no, and why.

A mitigation step runs without a person only when ALL hold, checked in this order:
the kill switch is off (``mlsre serve pause``), the server is not ``--dry-run``, the route
lists the step in ``auto_mitigate``, the incident names a model, no other incident of that
model is mid-mitigation, and the per-model rate limit has room. Each decision is an
``auto_action`` event on the timeline naming the rule that allowed or blocked it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mlsre.incident.model import ACTIVE, EventKind, Incident
from mlsre.incident.store import IncidentFilter, Store
from mlsre.runbook import journal
from mlsre.runbook.engine import StepOutcome, StepView, Unattended
from mlsre.steps.base import Phase, StepStatus
from mlsre.timeutil import utcnow

PAUSE_FLAG = "automation_paused"
ACTOR = "mlsre-serve"


@dataclass(frozen=True)
class Rails:
    dry_run: bool
    max_per_model: int
    per: timedelta


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    rule: str
    action_id: int | None = None


def paused(store: Store) -> str | None:
    """Why automation is paused, or None."""
    flag = store.get_flag(PAUSE_FLAG)
    if flag is None:
        return None
    return f"paused by {flag.actor} at {flag.at.isoformat()}" + (
        f": {flag.value}" if flag.value and flag.value != "paused" else ""
    )


def _human_mitigation_elsewhere(store: Store, model: str, incident_id: int) -> str | None:
    """Another active incident of the model with a mitigation step started and not finished."""
    for other in store.incidents(IncidentFilter(statuses=ACTIVE, model=model)):
        if other.id == incident_id:
            continue
        events = store.events(other.id)
        phases = {
            (e.data.get("run"), e.data.get("step")): e.data.get("phase")
            for e in events
            if e.kind is EventKind.STEP_STARTED
        }
        for run in journal.read_runs(events):
            for step in run.started_only:
                if phases.get((run.run_id, step)) == Phase.MITIGATE.value:
                    return f"another incident of {model} ({other.ref}) is mid-mitigation ({step})"
    return None


def decide(
    store: Store, rails: Rails, incident: Incident, step: str, allowed_steps: list[str], route: str
) -> Verdict:
    if step not in allowed_steps:
        return Verdict(False, f"{route} does not list '{step}' in auto_mitigate")
    why = paused(store)
    if why:
        return Verdict(False, f"kill switch: automation {why}")
    if rails.dry_run:
        return Verdict(False, "dry run: mlsre serve --dry-run never mitigates")
    if not incident.model:
        return Verdict(False, "the incident names no model: the per-model guard rails cannot apply")
    busy = _human_mitigation_elsewhere(store, incident.model, incident.id)
    if busy:
        return Verdict(False, busy)
    now = utcnow()
    action_id, blocked = store.claim_auto_action(
        incident.model, incident.id, step, now - rails.per, rails.max_per_model, now
    )
    if blocked:
        return Verdict(False, blocked)
    return Verdict(
        True,
        f"{route}: auto_mitigate [{', '.join(allowed_steps)}]; at most {rails.max_per_model}"
        f" per model per {rails.per}; no other mitigation of {incident.model} in progress",
        action_id,
    )


class GuardedOperator(Unattended):
    """``runbook run --non-interactive`` without --yes, except that mitigation steps the route
    allows are approved through the guard rails; verify steps run only after such a step ran."""

    def __init__(
        self,
        store: Store,
        rails: Rails,
        incident: Incident,
        allowed_steps: list[str],
        route: str,
        on_decision: Any = None,
    ) -> None:
        super().__init__(yes=False)
        self.store = store
        self.rails = rails
        self.incident = incident
        self.allowed = allowed_steps
        self.route = route
        self.on_decision = on_decision
        self._actions: dict[str, int] = {}
        self.mitigated = False

    def confirm(self, view: StepView, question: str) -> bool:
        step = view.step.id
        if view.step.phase is not Phase.MITIGATE and step not in self.allowed:
            return False
        verdict = decide(self.store, self.rails, self.incident, step, self.allowed, self.route)
        if step in self.allowed:  # steps the route never offered stay quietly "awaiting approval"
            self.store.append(
                self.incident.id,
                EventKind.AUTO_ACTION,
                {
                    "step": step,
                    "allowed": verdict.allowed,
                    "rule": verdict.rule,
                    "model": self.incident.model,
                },
                ACTOR,
                utcnow(),
            )
            if self.on_decision is not None:
                self.on_decision(verdict)
        if verdict.action_id is not None:
            self._actions[step] = verdict.action_id
        return verdict.allowed

    def before_step(self, view: StepView) -> Any:
        from mlsre.runbook.engine import Decision

        if view.step.phase is Phase.VERIFY and not self.mitigated:
            return Decision.SKIP
        return Decision.RUN

    def after_step(self, view: StepView, outcome: StepOutcome) -> None:
        super().after_step(view, outcome)
        action = self._actions.pop(outcome.step, None)
        if action is not None:
            self.store.finish_auto_action(action, utcnow())
            self.mitigated = self.mitigated or outcome.status is StepStatus.PASSED
