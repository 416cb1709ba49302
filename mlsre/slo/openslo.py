"""Pydantic models of the OpenSLO v1 objects mlsre reads (SLO, SLI, DataSource).

These mirror the files as written, so validation errors point at the field a person typed;
:mod:`mlsre.slo.spec` resolves references and turns them into :class:`~mlsre.slo.spec.Slo`.
Fields OpenSLO defines but mlsre does not use (``alertPolicies``, ``compositeWeight``...) are
accepted and ignored; anything else is refused so a typo is never silently dropped.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlsre.timeutil import UNIT_SECONDS

API_VERSION = "openslo/v1"
# Object kinds of OpenSLO v1; mlsre reads the first three and tolerates the others in a file.
READ_KINDS = ("SLO", "SLI", "DataSource")
IGNORED_KINDS = ("Service", "AlertPolicy", "AlertCondition", "AlertNotificationTarget")

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DURATION = re.compile(r"^([1-9][0-9]*)([smhdw])$")


def duration_seconds(text: str) -> int:
    """OpenSLO duration shorthand (``5m``, ``28d``, ``4w``) -> seconds; ValueError when bad."""
    m = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(
            f"'{text}' is not a duration; use a whole number and one unit: s, m, h, d or w "
            "(e.g. 5m, 1h, 28d)"
        )
    return int(m.group(1)) * int(UNIT_SECONDS[m.group(2)])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Metadata(_Model):
    name: str
    displayName: str | None = None
    labels: dict[str, Any] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _dns_name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(
                f"'{v}' is not a valid name: lowercase letters, digits and '-', "
                "starting and ending with a letter or digit, at most 63 characters"
            )
        return v


class MetricSource(_Model):
    metricSourceRef: str | None = None
    type: str | None = None
    spec: dict[str, Any] = Field(default_factory=dict)

    @field_validator("spec")
    @classmethod
    def _has_query(cls, v: dict[str, Any]) -> dict[str, Any]:
        q = v.get("query")
        if not isinstance(q, str) or not q.strip():
            raise ValueError("a Prometheus metric source needs spec.query (a PromQL expression)")
        return v


class MetricRef(_Model):
    metricSource: MetricSource


class RatioMetric(_Model):
    counter: bool = True
    good: MetricRef | None = None
    bad: MetricRef | None = None
    total: MetricRef | None = None
    rawType: Literal["success", "failure"] | None = None
    raw: MetricRef | None = None

    @model_validator(mode="after")
    def _shape(self) -> RatioMetric:
        if self.raw is not None:
            raise ValueError(
                "precomputed 'raw' ratios are not supported; use good or bad with total"
            )
        if self.total is None:
            raise ValueError("ratioMetric needs 'total' and one of 'good' or 'bad'")
        if (self.good is None) == (self.bad is None):
            raise ValueError("ratioMetric needs exactly one of 'good' or 'bad' beside 'total'")
        return self


class IndicatorSpec(_Model):
    description: str | None = None
    ratioMetric: RatioMetric | None = None
    thresholdMetric: MetricRef | None = None

    @model_validator(mode="after")
    def _one_metric(self) -> IndicatorSpec:
        if (self.ratioMetric is None) == (self.thresholdMetric is None):
            raise ValueError("an indicator needs exactly one of 'ratioMetric' or 'thresholdMetric'")
        return self


class InlineIndicator(_Model):
    metadata: Metadata
    spec: IndicatorSpec


class Objective(_Model):
    displayName: str | None = None
    op: Literal["lte", "gte", "lt", "gt"] | None = None
    value: float | None = None
    target: float | None = None
    targetPercent: float | None = None
    timeSliceTarget: float | None = None
    timeSliceWindow: str | int | None = None
    indicator: InlineIndicator | None = None
    indicatorRef: str | None = None
    compositeWeight: float | None = None

    @field_validator("target")
    @classmethod
    def _target(cls, v: float | None) -> float | None:
        if v is not None and not 0 < v < 1:
            raise ValueError(
                f"target must be between 0 and 1, exclusive (0.999 = 99.9%); {v} "
                + ("leaves no error budget" if v >= 1 else "is not an objective")
            )
        return v

    @field_validator("targetPercent")
    @classmethod
    def _target_percent(cls, v: float | None) -> float | None:
        if v is not None and not 0 < v < 100:
            raise ValueError(
                f"targetPercent must be between 0 and 100, exclusive (99.9 = 99.9%); {v} "
                + ("leaves no error budget" if v >= 100 else "is not an objective")
            )
        return v

    @field_validator("timeSliceTarget")
    @classmethod
    def _slice_target(cls, v: float | None) -> float | None:
        if v is not None and not 0 < v <= 1:
            raise ValueError(f"timeSliceTarget must be in (0, 1]; got {v}")
        return v

    @field_validator("timeSliceWindow")
    @classmethod
    def _slice_window(cls, v: str | int | None) -> str | int | None:
        if isinstance(v, int):
            if v <= 0:
                raise ValueError("timeSliceWindow must be a positive number of seconds")
        elif v is not None:
            duration_seconds(v)
        return v

    @model_validator(mode="after")
    def _has_target(self) -> Objective:
        if self.target is None and self.targetPercent is None:
            raise ValueError("objective needs 'target' (e.g. 0.999) or 'targetPercent' (e.g. 99.9)")
        if self.target is not None and self.targetPercent is not None:
            raise ValueError("give either 'target' or 'targetPercent', not both")
        if (self.op is None) != (self.value is None):
            raise ValueError("'op' and 'value' go together (they define a good threshold)")
        return self

    @property
    def ratio(self) -> float:
        return self.target if self.target is not None else float(self.targetPercent or 0) / 100


class TimeWindow(_Model):
    duration: str
    isRolling: bool = True
    calendar: dict[str, Any] | None = None

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: str) -> str:
        duration_seconds(v)
        return v

    @model_validator(mode="after")
    def _rolling(self) -> TimeWindow:
        if not self.isRolling or self.calendar is not None:
            raise ValueError("only rolling time windows are supported (isRolling: true)")
        return self


class SloSpec(_Model):
    description: str | None = None
    service: str
    indicator: InlineIndicator | None = None
    indicatorRef: str | None = None
    timeWindow: list[TimeWindow] = Field(..., min_length=1, max_length=1)
    budgetingMethod: Literal["Occurrences", "Timeslices"] = "Occurrences"
    objectives: list[Objective] = Field(..., min_length=1)
    alertPolicies: list[Any] = Field(default_factory=list)


class SloDoc(_Model):
    apiVersion: str
    kind: Literal["SLO"]
    metadata: Metadata
    spec: SloSpec


class SliDoc(_Model):
    apiVersion: str
    kind: Literal["SLI"]
    metadata: Metadata
    spec: IndicatorSpec


class DataSourceSpec(_Model):
    description: str | None = None
    type: str
    connectionDetails: dict[str, Any] = Field(default_factory=dict)


class DataSourceDoc(_Model):
    apiVersion: str
    kind: Literal["DataSource"]
    metadata: Metadata
    spec: DataSourceSpec
