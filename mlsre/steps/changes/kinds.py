"""Step kind ``changes``: what changed before the incident (or before ``at``), ranked.

One sample per change: ``value`` (= ``score``, 0..100), ``score``, ``kind``, ``source``,
``summary``, ``at``, ``age_s`` (seconds before the anchor) and ``labels`` (``change``, the summary,
and ``kind``). ``expect: value < 50`` fails the step when a change is a likely cause. Reads the
registry, lineage, the repositories under ``changes.repos`` and the serving metrics; the team's
change log is read by ``mlsre incident changes``, which has the store.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mlsre.steps.base import StepContext, StepKind, StepResult


class ChangesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="Registered model; default: the incident's model.")
    window: str | None = Field(
        None, description="How far back to look; default: changes.window in mlsre.yaml (24h)."
    )


class ChangesStep(StepKind[ChangesParams]):
    """What changed before the incident: deploys, lineage, commits, version labels, ranked."""

    name = "changes"

    def describe(self, params: ChangesParams) -> str:
        what = params.model or "the incident's model"
        return f"list what changed before the incident for {what}, most likely cause first"

    def run(self, params: ChangesParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.changes.run import run_changes

        return run_changes(params, ctx)


KINDS: list[type[StepKind[Any]]] = [ChangesStep]
