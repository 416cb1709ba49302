"""Step kinds that query Prometheus: ``prometheus.query``, ``.range`` and ``.compare``.

Samples handed to ``expect`` are ``{"value": float, "labels": {...}}`` (plus ``now``, ``baseline``,
``ratio`` and ``delta`` for compare). Only :mod:`mlsre.integrations.prometheus` speaks HTTP.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mlsre.steps.base import StepContext, StepKind, StepResult


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QueryParams(_Params):
    query: str = Field(min_length=1, description="PromQL expression (instant query).")
    time: str | None = Field(
        None,
        description="Evaluation time: RFC3339, unix seconds or relative ('-30m'); "
        "default: the run's --at, else now.",
    )
    timeout_s: float | None = Field(None, gt=0, description="Default: prometheus.timeout_s.")


class RangeParams(_Params):
    query: str = Field(min_length=1, description="PromQL expression (range query).")
    start: str = Field("-1h", description="RFC3339, unix seconds, or relative to the run's time.")
    end: str = Field(
        "now", description="RFC3339, unix seconds, or relative ('now': the run's time)."
    )
    step: str = Field("1m", description="Resolution: a duration ('30s', '1m', '5m') or seconds.")
    max_points: int = Field(500, ge=2, le=11000, description="Points per series kept as evidence.")
    timeout_s: float | None = Field(None, gt=0)


class Baseline(StrEnum):
    OFFSET = "offset"  # `offset` before the evaluation time
    INCIDENT = "incident"  # just before the incident started
    VERSION_CHANGE = "version_change"  # just before the newest model version started serving
    AT = "at"  # an explicit time (`baseline_at`)


class CompareParams(_Params):
    query: str = Field(min_length=1, description="PromQL evaluated now and at the baseline.")
    baseline: Baseline = Field(Baseline.OFFSET, description="What 'before' means.")
    offset: str = Field("1h", description="baseline=offset: how long before the evaluation time.")
    baseline_at: str | None = Field(None, description="baseline=at: RFC3339 or unix seconds.")
    margin: str = Field("5m", description="incident/version_change: evaluate this long before it.")
    model: str | None = Field(None, description="baseline=version_change: the `model` label value.")
    version_metric: str = Field(
        "model_requests_total",
        description="baseline=version_change: a series with a version label.",
    )
    version_label: str = Field("version", description="baseline=version_change: its label name.")
    model_label: str = Field(
        "model", description="baseline=version_change: the label that carries the model name."
    )
    lookback: str = Field("24h", description="baseline=version_change: how far back to look.")
    ignore_labels: list[str] = Field(
        default_factory=lambda: ["version"],
        description="Labels dropped when pairing now with the baseline (a new version renames "
        "the series).",
    )
    timeout_s: float | None = Field(None, gt=0)


class PrometheusQuery(StepKind[QueryParams]):
    """Instant query: one sample per series, ``expect`` checked on each; empty result is data."""

    name = "prometheus.query"

    def describe(self, params: QueryParams) -> str:
        return f"PromQL instant query: {params.query}"

    def run(self, params: QueryParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.prometheus.run import run_query

        return run_query(params, ctx)


class PrometheusRange(StepKind[RangeParams]):
    """Range query: min/max/mean/last per series; the series are kept as evidence for charts."""

    name = "prometheus.range"

    def describe(self, params: RangeParams) -> str:
        return f"PromQL range query {params.start}..{params.end} step {params.step}: {params.query}"

    def run(self, params: RangeParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.prometheus.run import run_range

        return run_range(params, ctx)


class PrometheusCompare(StepKind[CompareParams]):
    """Now vs. a baseline, per series: ``ratio`` (now / baseline) and ``delta`` (now - baseline)."""

    name = "prometheus.compare"

    def describe(self, params: CompareParams) -> str:
        where = {
            Baseline.OFFSET: f"{params.offset} earlier",
            Baseline.INCIDENT: "before the incident started",
            Baseline.VERSION_CHANGE: "before the last model version change",
            Baseline.AT: f"at {params.baseline_at}",
        }[params.baseline]
        return f"PromQL now vs. {where}: {params.query}"

    def run(self, params: CompareParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.prometheus.run import run_compare

        return run_compare(params, ctx)


KINDS: list[type[StepKind[Any]]] = [PrometheusQuery, PrometheusRange, PrometheusCompare]
