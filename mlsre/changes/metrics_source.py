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
    out = []
    seen_before = [v for t, v in first if t <= since.timestamp() + step]
    for t, version in first:
        if t <= since.timestamp() + step:
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
    for s in result.series:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()) if k != "__name__")
        series_model = s.labels.get("model") or model
        if s.points and s.points[0][0] > since.timestamp() + step:
            out.append(
                Change(
                    ChangeKind.CONFIG,
                    Source.METRICS,
                    datetime.fromtimestamp(s.points[0][0], UTC),
                    f"{metric} appeared with {labels or 'no labels'}",
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
                        f"{metric}{{{labels}}} changed {before:g} -> {after:g}",
                        model=series_model,
                        details={"metric": metric, "before": before, "after": after},
                    )
                )
    return out
