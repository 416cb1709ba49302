"""What the ``prometheus.*`` step kinds do (imported only when such a step runs)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlsre.errors import MlsreError, UsageError
from mlsre.integrations.prometheus import (
    PrometheusClient,
    QueryResult,
    Sample,
    Series,
    promql_escape,
)
from mlsre.numbers import fmt, ratio_text
from mlsre.steps.base import StepContext, StepResult, StepStatus
from mlsre.steps.evidence import bounded, error_result
from mlsre.steps.prometheus.kinds import CompareParams, QueryParams, RangeParams
from mlsre.timeutil import iso, parse_duration, parse_time, utcnow

SPARK = "▁▂▃▄▅▆▇█"


def client(ctx: StepContext) -> PrometheusClient:
    return PrometheusClient(ctx.settings.prometheus, ctx.transport)


def eval_time(ctx: StepContext) -> datetime:
    return ctx.at or utcnow()


def sparkline(values: list[float], width: int = 40) -> str:
    """Unicode block sparkline; NaN/Inf points are blanks."""
    if len(values) > width:
        chunk = len(values) / width
        values = [values[int(i * chunk)] for i in range(width)]
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    span = hi - lo or 1.0
    return "".join(
        SPARK[int((v - lo) / span * (len(SPARK) - 1))] if math.isfinite(v) else " " for v in values
    )


def _fmt(v: float) -> str:
    return fmt(v)


def _label_text(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__") or "{}"


def _evidence(result: QueryResult, **request: Any) -> dict[str, Any]:
    return {
        "request": {"query": result.query, **request},
        "result_type": result.result_type,
        "data": bounded(result.raw),
        "attempts": result.attempts,
    }


def run_query(params: QueryParams, ctx: StepContext) -> StepResult:
    try:
        now = eval_time(ctx)
        at = parse_time(params.time, now=now) if params.time else now
        result = client(ctx).query(params.query, at, timeout_s=params.timeout_s)
    except MlsreError as exc:
        return error_result(exc)
    samples = [s.as_dict() for s in result.samples]
    rows = [[_label_text(s.labels), _fmt(s.value)] for s in result.samples]
    summary = (
        "no data"
        if not samples
        else "; ".join(f"{_label_text(s.labels)}: {_fmt(s.value)}" for s in result.samples[:5])
        + (f" (+{len(samples) - 5} more)" if len(samples) > 5 else "")
    )
    output = {
        "query": params.query,
        "time": iso(at),
        "samples": samples,
        "value": samples[0]["value"] if len(samples) == 1 else None,
        "table": {"columns": ["labels", "value"], "rows": rows},
    }
    return StepResult(
        summary=summary, output=output, samples=samples, evidence=_evidence(result, time=iso(at))
    )


def _summarise(series: Series) -> dict[str, Any]:
    values = [v for _, v in series.points]
    finite = [v for v in values if math.isfinite(v)]
    return {
        "labels": dict(series.labels),
        "value": values[-1] if values else math.nan,
        "last": values[-1] if values else math.nan,
        "min": min(finite) if finite else math.nan,
        "max": max(finite) if finite else math.nan,
        "mean": sum(finite) / len(finite) if finite else math.nan,
        "points": len(values),
        "sparkline": sparkline(values),
    }


def _downsample(points: list[tuple[float, float]], limit: int) -> list[list[float]]:
    if len(points) <= limit:
        return [[t, v] for t, v in points]
    stride = len(points) / limit
    return [list(points[int(i * stride)]) for i in range(limit - 1)] + [list(points[-1])]


def run_range(params: RangeParams, ctx: StepContext) -> StepResult:
    try:
        now = eval_time(ctx)
        start, end = parse_time(params.start, now=now), parse_time(params.end, now=now)
        step_s = _step_seconds(params.step)
        result = client(ctx).query_range(
            params.query, start, end, step_s, timeout_s=params.timeout_s
        )
    except MlsreError as exc:
        return error_result(exc)
    samples = [_summarise(s) for s in result.series]
    series = [
        {"labels": dict(s.labels), "points": _downsample(s.points, params.max_points)}
        for s in result.series
    ]
    summary = (
        "no data"
        if not samples
        else "; ".join(
            f"{_label_text(s['labels'])}: last {_fmt(s['last'])} "
            f"(min {_fmt(s['min'])}, max {_fmt(s['max'])}) {s['sparkline']}"
            for s in samples[:5]
        )
    )
    output = {
        "query": params.query,
        "start": iso(start),
        "end": iso(end),
        "step_s": step_s,
        "samples": samples,
        "series": series,
    }
    evidence = _evidence(result, start=iso(start), end=iso(end), step_s=step_s)
    evidence["data"] = {"series": bounded(series)}
    return StepResult(summary=summary, output=output, samples=samples, evidence=evidence)


def _step_seconds(text: str) -> float:
    text = str(text).strip()
    try:
        value = float(text)
    except ValueError:
        value = parse_duration(text).total_seconds()
    if value <= 0:
        raise UsageError(f"range step '{text}' must be positive")
    return value


# -- compare ------------------------------------------------------------------------------------


FINE_STEP_S = 15.0  # resolution of the change time (a common scrape interval)


@dataclass
class VersionChange:
    """The newest model version change in the lookback, read from a series with the label."""

    metric: str  # the metric whose version label told us
    versions: list[str]  # every version seen, oldest first
    at: datetime | None = None  # None: no change in the lookback
    version: str | None = None
    previous: str | None = None

    def info(self) -> dict[str, Any]:
        return {
            "baseline": "version_change",
            "version_metric": self.metric,
            "version": self.version,
            "previous_version": self.previous,
            "changed_at": iso(self.at) if self.at else None,
            "versions_seen": self.versions,
        }


class NoVersionChange(Exception):
    """baseline: version_change, and nothing changed: its own outcome, not an error."""

    def __init__(self, change: VersionChange, lookback: str) -> None:
        super().__init__(lookback)
        self.change = change
        self.lookback = lookback


def baseline_time(
    params: CompareParams, ctx: StepContext, now: datetime
) -> tuple[datetime, dict[str, Any]]:
    """When 'before' is, and why (for the output and the person reading it)."""
    kind = str(params.baseline)
    if kind == "offset":
        return now - parse_duration(params.offset), {"baseline": "offset", "offset": params.offset}
    if kind == "at":
        if not params.baseline_at:
            raise UsageError("baseline: at needs baseline_at (a time)")
        return parse_time(params.baseline_at, now=now), {"baseline": "at"}
    margin = parse_duration(params.margin)
    if kind == "incident":
        started = (ctx.incident or {}).get("started_at")
        if not started:
            raise UsageError(
                "baseline: incident needs an incident with a start time (run it on one)"
            )
        t = started if isinstance(started, datetime) else parse_time(str(started), now=now)
        return t - margin, {"baseline": "incident", "incident_started_at": iso(t)}
    change = version_change(params, ctx, now)
    if change.at is None:
        raise NoVersionChange(change, params.lookback)
    return change.at - margin, change.info()


def _matcher(name: str, value: str) -> str:
    return f'{name}="{promql_escape(value)}"'


def version_change(params: CompareParams, ctx: StepContext, now: datetime) -> VersionChange:
    """When the newest version label first appeared, from Prometheus's own series.

    Only series that carry the version label count (a label-less series is no version). When
    ``version_metric`` has none, the metric is found among those of the model that carry it
    (a histogram's ``_count`` or a counter preferred). A version seen from the first sample in
    the window is where the data begins, not a change.
    """
    lookback = parse_duration(params.lookback)
    start = now - lookback
    step_s = max(15.0, lookback.total_seconds() / 2000)
    label = params.version_label
    matchers = [f'{label}!=""']
    if params.model:
        matchers.insert(0, _matcher(params.model_label, str(params.model)))
    selector = "{" + ",".join(matchers) + "}"
    c = client(ctx)
    metric = params.version_metric
    first_seen = _first_seen(c, metric, selector, label, start, now, step_s, params.timeout_s)
    if not first_seen:
        names = c.label_values("__name__", selector, start, now, timeout_s=params.timeout_s)
        metric = _version_metric(names) or ""
        if metric:
            first_seen = _first_seen(
                c, metric, selector, label, start, now, step_s, params.timeout_s
            )
        if not first_seen:  # none found (or a server that ignores match[] named another one)
            raise UsageError(
                f"no series{' of ' + str(params.model) if params.model else ''} carries a "
                f"`{label}` label in the last {params.lookback} (looked at {params.version_metric} "
                "and every other metric)",
                hint="set the runbook's version_label (and version_metric) inputs, or use "
                "baseline: offset",
            )
    versions = [v for _, v in first_seen]
    data_begins = max(start.timestamp(), first_seen[0][0]) if first_seen else start.timestamp()
    changes = [(t, v) for t, v in first_seen if t > data_begins + step_s]
    if not changes:
        return VersionChange(metric, versions)
    t, version = changes[-1]
    older = [v for ts, v in first_seen if ts < t]
    if step_s > FINE_STEP_S:  # the coarse scan found the step; find the moment within it
        fine = _first_seen(
            c,
            metric,
            selector,
            label,
            datetime.fromtimestamp(t - step_s, now.tzinfo),
            datetime.fromtimestamp(t, now.tzinfo),
            FINE_STEP_S,
            params.timeout_s,
        )
        t = next((ts for ts, v in fine if v == version), t)
    return VersionChange(
        metric,
        versions,
        datetime.fromtimestamp(t, now.tzinfo),
        version,
        older[-1] if older else None,
    )


def _first_seen(
    c: PrometheusClient,
    metric: str,
    selector: str,
    label: str,
    start: datetime,
    end: datetime,
    step_s: float,
    timeout_s: float | None,
) -> list[tuple[float, str]]:
    query = f"count by ({label}) ({metric}{selector})"
    result = c.query_range(query, start, end, step_s, timeout_s=timeout_s)
    return sorted(
        (s.points[0][0], s.labels[label]) for s in result.series if s.points and s.labels.get(label)
    )


def _version_metric(names: list[str]) -> str | None:
    """The best metric to read versions from: few series per version, one per request."""
    for suffix in ("_count", "_total", ""):
        found = [n for n in names if n.endswith(suffix) and not n.endswith("_bucket")]
        if found:
            return found[0]
    return None


def _key(sample: Sample, ignore: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in sample.labels.items() if k not in ignore))


def _when(text: str | None) -> str:
    return text.replace("T", " ").replace("+00:00", "Z") if text else "?"


def _no_change(params: CompareParams, now: datetime, exc: NoVersionChange) -> StepResult:
    seen = ", ".join(exc.change.versions) or "none"
    summary = (
        f"no version change in the last {exc.lookback} (versions seen: {seen}, from "
        f"{exc.change.metric}): nothing deployed to compare with"
    )
    output = {
        "query": params.query,
        "time": iso(now),
        **exc.change.info(),
        "version_change": None,
        "samples": [],
    }
    return StepResult(StepStatus.PASSED, summary, output=output, judged=True)


def run_compare(params: CompareParams, ctx: StepContext) -> StepResult:
    now = eval_time(ctx)
    try:
        base_at, why = baseline_time(params, ctx, now)
        c = client(ctx)
        current = c.query(params.query, now, timeout_s=params.timeout_s)
        base = c.query(params.query, base_at, timeout_s=params.timeout_s)
    except NoVersionChange as exc:
        return _no_change(params, now, exc)
    except MlsreError as exc:
        return error_result(exc)
    ignore = [*params.ignore_labels, params.version_label]  # a new version renames the series
    by_key = {_key(s, ignore): s for s in base.samples}
    samples: list[dict[str, Any]] = []
    unpaired: list[dict[str, str]] = []
    for s in current.samples:
        b = by_key.get(_key(s, ignore))
        if b is None:
            unpaired.append(dict(s.labels))
            continue
        ratio = s.value / b.value if b.value else (math.inf if s.value > 0 else math.nan)
        samples.append(
            {
                "value": ratio,
                "ratio": ratio,
                "delta": s.value - b.value,
                "now": s.value,
                "baseline": b.value,
                "labels": dict(s.labels),
                "baseline_labels": dict(b.labels),
            }
        )
    finding = (
        f"version {why['version']} went live at {_when(why['changed_at'])}"
        + (f", replacing {why['previous_version']}" if why.get("previous_version") else "")
        if why.get("changed_at")
        else ""
    )
    before = "before" if finding else f"at {_when(iso(base_at))}"
    summary = (
        f"no data to compare (now: {len(current.samples)} series, {before}: "
        f"{len(base.samples)} series)"
        if not samples
        else "; ".join(
            f"{_label_text(x['labels']) + ': ' if x['labels'] else ''}{_fmt(x['now'])} now vs "
            f"{_fmt(x['baseline'])} {before} ({ratio_text(x['now'], x['baseline'])})"
            for x in samples[:5]
        )
    )
    if finding:
        summary = f"{finding}: {summary}"
    output = {
        "query": params.query,
        "time": iso(now),
        "baseline_time": iso(base_at),
        **why,
        "samples": samples,
        "unpaired": unpaired,
        "ratio": samples[0]["ratio"] if len(samples) == 1 else None,
    }
    evidence = {
        "now": _evidence(current, time=iso(now)),
        "baseline": _evidence(base, time=iso(base_at)),
    }
    return StepResult(
        summary=summary, output=output, samples=samples, evidence=evidence, finding=finding
    )
