"""Step kind ``slo.status``: an SLO's error budget and burn rates, for ``expect`` to test.

Each run yields one sample per SLO matched, shaped so runbooks can write::

    expect: budget_remaining > 0.25 and burn_rate['1h'] < 14.4

Sample fields: ``value`` (= ``budget_remaining``, a fraction of the window's budget, negative when
overspent), ``sli`` (good ratio over the window), ``objective``, ``burn_rate`` (mapping window ->
rate), ``burn_5m`` ... ``burn_3d`` (the same, as plain names), ``alert`` (``page``, ``ticket`` or
``none``), ``exhaustion_hours`` (None when not burning) and ``labels`` (``slo``, ``service``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mlsre.steps.base import StepContext, StepKind, StepResult


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


class SloStatusStep(StepKind[SloStatusParams]):
    """An SLO's error budget and burn rates, one sample per SLO for ``expect``."""

    name = "slo.status"

    def describe(self, params: SloStatusParams) -> str:
        when = f" at {params.at}" if params.at else ""
        return f"error budget and burn rates of SLO {params.slo}{when}"

    def run(self, params: SloStatusParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.slo.run import run_status

        return run_status(params, ctx)


KINDS: list[type[StepKind[Any]]] = [SloStatusStep]
