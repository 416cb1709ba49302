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

from mlsre.steps.base import StepContext, StepResult, StepStatus


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
        return StepResult(status=StepStatus.ERROR, summary="slo.status is not implemented yet")


KINDS: list[type] = [SloStatusStep]
