"""Step kinds for drift and data quality: ``drift.compare``, ``data.check``, ``drift.prometheus``.

``drift.compare`` and ``data.check`` read files (paths are templated by the engine, e.g. a
reference path taken from a tag of the model version); ``drift.prometheus`` compares the bucket
distributions of a Prometheus histogram over a reference window and the current window, so
drift can be checked without access to the raw data. The work is in :mod:`mlsre.steps.drift.run`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlsre.steps.base import StepContext, StepKind, StepResult

MethodName = Literal["auto", "evidently", "psi", "ks", "wasserstein", "js", "chi2", "z"]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompareParams(_Params):
    reference: str = Field(min_length=1, description="Reference data file (CSV, Parquet, JSONL).")
    current: str = Field(min_length=1, description="Current data file.")
    columns: list[str] | None = Field(None, description="Only these columns (default: all shared).")
    categorical: list[str] = Field(default_factory=list, description="Compare these as categories.")
    method: MethodName = Field("auto", description="Method for every column (see docs/drift.md).")
    methods: dict[str, MethodName] = Field(default_factory=dict, description="Per-column method.")
    threshold: float | None = Field(None, description="Threshold for every column.")
    thresholds: dict[str, float] = Field(default_factory=dict, description="Per-column threshold.")
    correction: Literal["none", "bonferroni", "bh"] = Field(
        "none", description="Multiple-testing correction of p-values across columns."
    )
    sample: int | None = Field(
        None, ge=2, description="Compare a random sample of N rows per file."
    )
    drift_share: float = Field(
        0.5, gt=0, le=1, description="Dataset drift at this share of columns."
    )
    null_threshold: float = Field(0.05, ge=0, le=1, description="Null-share rise that is drift.")
    binning: Literal["quantile", "evidently"] = Field(
        "quantile", description="PSI bins: reference quantiles, or Evidently's (docs/drift.md)."
    )
    fail_on: Literal["dataset", "any_column"] = Field(
        "dataset", description="Fail the step on dataset drift, or on any drifted column."
    )


class CheckParams(_Params):
    current: str = Field(min_length=1, description="The data file to check.")
    reference: str | None = Field(None, description="A known-good file to compare with.")
    schema_file: str | None = Field(None, alias="schema", description="A YAML schema file.")

    @model_validator(mode="after")
    def _one_source(self) -> CheckParams:
        if self.reference and self.schema_file:
            raise ValueError("give reference or schema, not both")
        return self


class HistogramMethod(StrEnum):
    PSI = "psi"
    JS = "js"


class PrometheusDriftParams(_Params):
    metric: str = Field(
        min_length=1, description="Histogram name without _bucket, e.g. model_prediction_score."
    )
    selector: str = Field("", description='Label matchers, e.g. model="fraud-detector".')
    window: str = Field("30m", description="Length of both windows.")
    reference_offset: str = Field(
        "1d", description="How long before the current window's end the reference window ends."
    )
    reference_end: str | None = Field(
        None, description="Or: the reference window's end (RFC3339, unix seconds, relative)."
    )
    method: HistogramMethod = Field(
        HistogramMethod.PSI, description="Distance between the two histograms."
    )
    threshold: float | None = Field(None, gt=0, description="Default 0.1 for psi and js.")
    timeout_s: float | None = Field(None, gt=0)


class DriftCompare(StepKind[CompareParams]):
    """Per-column drift between two data files; fails on dataset drift (or any column)."""

    name = "drift.compare"

    def describe(self, params: CompareParams) -> str:
        return f"drift ({params.method}) between {params.reference} and {params.current}"

    def run(self, params: CompareParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.drift.run import run_compare

        return run_compare(params, ctx)


class DataCheck(StepKind[CheckParams]):
    """Data-quality findings for a file; fails when any finding is an error."""

    name = "data.check"

    def describe(self, params: CheckParams) -> str:
        against = params.reference or params.schema_file
        return f"data-quality check of {params.current}" + (
            f" against {against}" if against else ""
        )

    def run(self, params: CheckParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.drift.run import run_check

        return run_check(params, ctx)


class PrometheusDrift(StepKind[PrometheusDriftParams]):
    """PSI or Jensen–Shannon between a histogram's buckets in a reference and a current window."""

    name = "drift.prometheus"

    def describe(self, params: PrometheusDriftParams) -> str:
        ref = params.reference_end or f"{params.reference_offset} earlier"
        return f"{params.method.value} of {params.metric} buckets: last {params.window} vs. {ref}"

    def run(self, params: PrometheusDriftParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.drift.run import run_prometheus

        return run_prometheus(params, ctx)


KINDS: list[type[StepKind[Any]]] = [DriftCompare, DataCheck, PrometheusDrift]
