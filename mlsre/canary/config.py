"""The CanaryConfig file format (``apiVersion: mlsre/v1``, ``kind: CanaryConfig``).

Validated like runbooks: every problem at ``file:line:column`` with its field path, JSON Schema
from :func:`config_schema` (``mlsre canary schema``). Queries are Jinja2 templates rendered in
the runbook sandbox with ``model``, ``version``, ``role`` (canary or baseline), ``window``
(the judged window as a PromQL duration) and ``inputs``; validation renders each query once with
placeholder values so a misspelt name is reported at its line, not at judge time.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlsre.errors import UsageError
from mlsre.yamlfile import Problem, YamlDocument, YamlProblems, parse_yaml, read_text

API_VERSION = "mlsre/v1"
KIND = "CanaryConfig"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
INPUT_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
TEMPLATE_NAMES = ("model", "version", "role", "window", "inputs")


class Direction(StrEnum):
    """Which change of the metric is bad (Kayenta's ``direction``)."""

    INCREASE = "increase"
    DECREASE = "decrease"
    EITHER = "either"


class MetricType(StrEnum):
    SERIES = "series"  # a range query per version; samples compared by Mann-Whitney
    DISTRIBUTION = "distribution"  # histogram buckets per version compared by PSI or JS


class DistanceMethod(StrEnum):
    PSI = "psi"
    JS = "js"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CanaryInput(_Strict):
    """A value the queries read as ``{{ inputs.NAME }}``; set with ``--input NAME=VALUE``."""

    description: str = ""
    default: str | None = Field(None, description="Used when --input does not set it.")

    @field_validator("default", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )


class CanaryMetric(_Strict):
    name: str = Field(pattern=NAME_PATTERN, description="Unique name, shown in the report.")
    type: MetricType = Field(MetricType.SERIES, description="series (default) or distribution.")
    query: str = Field(
        min_length=1,
        description="PromQL template. series: one value per step per version (range query). "
        "distribution: bucket counts by `le` over `{{ window }}` (instant query at the end).",
    )
    description: str = ""
    direction: Direction = Field(Direction.INCREASE, description="Which change is bad.")
    tolerance: float = Field(
        0.10, ge=0, description="Relative change (0.10 = 10%) allowed before a change counts."
    )
    critical: bool = Field(False, description="A failing critical metric fails the judgement.")
    must_have_data: bool = Field(
        False, description="No data counts as a failure (else the metric is left out)."
    )
    weight: float = Field(1.0, gt=0, description="Share of the score.")
    method: DistanceMethod | None = Field(None, description="distribution: psi (default) or js.")
    threshold: float | None = Field(
        None, gt=0, description="distribution: distance at which it fails (default 0.1)."
    )

    @model_validator(mode="after")
    def _fits_type(self) -> CanaryMetric:
        if self.type is MetricType.SERIES and (self.method or self.threshold is not None):
            raise ValueError("method and threshold are for type: distribution")
        return self

    @property
    def distance(self) -> DistanceMethod:
        return self.method or DistanceMethod.PSI

    @property
    def limit(self) -> float:
        return self.threshold if self.threshold is not None else 0.1


class Scoring(_Strict):
    pass_: float = Field(95, alias="pass", ge=0, le=100, description="Score to pass.")
    marginal: float = Field(75, ge=0, le=100, description="Score below which it fails.")

    @model_validator(mode="after")
    def _ordered(self) -> Scoring:
        if self.marginal > self.pass_:
            raise ValueError(f"marginal ({self.marginal:g}) is above pass ({self.pass_:g})")
        return self


class CanaryConfig(_Strict):
    api_version: Literal["mlsre/v1"] = Field(alias="apiVersion")
    kind: Literal["CanaryConfig"]
    description: str = ""
    inputs: dict[str, CanaryInput] = Field(default_factory=dict)
    metrics: list[CanaryMetric] = Field(min_length=1)
    scoring: Scoring = Field(default_factory=lambda: Scoring.model_validate({}))
    confidence: float = Field(
        0.98, gt=0.5, lt=1, description="Confidence of the Mann-Whitney interval (Kayenta: 0.98)."
    )
    effect_fraction: float = Field(
        0.25,
        ge=0,
        lt=1,
        description="Kayenta's bound: the interval must clear this fraction of the estimate.",
    )

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, value: dict[str, CanaryInput]) -> dict[str, CanaryInput]:
        for name in value:
            if not re.fullmatch(INPUT_NAME_PATTERN, name):
                raise ValueError(f"input name '{name}' must be a word (letters, digits, _)")
        return value

    def input_values(self, given: dict[str, str]) -> dict[str, str]:
        """Defaults overridden by ``given``; an unknown or missing input is a usage error."""
        unknown = sorted(set(given) - set(self.inputs))
        if unknown:
            raise UsageError(
                f"the canary config has no input {', '.join(unknown)}",
                hint=f"its inputs: {', '.join(self.inputs) or '(none)'}",
            )
        out = {k: v.default for k, v in self.inputs.items() if v.default is not None}
        out.update(given)
        missing = [k for k in self.inputs if k not in out]
        if missing:
            raise UsageError(
                f"the canary config needs input {', '.join(missing)}",
                hint=" ".join(f"--input {m}=..." for m in missing),
            )
        return out


