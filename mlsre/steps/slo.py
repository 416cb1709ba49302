"""Step kind ``slo.status``: an SLO's error budget and burn rates, for ``expect`` to test.

Each run yields one sample per SLO matched, shaped so runbooks can write::

    expect: budget_remaining > 0.25 and burn_rate['1h'] < 14.4

Sample fields: ``value`` (= ``budget_remaining``, a fraction of the window's budget, negative when
overspent), ``sli`` (good ratio over the window), ``objective``, ``burn_rate`` (mapping window ->
rate), ``burn_5m`` ... ``burn_3d`` (the same, as plain names), ``alert`` (``page``, ``ticket`` or
``none``), ``exhaustion_hours`` (None when not burning) and ``labels`` (``slo``, ``service``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from mlsre.steps.base import StepContext, StepResult


class SloStatusParams(BaseModel):
    """The ``with:`` block of an ``slo.status`` step."""

    model_config = ConfigDict(extra="forbid")

    slo: str = Field(
        ...,
        min_length=1,
        description="Name of the SLO (metadata.name in an OpenSLO file under slo_paths).",
    )
    at: str | None = Field(
        None,
        description="Evaluate as of this time (RFC 3339, unix seconds, or 'now'); default: the "
        "incident run's time, else now.",
    )


class SloStatusStep:
    name: ClassVar[str] = "slo.status"
    Params: ClassVar[type[BaseModel]] = SloStatusParams
    mutating: ClassVar[bool] = False

    def describe(self, params: Any) -> str:
        p = SloStatusParams.model_validate(params)
        when = f" at {p.at}" if p.at else ""
        return f"error budget and burn rates of SLO {p.slo}{when}"

    def run(self, params: Any, ctx: StepContext) -> StepResult:
        from mlsre.errors import MlsreError
        from mlsre.integrations.prometheus import PrometheusClient
        from mlsre.slo.spec import find_slo
        from mlsre.slo.status import load_workspace_slos, slo_status
        from mlsre.steps.evidence import error_result
        from mlsre.timeutil import parse_time, utcnow

        p = SloStatusParams.model_validate(params)
        try:
            now = ctx.at or utcnow()
            at = parse_time(p.at, now=now) if p.at else now
            slo = find_slo(load_workspace_slos(ctx.settings), p.slo)
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


KINDS: list[type] = [SloStatusStep]


def incident_slo_impact(
    settings: Any,
    start: Any,
    end: Any,
    *,
    names: list[str] | None = None,
    service: str | None = None,
    transport: Any = None,
) -> list[Any]:
    """Error budget each SLO lost during an incident window [start, end], for the postmortem.

    A list of :class:`mlsre.slo.status.SloImpact` (name, objective, error_ratio, burn_rate,
    budget_consumed as a share of the period's budget, error). Never raises for one SLO's
    failure: that row's ``error`` says why. Raises only when the SLO files themselves are broken.
    """
    from mlsre.slo.status import incident_impact

    rows: list[Any] = incident_impact(
        settings, start, end, names=names, service=service, transport=transport
    )
    return rows
