"""``canary.judge``: the canary judge as a runbook step, so a runbook can gate on it.

Same parameters and result as ``mlsre canary judge``: passed on pass, failed on fail (and on
marginal unless ``marginal_is: pass``), error when it could not judge (Prometheus down, a bad
query, no data for a critical metric). The output is the whole judgement (``--json``'s shape),
so later steps read ``steps.judge.output.verdict`` and ``.score``, plus ``table`` (the rows the
terminal shows, which postmortems render).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlsre.steps.base import StepContext, StepKind, StepResult


class JudgeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="Registered model name (the `model` label).")
    canary: str = Field(min_length=1, description="The canary version.")
    baseline: str = Field(min_length=1, description="The baseline version, serving at once.")
    config: str | None = Field(
        None,
        description="A CanaryConfig file (relative: to the working directory, else to "
        "mlsre.yaml's folder); default: the built-in config.",
    )
    lookback: str | None = Field(None, description="Window before the run's time (default 30m).")
    start: str | None = Field(None, description="Or: window start (with end).")
    end: str | None = Field(None, description="Or: window end (with start).")
    step: str = Field("1m", description="Resolution of the range queries.")
    inputs: dict[str, str] = Field(default_factory=dict, description="Config input overrides.")
    marginal_is: Literal["fail", "pass"] = Field("fail", description="How a marginal score counts.")


class CanaryJudge(StepKind[JudgeParams]):
    """Judge a canary version against the baseline (Mann-Whitney per metric, Kayenta scoring)."""

    name = "canary.judge"

    def describe(self, params: JudgeParams) -> str:
        config = params.config or "the default canary config"
        return f"judge {params.model} version {params.canary} against {params.baseline} ({config})"

    def run(self, params: JudgeParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.canary.run import run_judge_step

        return run_judge_step(params, ctx)


KINDS: list[type[StepKind[Any]]] = [CanaryJudge]
