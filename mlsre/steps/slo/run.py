"""What the ``slo.status`` step kind does (imported only when such a step runs)."""

from __future__ import annotations

from typing import Any

from mlsre.steps.base import StepContext, StepResult
from mlsre.steps.slo.kinds import SloStatusParams


def run_status(params: SloStatusParams, ctx: StepContext) -> StepResult:
    from mlsre.errors import MlsreError
    from mlsre.integrations.prometheus import PrometheusClient
    from mlsre.slo.spec import find_slo
    from mlsre.slo.status import load_workspace_slos, slo_status
    from mlsre.steps.evidence import error_result
    from mlsre.timeutil import parse_time, utcnow

    try:
        now = ctx.at or utcnow()
        at = parse_time(params.at, now=now) if params.at else now
        slo = find_slo(load_workspace_slos(ctx.settings), params.slo)
        st = slo_status(PrometheusClient(ctx.settings.prometheus, ctx.transport), slo, at)
    except MlsreError as exc:
        return error_result(exc)
    output = status_output(st)
    evidence = {"queries": st.queries, "time": output["at"]}
    if st.budget_remaining is None:
        return StepResult(summary=f"{st.name}: no data", output=output, evidence=evidence)
    return StepResult(
        summary=status_summary(st),
        output=output,
        samples=[status_sample(st)],
        evidence=evidence,
    )


def status_sample(st: Any) -> dict[str, Any]:
    """The namespace ``expect`` sees for one SLO status (see the module docstring)."""
    sample: dict[str, Any] = {
        "value": st.budget_remaining,
        "budget_remaining": st.budget_remaining,
        "sli": st.sli,
        "objective": st.objective,
        "error_ratio": st.error_ratio,
        "burn_rate": dict(st.burn_rates),
        "alert": st.alert.value,
        "exhaustion_hours": None if st.exhaustion_s is None else st.exhaustion_s / 3600,
        "labels": {"slo": st.name, "service": st.service},
    }
    for window, rate in st.burn_rates.items():
        sample[f"burn_{window}"] = rate
    return sample


def status_output(st: Any) -> dict[str, Any]:
    from mlsre.jsonutil import plain

    out: dict[str, Any] = plain(st)
    return out


def status_summary(st: Any) -> str:
    def rate(w: str) -> str:
        v = st.burn_rates.get(w)
        return "-" if v is None else f"{v:.3g}"

    left = f"{st.budget_remaining:.1%} of the error budget left"
    return f"{st.name}: {left}; burn rate 1h {rate('1h')}, 5m {rate('5m')}; alert {st.alert.value}"
