"""The Alertmanager webhook body (version "4"), parsed strictly enough to trust and no more.

Alertmanager may add fields in later versions, so unknown keys are ignored; the ones we use are
checked. Firing alerts carry ``endsAt`` "0001-01-01T00:00:00Z" or a future time: trust
``status``, not ``endsAt``.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

MAX_ALERTS = 10_000


class PayloadError(ValueError):
    """A body Alertmanager could never get accepted (answered with a 4xx, never retried)."""


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Alert(_Lenient):
    """One alert of a notification (field names are Alertmanager's own)."""

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = ""
    endsAt: str = ""
    generatorURL: str = ""
    fingerprint: str = ""


class Notification(_Lenient):
    version: Literal["4"]
    groupKey: str = Field(max_length=10_000)
    truncatedAlerts: int = 0
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[Alert] = Field(max_length=MAX_ALERTS)


def parse(body: bytes) -> Notification:
    """The notification in ``body``, or PayloadError with a one-line reason."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"body is not JSON: {exc}") from None
    except RecursionError:
        raise PayloadError("body is not JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object (expected Alertmanager's webhook payload)")
    if data.get("version") != "4":
        raise PayloadError(
            f'unsupported webhook version {json.dumps(data.get("version"))[:40]} (expected "4")'
        )
    try:
        note = Notification.model_validate(data)
    except PydanticValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(_loc_part(p) for p in err["loc"]) or "body"
        raise PayloadError(f"{where}: {err['msg']}") from None
    for i, alert in enumerate(note.alerts):
        if not alert.labels.get("alertname"):
            raise PayloadError(f"alerts.{i}.labels: no alertname label")
    if not note.alerts:
        raise PayloadError("alerts: empty (a notification carries at least one alert)")
    return note


def _loc_part(part: int | str) -> str:
    """A field path part as one readable line: a key that is not a plain name (an empty
    string, a newline, a space) is shown quoted and escaped, as JSON would write it."""
    if isinstance(part, str) and not part.isidentifier():
        return json.dumps(part)[:80]
    return str(part)
