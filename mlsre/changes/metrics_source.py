"""Deploys seen in the serving metrics: a version label value that appears in the window, on
whichever metric of the model carries it; and changes of configured build-info / config-hash
gauges. Only :mod:`mlsre.integrations.prometheus` speaks to Prometheus."""

from __future__ import annotations

from datetime import UTC, datetime

from mlsre.changes.model import Change, ChangeKind, Source
from mlsre.integrations.prometheus import PrometheusClient


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _step(since: datetime, until: datetime) -> float:
    return max(15.0, (until - since).total_seconds() / 1000)


def version_changes(
    prom: PrometheusClient,
    model: str,
    since: datetime,
    until: datetime,
    *,
    version_label: str = "version",
    model_label: str = "model",
) -> list[Change]:
    """A version label value first seen after the window's start, on any series of the model
    (a request counter without the label does not hide the histogram that has it)."""
    step = _step(since, until)
    selector = f'{{{model_label}="{_quote(model)}", {version_label}!=""}}'
    result = prom.query_range(f"count by ({version_label}) ({selector})", since, until, step)
    first = sorted(
        (s.points[0][0], s.labels.get(version_label, "")) for s in result.series if s.points
    )
    if not first:
        return []
    # A version already there when the data begins (the window's start, or the oldest sample
    # Prometheus still has) was serving before: only a later first sample is a change.
    serving_from = max(since.timestamp(), first[0][0]) + step
    out = []
    seen_before = [v for t, v in first if t <= serving_from]
    for t, version in first:
        if t <= serving_from:
            continue
        previous = seen_before[-1] if seen_before else None
        was = f" (after {previous})" if previous else ""
        out.append(
            Change(
                ChangeKind.MODEL,
                Source.METRICS,
                datetime.fromtimestamp(t, UTC),
                f"{model} version {version} started serving{was}",
                model=model,
                details={"version": version, "previous": previous, "query": result.query},
            )
        )
        seen_before.append(version)
    return out


def gauge_changes(
    prom: PrometheusClient, metric: str, model: str | None, since: datetime, until: datetime
) -> list[Change]:
    """A build-info or config-hash gauge: a new label set, or a new value, within the window."""
    step = _step(since, until)
    result = prom.query_range(metric, since, until, step)
    out = []
    starts = [s.points[0][0] for s in result.series if s.points]
    serving_from = max(since.timestamp(), min(starts, default=since.timestamp())) + step
    for s in result.series:
        name = s.labels.get("__name__") or metric.split("{", 1)[0]
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()) if k != "__name__")
        show = _as_time if "timestamp" in name else _as_number
        series_model = s.labels.get("model") or model
        if s.points and s.points[0][0] > serving_from:
            out.append(
                Change(
                    ChangeKind.CONFIG,
                    Source.METRICS,
                    datetime.fromtimestamp(s.points[0][0], UTC),
                    f"{name}{{{labels}}} appeared",
                    model=series_model,
                    details={"metric": metric, "labels": dict(s.labels)},
                )
            )
        for (_, before), (t, after) in zip(s.points, s.points[1:], strict=False):
            if before != after:
                out.append(
                    Change(
                        ChangeKind.CONFIG,
                        Source.METRICS,
                        datetime.fromtimestamp(t, UTC),
                        f"{name}{{{labels}}} changed {show(before)} -> {show(after)}",
                        model=series_model,
                        details={"metric": metric, "before": before, "after": after},
                    )
                )
    return out


def _as_number(value: float) -> str:
    return f"{value:g}"


def _as_time(value: float) -> str:
    """A gauge of unix seconds (last trained, build time) reads better as a date."""
    try:
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return f"{value:g}"
