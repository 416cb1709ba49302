"""A chart for every failing signal, and the moments its data describes.

A failing ``prometheus.range`` step already kept its series. A failing instant query (a
``prometheus.query`` or a comparison) kept one value per series, which draws no picture: its
query is asked again as a range around the incident (when Prometheus still has the data). From
each series we read when it changed level (a change point) and, when the step's ``expect`` is
known, its first failing sample; both go on the timeline as observed from data.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mlsre.postmortem.evidence import Chart, ChartSeries, RunbookRun, StepRow, slug
from mlsre.postmortem.story import Observed

MAX_WINDOW = timedelta(hours=24)
BEFORE = timedelta(hours=1)  # of history shown before the incident started
AFTER = timedelta(minutes=15)
MAX_FETCHED = 12  # range queries one postmortem asks for; more failing signals are listed
NEAR_DEPLOY_S = 600  # a level change this close to a version change is that change
POINTS = 240  # per series: enough for a chart, cheap for Prometheus
_EXPECT = re.compile(r"expect `([^`]+)`")


@dataclass
class SignalResult:
    charts: list[Chart]
    observed: list[Observed]
    note: str | None = None  # why some charts are missing


def failing_signals(runs: list[RunbookRun]) -> list[tuple[RunbookRun, StepRow]]:
    """Failing Prometheus steps, one per query (the latest run's), in the order they ran."""
    out: dict[str, tuple[RunbookRun, StepRow]] = {}
    for run in runs:
        for s in run.steps:
            if s.status == "failed" and s.query and s.kind.startswith("prometheus."):
                out[" ".join(s.query.split())] = (run, s)
    return list(out.values())


def window(
    run: RunbookRun, started: datetime, end: datetime, now: datetime
) -> tuple[datetime, datetime]:
    """From an hour before the start to a little after the time the data was evaluated at."""
    focus = run.at or end
    hi = min(max(focus, started) + AFTER, now)
    lo = min(started, focus) - BEFORE
    if hi - lo > MAX_WINDOW:
        lo = hi - MAX_WINDOW
    return lo, hi


def gather(
    runs: list[RunbookRun],
    started: datetime,
    end: datetime,
    now: datetime,
    recorded: list[Chart],
    client: Any | None,
) -> SignalResult:
    """Charts for failing signals not charted yet, plus what each failing series shows.

    ``client`` None: Prometheus is not asked (``--no-slo``), and the note says so. A Prometheus
    that does not answer is asked once, not once per signal.
    """
    from mlsre.errors import MlsreError
    from mlsre.postmortem.story import observed_changes

    charts: list[Chart] = []
    observed: list[Observed] = []
    used = {c.name for c in recorded}
    by_step = {c.title: c for c in recorded}
    missing: list[str] = []
    why_not = "Prometheus was not asked" if client is None else ""
    deploys = [o.at for o in observed_changes(runs)]
    for run, s in failing_signals(runs):
        chart = by_step.get(s.step)
        if chart is None:  # an instant query (or a range whose series were not kept)
            if client is None:
                missing.append(f"{s.step} ({why_not})")
                continue
            if len(charts) >= MAX_FETCHED:
                missing.append(f"{s.step} (more than {MAX_FETCHED} failing signals)")
                continue
            lo, hi = window(run, started, end, now)
            step_s = max(15.0, (hi - lo).total_seconds() / POINTS)
            try:
                res = client.query_range(s.query, lo, hi, step_s)
            except MlsreError as exc:
                missing.append(f"{s.step} ({exc.message})")
                if _server_gone(exc):  # do not wait on it again for every other signal
                    client, why_not = None, "Prometheus did not answer"
                continue
            series = [
                ChartSeries(_label(x.labels), [(t, v) for t, v in x.points]) for x in res.series
            ]
            series = [x for x in series if x.points]
            if not series:
                missing.append(f"{s.step} (no data in {lo:%H:%M}-{hi:%H:%M} UTC)")
                continue
            name, n = slug(s.step), 2
            base = name
            while name in used:
                name, n = f"{base}-{n}", n + 1
            used.add(name)
            chart = Chart(name, s.step, s.query, series, failing=True)
            charts.append(chart)
        if chart is None:
            continue
        chart.failing = True
        observed.extend(_observed(chart, s, run, started, deploys))
    note = None
    if missing:
        note = "no chart for " + "; ".join(missing[:4])
        note += f" (+{len(missing) - 4} more)" if len(missing) > 4 else ""
    return SignalResult(charts, observed, note)


def _server_gone(exc: Exception) -> bool:
    """Prometheus is not there (down, too slow, refusing us), not just this query failing."""
    from mlsre.integrations.http import FailureKind

    kind = getattr(exc, "kind", None)
    return kind is not None and kind not in (FailureKind.HTTP, FailureKind.BAD_JSON)


def _label(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__") or "value"


def _observed(
    chart: Chart, s: StepRow, run: RunbookRun, started: datetime, deploys: list[datetime]
) -> list[Observed]:
    """The first failing sample when the expectation is known, else the largest level change."""
    where = f"{s.runbook}/{s.step}"
    first = first_failing(chart, s, run.inputs)
    if first is not None:
        t, label, value = first
        at = datetime.fromtimestamp(t, started.tzinfo)
        return [Observed(at, f"First failing sample of `{s.step}`: {label} = {_n(value)}", where)]
    best: tuple[float, str, float, float] | None = None
    for series in chart.series[:8]:
        cp = change_point(series.points)
        if cp is not None and (best is None or abs(cp[2] - cp[1]) > abs(best[3] - best[2])):
            best = (cp[0], series.label, cp[1], cp[2])
    if best is None:
        return []
    t, label, before, after = best
    at = datetime.fromtimestamp(t, started.tzinfo)
    if any(abs((at - d).total_seconds()) <= NEAR_DEPLOY_S for d in deploys):
        return []  # the version change already on the timeline says it
    text = f"`{s.step}` {label} changed level: {_n(before)} -> {_n(after)}"
    return [Observed(at, text, where)]


def _n(v: float) -> str:
    from mlsre.numbers import fmt

    return fmt(v)


def change_point(points: list[tuple[float, float]]) -> tuple[float, float, float] | None:
    """Where a series steps from one level to another: (time, mean before, mean after).

    The split that maximises the difference of the two means weighted by the sizes of the
    two sides; reported only when the step is large against the noise on either side (3x the
    pooled standard deviation) and each side holds at least three samples.
    """
    pts = [(t, v) for t, v in points if math.isfinite(v)]
    n = len(pts)
    if n < 6:
        return None
    vals = [v for _, v in pts]
    prefix = [0.0]
    for v in vals:
        prefix.append(prefix[-1] + v)
    best, best_i = 0.0, -1
    for i in range(3, n - 2):
        left, right = prefix[i], prefix[n] - prefix[i]
        diff = abs(right / (n - i) - left / i)
        score = diff * math.sqrt(i * (n - i) / n)
        if score > best:
            best, best_i = score, i
    if best_i < 0:
        return None
    a, b = vals[:best_i], vals[best_i:]
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    var = (sum((x - ma) ** 2 for x in a) + sum((x - mb) ** 2 for x in b)) / n
    scale = max(abs(ma), abs(mb), 1e-12)
    if abs(mb - ma) <= max(3 * math.sqrt(var), 0.05 * scale):
        return None
    return pts[best_i][0], ma, mb


def first_failing(
    chart: Chart, s: StepRow, inputs: dict[str, Any]
) -> tuple[float, str, float] | None:
    """The earliest point that breaks the step's ``expect``, when the summary names it."""
    m = _EXPECT.search(s.summary)
    if m is None or s.kind == "prometheus.compare":  # a ratio's expect does not fit raw values
        return None
    from mlsre.errors import MlsreError
    from mlsre.runbook.sandbox import check_samples

    best: tuple[float, str, float] | None = None
    for series in chart.series[:8]:
        labels = dict(p.split("=", 1) for p in series.label.split(",") if "=" in p)
        for t, v in series.points:
            if best is not None and t >= best[0]:
                break
            try:
                sample = {"value": v, "labels": labels}
                broken = check_samples(m.group(1), [sample], {"inputs": inputs})
            except MlsreError:
                return None
            if broken:
                best = (t, series.label, v)
                break
    return best
