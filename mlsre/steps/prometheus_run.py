"""What the ``prometheus.*`` step kinds do (imported only when such a step runs)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from mlsre.errors import MlsreError, UsageError
from mlsre.integrations.prometheus import PrometheusClient, QueryResult, Sample, Series
from mlsre.numbers import fmt, ratio_text
from mlsre.steps.base import StepContext, StepResult
from mlsre.steps.evidence import bounded, error_result
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


def run_query(params: Any, ctx: StepContext) -> StepResult:
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


def run_range(params: Any, ctx: StepContext) -> StepResult:
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


def baseline_time(params: Any, ctx: StepContext, now: datetime) -> tuple[datetime, dict[str, Any]]:
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
    changed_at, version, previous = version_change(params, ctx, now)
    info = {
        "baseline": "version_change",
        "version": version,
        "previous_version": previous,
        "changed_at": iso(changed_at),
    }
    return changed_at - margin, info


def version_change(
    params: Any, ctx: StepContext, now: datetime
) -> tuple[datetime, str, str | None]:
    """When the newest version label first appeared, from Prometheus's own series."""
    lookback = parse_duration(params.lookback)
    step_s = max(15.0, lookback.total_seconds() / 2000)
    escaped = str(params.model).replace("\\", "\\\\").replace('"', '\\"')
    selector = f'{{{params.model_label}="{escaped}"}}' if params.model else ""
    label = params.version_label
    query = f"count by ({label}) ({params.version_metric}{selector})"
    result = client(ctx).query_range(query, now - lookback, now, step_s, timeout_s=params.timeout_s)
    first_seen = sorted(
        (s.points[0][0], s.labels.get(label, "")) for s in result.series if s.points
    )
    window_start = (now - lookback).timestamp()
    changes = [(t, v) for t, v in first_seen if t > window_start + step_s]
    if not changes:
        raise UsageError(
            f"no model version change found in the last {params.lookback} "
            f"({params.version_metric}{selector} by {label})",
            hint="use baseline: offset, or a longer lookback",
        )
    t, version = changes[-1]
    older = [v for ts, v in first_seen if ts < t]
    return datetime.fromtimestamp(t, now.tzinfo), version, (older[-1] if older else None)


def _key(sample: Sample, ignore: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in sample.labels.items() if k not in ignore))


def run_compare(params: Any, ctx: StepContext) -> StepResult:
    try:
        now = eval_time(ctx)
        base_at, why = baseline_time(params, ctx, now)
        c = client(ctx)
        current = c.query(params.query, now, timeout_s=params.timeout_s)
        base = c.query(params.query, base_at, timeout_s=params.timeout_s)
    except MlsreError as exc:
        return error_result(exc)
    by_key = {_key(s, params.ignore_labels): s for s in base.samples}
    samples: list[dict[str, Any]] = []
    unpaired: list[dict[str, str]] = []
    for s in current.samples:
        b = by_key.get(_key(s, params.ignore_labels))
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
    summary = (
        "no data to compare"
        if not samples
        else "; ".join(
            f"{_label_text(x['labels'])}: {_fmt(x['now'])} vs {_fmt(x['baseline'])} "
            f"before ({ratio_text(x['now'], x['baseline'])})"
            for x in samples[:5]
        )
    )
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
    return StepResult(summary=summary, output=output, samples=samples, evidence=evidence)
