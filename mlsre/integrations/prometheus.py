"""The only module that speaks the Prometheus HTTP API.

Instant and range queries with explicit evaluation times; values parsed as floats (``NaN`` and
``±Inf`` included); an empty result is data. Every failure is one line naming what it is: a
PromQL error with Prometheus's message and the query, an execution error (422), a query timeout,
an unreachable server, an HTML page or truncated JSON where JSON was expected.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlsre.errors import UsageError
from mlsre.integrations.http import (
    ApiClient,
    FailureKind,
    HttpFailure,
    Request,
    Response,
    status_failure,
    unexpected_shape,
)

if TYPE_CHECKING:
    pass

_QUERY_PREFIX = 'invalid parameter "query": '
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float
    ts: float

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "labels": dict(self.labels), "ts": self.ts}


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (unix seconds, value)


@dataclass
class QueryResult:
    query: str
    result_type: str  # vector | matrix | scalar | string
    samples: list[Sample] = field(default_factory=list)  # vector / scalar
    series: list[Series] = field(default_factory=list)  # matrix
    warnings: list[str] = field(default_factory=list)
    raw: Any = None  # the response's ``data`` as Prometheus sent it (evidence)
    attempts: int = 1

    @property
    def empty(self) -> bool:
        return not self.samples and not self.series


def parse_value(text: Any) -> float:
    """Prometheus sends values as strings: '0.12', 'NaN', '+Inf', '-Inf'."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def promql_escape(value: Any) -> str:
    """Safe inside a double-quoted PromQL label value."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_time(dt: datetime) -> str:
    """Unix seconds with millisecond precision (Prometheus accepts it; stable for replay keys)."""
    return f"{dt.timestamp():.3f}".rstrip("0").rstrip(".")


class PrometheusClient(ApiClient):
    service = "Prometheus"
    token_env = "MLSRE_PROMETHEUS_TOKEN"
    user_env = "MLSRE_PROMETHEUS_USERNAME"
    password_env = "MLSRE_PROMETHEUS_PASSWORD"

    def _request(
        self, path: str, params: list[tuple[str, str]], timeout_s: float | None
    ) -> Request:
        return self.request("GET", path, params, timeout_s=timeout_s)

    def _call(self, request: Request, query: str | None) -> tuple[Any, Response]:
        body, response = self.exchange(request)
        if not isinstance(body, dict) or "status" not in body:
            if response.status >= 400:  # a 403 from a proxy says more than its JSON body
                raise status_failure(response, request)
            raise HttpFailure(
                f"Prometheus at {request.display_url()} answered JSON that is not a Prometheus "
                f"API response (HTTP {response.status})",
                kind=FailureKind.BAD_JSON,
                attempts=response.attempts,
                status=response.status,
                hint="check prometheus.url: it should be the server root, e.g. http://host:9090",
            )
        if body["status"] != "success":
            raise _api_error(body, response, request, query)
        return body.get("data"), response

    def query(
        self, promql: str, at: datetime | None = None, *, timeout_s: float | None = None
    ) -> QueryResult:
        """Instant query evaluated at ``at`` (now when None)."""
        when = at or datetime.now(UTC)
        params = [("query", promql), ("time", format_time(when))]
        data, response = self._call(self._request("/api/v1/query", params, timeout_s), promql)
        return _parse(promql, data, response)

    def query_range(
        self,
        promql: str,
        start: datetime,
        end: datetime,
        step_s: float,
        *,
        timeout_s: float | None = None,
    ) -> QueryResult:
        if end < start:
            raise UsageError(f"range end {end.isoformat()} is before its start {start.isoformat()}")
        if step_s <= 0:
            raise UsageError("range step must be positive")
        points = (end - start).total_seconds() / step_s
        if points > MAX_POINTS:
            raise UsageError(
                f"range query would return {int(points)} points per series (Prometheus allows "
                f"{MAX_POINTS})",
                hint="use a larger step or a shorter range",
            )
        params = [
            ("query", promql),
            ("start", format_time(start)),
            ("end", format_time(end)),
            ("step", f"{step_s:g}"),
        ]
        data, response = self._call(self._request("/api/v1/query_range", params, timeout_s), promql)
        return _parse(promql, data, response)

    # -- metadata (runbook preflight, readiness) -----------------------------------------------

    def label_values(
        self,
        label: str,
        match: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        timeout_s: float | None = None,
    ) -> list[str]:
        """Values of ``label`` (``__name__``: metric names), on series matching ``match``."""
        if not _LABEL_NAME.fullmatch(label):
            raise UsageError(f"'{label}' is not a Prometheus label name")
        data = self._meta(f"/api/v1/label/{label}/values", match, start, end, timeout_s)
        return sorted(str(v) for v in data) if isinstance(data, list) else []

    def label_names(
        self, match: str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> list[str]:
        """Label names present on series matching ``match`` (all series when None)."""
        data = self._meta("/api/v1/labels", match, start, end)
        return sorted(str(v) for v in data) if isinstance(data, list) else []

    def rules(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Loaded rule groups (``kind``: ``alert`` or ``record`` to filter)."""
        params = [("type", kind)] if kind else []
        data, _ = self._call(self._request("/api/v1/rules", params, None), None)
        groups = data.get("groups") if isinstance(data, dict) else None
        return [g for g in groups or [] if isinstance(g, dict)]

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts active now (pending or firing) according to the loaded alerting rules."""
        data, _ = self._call(self._request("/api/v1/alerts", [], None), None)
        found = data.get("alerts") if isinstance(data, dict) else None
        return [a for a in found or [] if isinstance(a, dict)]

    def _meta(
        self,
        path: str,
        match: str | None,
        start: datetime | None,
        end: datetime | None,
        timeout_s: float | None = None,
    ) -> Any:
        params: list[tuple[str, str]] = []
        if match:
            params.append(("match[]", match))
        if start is not None:
            params.append(("start", format_time(start)))
        if end is not None:
            params.append(("end", format_time(end)))
        data, _ = self._call(self._request(path, params, timeout_s), match)
        return data

    def buildinfo(self) -> dict[str, Any]:
        """Server version (``mlsre doctor``)."""
        data, _ = self._call(self._request("/api/v1/status/buildinfo", [], None), None)
        return data if isinstance(data, dict) else {}


def _api_error(
    body: dict[str, Any], response: Response, request: Request, query: str | None
) -> HttpFailure:
    etype = str(body.get("errorType") or "unknown")
    message = " ".join(str(body.get("error") or "no message").split())
    shown = f" in query: {query}" if query else ""
    hint: str | None = None
    if (
        etype == "bad_data"
        and "query" in message
        and ("parse error" in message or "unknown function" in message)
    ):
        text = f"PromQL error: {message.removeprefix(_QUERY_PREFIX)}{shown}"
        hint = "fix the query (try it in the Prometheus UI's graph page)"
    elif etype == "bad_data":
        text = f"Prometheus refused the request: {message}{shown}"
    elif etype == "execution":
        text = f"Prometheus could not execute the query (HTTP {response.status}): {message}{shown}"
        hint = "the query parses but fails on this data (e.g. many-to-many matching); fix the query"
    elif etype == "timeout":
        text = f"query timed out inside Prometheus: {message}{shown}"
        hint = "narrow the query (fewer series, shorter range) or raise the server's query timeout"
    elif etype == "canceled":
        text = f"Prometheus canceled the query: {message}{shown}"
    else:
        text = f"Prometheus error ({etype}, HTTP {response.status}): {message}{shown}"
    kind = FailureKind.TIMEOUT if etype == "timeout" else FailureKind.HTTP
    return HttpFailure(
        text, kind=kind, attempts=response.attempts, status=response.status, hint=hint
    )


def _parse(query: str, data: Any, response: Response) -> QueryResult:
    with unexpected_shape("Prometheus", response.url, response.status, response.attempts):
        return _parse_data(query, data, response)


def _parse_data(query: str, data: Any, response: Response) -> QueryResult:
    if not isinstance(data, dict):
        data = {}
    rtype = str(data.get("resultType") or "vector")
    result = data.get("result")
    out = QueryResult(query=query, result_type=rtype, raw=data, attempts=response.attempts)
    if rtype == "vector":
        for item in result or []:
            ts, value = item.get("value", [0, "NaN"])
            out.samples.append(
                Sample(dict(item.get("metric") or {}), parse_value(value), float(ts))
            )
    elif rtype == "matrix":
        for item in result or []:
            pts = [(float(ts), parse_value(v)) for ts, v in item.get("values") or []]
            out.series.append(Series(dict(item.get("metric") or {}), pts))
    elif rtype == "scalar" and isinstance(result, list) and len(result) == 2:
        out.samples.append(Sample({}, parse_value(result[1]), float(result[0])))
    elif rtype == "string" and isinstance(result, list) and len(result) == 2:
        out.samples.append(Sample({"string": str(result[1])}, math.nan, float(result[0])))
    return out
