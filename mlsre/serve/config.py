"""The ``alerts:`` section of mlsre.yaml: routes from Alertmanager alerts to runbooks."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mlsre.incident.model import Severity

SEVERITIES = tuple(s.value for s in Severity)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_duration(value: str) -> str:
    """The duration as the server will read it (timeutil.parse_duration), checked at load time."""
    from mlsre.errors import UsageError
    from mlsre.timeutil import parse_duration

    try:
        parse_duration(value)
    except UsageError:
        raise ValueError(f"'{value}' is not a duration (use e.g. 30s, 5m, 1h)") from None
    return value.strip()


class AlertRoute(_Strict):
    """Alerts whose labels match go to ``runbook``; the first matching route wins."""

    name: str | None = None
    match: dict[str, str] = Field(default_factory=dict)  # label = exact value
    match_re: dict[str, str] = Field(default_factory=dict)  # label =~ anchored regex
    runbook: str | None = None
    severity: Literal["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"] | None = None
    title: str = "{{ labels.alertname }}{% if labels.model %} on {{ labels.model }}{% endif %}"
    inputs: dict[str, str] = Field(default_factory=dict)  # templates over labels/annotations
    group_by: list[str] | None = None  # labels that make one group (default: Alertmanager's)
    auto_mitigate: list[str] = Field(default_factory=list)  # mitigation step ids run unasked
    auto_mitigate_on_resolve: bool = False  # mark the incident mitigated when alerts resolve
    # when the diagnosis looks: now (when it runs) or as of the alert's startsAt (`--at`)
    evaluate_at: Literal["now", "alert_start"] = "now"

    @field_validator("match_re")
    @classmethod
    def _regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for label, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"match_re.{label}: bad regex: {exc}") from None
        return value

    def label(self, index: int) -> str:
        return self.name or f"route {index + 1}"


class AutoMitigation(_Strict):
    """Guard rails for automatic mitigations (every one of them applies to every route)."""

    max_per_model: int = Field(1, ge=0)
    per: str = "1h"

    @field_validator("per")
    @classmethod
    def _per(cls, value: str) -> str:
        return _check_duration(value)


Sev = Literal["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"]
_SEVERITY_LABELS: dict[str, Sev] = {
    "critical": "SEV1",
    "page": "SEV2",
    "high": "SEV2",
    "error": "SEV2",
    "warning": "SEV3",
    "medium": "SEV3",
    "low": "SEV4",
    "info": "SEV5",
}


class AlertsSettings(_Strict):
    routes: list[AlertRoute] = Field(default_factory=list)
    still_firing_every: str = "1h"  # at most one "still firing" event per group per interval
    severity_labels: dict[str, Sev] = Field(default_factory=lambda: dict(_SEVERITY_LABELS))
    default_severity: Literal["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"] = "SEV3"
    auto_mitigation: AutoMitigation = Field(default_factory=AutoMitigation)
    workers: int = Field(2, ge=0, le=32)  # diagnoses at once; 0 = receive only, jobs wait
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # how long a webhook waits for a busy store before answering 503 (Alertmanager retries)
    busy_timeout_s: float = Field(5.0, gt=0, le=60)

    @field_validator("still_firing_every")
    @classmethod
    def _every(cls, value: str) -> str:
        return _check_duration(value)
