"""``canary.judge``: the canary judge as a runbook step, so a runbook can gate on it.

Same parameters and result as ``mlsre canary judge``: passed on pass, failed on fail (and on
marginal unless ``marginal_is: pass``), error when it could not judge (Prometheus down, a bad
query, no data for a critical metric). The output is the whole judgement (``--json``'s shape),
so later steps read ``steps.judge.output.verdict`` and ``.score``, plus ``table`` (the rows the
terminal shows, which postmortems render).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlsre.steps.base import StepContext, StepResult


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


class CanaryJudge:
    """Judge a canary version against the baseline (Mann-Whitney per metric, Kayenta scoring)."""

    name: ClassVar[str] = "canary.judge"
    Params: ClassVar[type[BaseModel]] = JudgeParams
    mutating: ClassVar[bool] = False

    def describe(self, params: Any) -> str:
        config = params.config or "the default canary config"
        return f"judge {params.model} version {params.canary} against {params.baseline} ({config})"

    def run(self, params: Any, ctx: StepContext) -> StepResult:
        from mlsre.canary.judge import Verdict
        from mlsre.canary.report import COLUMNS, headline, rows
        from mlsre.canary.run import JudgeOptions, run_judge
        from mlsre.errors import MlsreError
        from mlsre.jsonutil import plain
        from mlsre.steps.base import StepStatus
        from mlsre.steps.drift_run import resolve_path
        from mlsre.steps.evidence import error_result
        from mlsre.timeutil import iso

        opts = JudgeOptions(
            model=params.model,
            canary=params.canary,
            baseline=params.baseline,
            config=str(resolve_path(params.config, ctx)) if params.config else None,
            at=iso(ctx.at) if ctx.at and not params.start else None,
            lookback=params.lookback,
            start=params.start,
            end=params.end,
            step=params.step,
            inputs=dict(params.inputs),
        )
        try:
            judgement = run_judge(opts, ctx.settings, transport=ctx.transport, now=ctx.at)
        except MlsreError as exc:
            return error_result(exc)
        verdict = judgement.verdict
        if verdict is Verdict.MARGINAL:
            verdict = Verdict(params.marginal_is)
        status = {
            Verdict.PASS: StepStatus.PASSED,
            Verdict.FAIL: StepStatus.FAILED,
            Verdict.NODATA: StepStatus.ERROR,
        }[verdict]
        data = plain(judgement)
        # the per-metric table, as the terminal shows it (postmortems render step tables)
        data["table"] = {"columns": COLUMNS, "rows": rows(judgement)}
        samples = [
            {
                "value": r.comparison.distance
                if r.type == "distribution"
                else r.comparison.estimate,
                "labels": {"metric": r.name, "classification": r.classification.value},
            }
            for r in judgement.metrics
        ]
        evidence = {"queries": {r.name: r.queries for r in judgement.metrics}}
        return StepResult(
            status=status,
            summary=headline(judgement),
            output=data,
            samples=samples,
            evidence=evidence,
        )


KINDS: list[type] = [CanaryJudge]