def config_schema() -> dict[str, Any]:
    schema = CanaryConfig.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:mlsre:canary-config:v1",
        **schema,
        "title": "mlsre canary config (apiVersion mlsre/v1, kind CanaryConfig)",
        "description": "Metrics the canary judge compares between the canary and the baseline "
        "version. Validate with `mlsre canary validate`.",
    }


def load_config(path: Path) -> CanaryConfig:
    """Read and validate a config file; raises :class:`YamlProblems` listing every problem."""
    return parse_config(read_text(path), str(path))


def parse_config(text: str, name: str) -> CanaryConfig:
    doc = parse_yaml(text, name)
    config, problems = check_document(doc)
    if problems or config is None:
        raise YamlProblems(problems)
    return config


def check_document(doc: YamlDocument) -> tuple[CanaryConfig | None, list[Problem]]:
    from pydantic import ValidationError

    from mlsre.runbook.messages import pydantic_errors

    data = doc.data
    if not isinstance(data, dict):
        return None, [doc.problem((), "a canary config must be a mapping (apiVersion, kind, ...)")]
    if data.get("kind") not in (None, KIND):
        msg = f"kind is '{data.get('kind')}', expected {KIND}"
        return None, [doc.problem(("kind",), msg)]
    try:
        config = CanaryConfig.model_validate(data)
    except ValidationError as exc:
        problems = pydantic_errors(doc, exc, (), CanaryConfig)
        return None, sorted(problems, key=lambda p: (p.line, p.column))
    problems = _duplicate_names(doc, config) + _template_problems(doc, config)
    return (None if problems else config), problems


def _duplicate_names(doc: YamlDocument, config: CanaryConfig) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for i, metric in enumerate(config.metrics):
        if metric.name in seen:
            out.append(doc.problem(("metrics", i, "name"), f"metric '{metric.name}' is repeated"))
        seen.add(metric.name)
    return out


def _template_problems(doc: YamlDocument, config: CanaryConfig) -> list[Problem]:
    """Render each query with placeholders: syntax errors and unknown names, located."""
    from mlsre.runbook.sandbox import TemplateError, render

    inputs = {k: v.default or "x" for k, v in config.inputs.items()}
    context = {"model": "m", "version": "1", "role": "canary", "window": "1h", "inputs": inputs}
    out = []
    for i, metric in enumerate(config.metrics):
        try:
            render(metric.query, context, what="query")
        except TemplateError as exc:
            hint = f" (templates may use {', '.join(TEMPLATE_NAMES)})"
            out.append(doc.problem(("metrics", i, "query"), exc.message + hint))
    return out
