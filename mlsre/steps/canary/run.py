"""What the ``canary.judge`` step kind does (imported only when such a step runs)."""

from __future__ import annotations

from mlsre.steps.base import StepContext, StepResult
from mlsre.steps.canary.kinds import JudgeParams


def run_judge_step(params: JudgeParams, ctx: StepContext) -> StepResult:
    from mlsre.canary.judge import Verdict
    from mlsre.canary.report import COLUMNS, headline, rows
    from mlsre.canary.run import JudgeOptions, run_judge
    from mlsre.errors import MlsreError
    from mlsre.jsonutil import plain
    from mlsre.steps.base import StepStatus
    from mlsre.steps.drift.run import resolve_path
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
            "value": r.comparison.distance if r.type == "distribution" else r.comparison.estimate,
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
