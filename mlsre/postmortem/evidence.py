"""What the runbook runs left on the incident: step results, registry changes, range series.

Read from the events the engine records (``STEP_STARTED``/``STEP_RESULT``, ``MODEL_CHANGED``,
``RUNBOOK_STARTED``/``FINISHED``), so the postmortem shows exactly what was seen at the time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlsre.incident.model import Event, EventKind, Incident
from mlsre.steps.base import Phase

MAX_SUMMARY = 240
MAX_TABLE_ROWS = 20


@dataclass
class StepTable:
    """A step's own result table (``output.table``: drift per column, data-check findings)."""

    columns: list[str]
    rows: list[list[str]]
    more: int = 0  # rows left out


@dataclass
class StepRow:
    run: str
    runbook: str
    step: str
    description: str
    kind: str
    phase: str
    status: str
    summary: str
    duration_s: float | None
    attempts: int
    at: datetime
    table: StepTable | None = None
    key: str = ""  # runbook/step/status, to list each verification once
    query: str = ""  # the PromQL a Prometheus step asked, if any
    baseline: bool = False  # compared with a baseline (before a deploy, an offset)
    output: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunbookRun:
    run: str
    runbook: str
    title: str
    started_at: datetime
    outcome: str | None
    steps: list[StepRow] = field(default_factory=list)
    at: datetime | None = None  # the time the data was evaluated at (--at), when not "now"
    actor: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    same_as: str | None = None  # an earlier run of the same runbook with the same results

    @property
    def details(self) -> list[StepRow]:
        """Diagnoses worth a row: what could not run or waits for a person. Failed ones are
        findings (their values are under Root causes), healthy and skipped ones are named;
        mitigations and verifications are under Resolution."""
        done = ("passed", "skipped", "failed")
        return [s for s in self.steps if s.phase == Phase.DIAGNOSE and s.status not in done]

    @property
    def failed_names(self) -> list[str]:
        return [s.step for s in self.steps if s.phase == Phase.DIAGNOSE and s.status == "failed"]


@dataclass
class ModelChange:
    at: datetime
    actor: str
    model: str
    alias: str
    from_version: str | None
    to_version: str | None
    verified: bool | None
    reason: str
    step: str | None


@dataclass
class ChartSeries:
    label: str
    points: list[tuple[float, float]]


@dataclass
class Chart:
    name: str  # file stem, unique in the postmortem
    title: str
    query: str
    series: list[ChartSeries]
    link: str | None = None  # relative path of the PNG once drawn
    failing: bool = False  # the signal of a failing check


def runbook_runs(events: list[Event]) -> list[RunbookRun]:
    runs: dict[str, RunbookRun] = {}
    descriptions: dict[tuple[str, str], str] = {}
    for ev in events:
        d = ev.data
        run_id = str(d.get("run") or "")
        if ev.kind is EventKind.RUNBOOK_STARTED:
            runs[run_id] = _started(run_id, ev)
        elif ev.kind is EventKind.STEP_STARTED:
            descriptions[(run_id, str(d.get("step")))] = str(d.get("description") or "")
        elif ev.kind is EventKind.STEP_RESULT:
            run = runs.setdefault(run_id, RunbookRun(run_id, "", "", ev.at, None))
            step = str(d.get("step", ""))
            run.steps.append(_step_row(run, ev, descriptions.get((run_id, step), "")))
        elif ev.kind is EventKind.RUNBOOK_FINISHED and run_id in runs:
            runs[run_id].outcome = str(d.get("outcome") or "")
    found = list(runs.values())
    _mark_repeats(found)
    return found


def _started(run_id: str, ev: Event) -> RunbookRun:
    from mlsre.postmortem.story import run_at

    d = ev.data
    return RunbookRun(
        run_id,
        str(d.get("runbook", "")),
        str(d.get("title") or ""),
        ev.at,
        None,
        at=run_at(d),
        actor=ev.actor,
        inputs=d["inputs"] if isinstance(d.get("inputs"), dict) else {},
    )


def _step_row(run: RunbookRun, ev: Event, description: str) -> StepRow:
    d = ev.data
    raw_out = d.get("output")
    out: dict[str, Any] = raw_out if isinstance(raw_out, dict) else {}
    return StepRow(
        run=run.run,
        runbook=run.runbook,
        step=str(d.get("step", "")),
        description=description,
        kind=str(d.get("kind", "")),
        phase=str(d.get("phase", "")),
        status=str(d.get("status", "")),
        summary=_short(str(d.get("summary") or "")),
        duration_s=_num(d.get("duration_s")),
        attempts=int(d.get("attempts") or 0),
        at=ev.at,
        table=_table(out),
        query=str(out.get("query") or ""),
        baseline=bool(out.get("baseline") or out.get("baseline_time")),
        output=out,
    )


def _mark_repeats(found: list[RunbookRun]) -> None:
    """Key each step row, and point a run at an earlier one that found the same."""
    for i, one in enumerate(found):
        for row in one.steps:
            row.key = f"{row.runbook}/{row.step}/{row.status}"
        mine = _results(one)
        one.same_as = next(
            (r.run for r in found[:i] if r.runbook == one.runbook and _results(r) == mine), None
        )


def _results(run: RunbookRun) -> list[tuple[str, str, str]]:
    """What a run found (its failed or unknown diagnoses): two runs that found the same are
    told once."""
    out = [(s.step, s.status, s.summary) for s in run.steps if s.phase == Phase.DIAGNOSE]
    return sorted(x for x in out if x[1] not in ("passed", "skipped"))


def _table(output: Any) -> StepTable | None:
    table = output.get("table") if isinstance(output, dict) else None
    if not isinstance(table, dict):
        return None
    columns, rows = table.get("columns"), table.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list) or not columns:
        return None
    width = len(columns)
    cells = [
        [_cell(v) for v in (list(r) + [""] * width)[:width]] for r in rows if isinstance(r, list)
    ]
    return StepTable(
        [str(c) for c in columns], cells[:MAX_TABLE_ROWS], max(0, len(cells) - MAX_TABLE_ROWS)
    )


def _cell(v: Any) -> str:
    from mlsre.numbers import fmt

    return "" if v is None else fmt(v)


def utc_short(dt: datetime) -> str:
    """``2026-11-28 17:29`` (UTC): minutes are what a timeline needs."""
    from datetime import UTC

    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def model_changes(evs: list[Event]) -> list[ModelChange]:
    out = []
    for ev in evs:
        if ev.kind is not EventKind.MODEL_CHANGED:
            continue
        d = ev.data
        verified = d.get("verified")
        out.append(
            ModelChange(
                at=ev.at,
                actor=ev.actor,
                model=str(d.get("model", "")),
                alias=str(d.get("alias", "")),
                from_version=_text(d.get("from_version", d.get("before"))),
                to_version=_text(d.get("to_version", d.get("after"))),
                verified=verified if isinstance(verified, bool) else None,
                reason=str(d.get("reason") or ""),
                step=_text(d.get("step")),
            )
        )
    return out


def _text(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)


def versions(inc: Incident, changes: list[ModelChange], events: list[Event]) -> list[str]:
    seen: list[str] = []
    for c in changes:
        for v in (c.from_version, c.to_version):
            if v and v not in seen:
                seen.append(v)
    for ev in events:
        if ev.kind is EventKind.STEP_RESULT and ev.data.get("kind") == "registry.current":
            out = ev.data.get("output") or {}
            v = _text(out.get("version")) if isinstance(out, dict) else None
            if v and v not in seen:
                seen.append(v)
    return sorted(seen, key=lambda v: (not v.isdigit(), int(v) if v.isdigit() else 0, v))


def charts(events: list[Event]) -> list[Chart]:
    charts: list[Chart] = []
    used: set[str] = set()
    for ev in events:
        d = ev.data
        if ev.kind is not EventKind.STEP_RESULT or d.get("kind") != "prometheus.range":
            continue
        out: dict[str, Any] = d["output"] if isinstance(d.get("output"), dict) else {}
        raw = out.get("series")
        if not isinstance(raw, list):
            ev_data = (d.get("evidence") or {}).get("data") or {}
            raw = ev_data.get("series") if isinstance(ev_data, dict) else None
        series = [_series(s) for s in raw or [] if isinstance(s, dict)]
        series = [s for s in series if s.points]
        if not series:
            continue
        base = slug(str(d.get("step") or "series")) or "series"
        name, n = base, 2
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        charts.append(Chart(name, str(d.get("step") or name), str(out.get("query") or ""), series))
    return charts


def _series(s: dict[str, Any]) -> ChartSeries:
    labels = s.get("labels") or {}
    label = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__") or "value"
    points: list[tuple[float, float]] = []
    for p in s.get("points") or []:
        try:
            points.append((float(p[0]), float(p[1])))
        except (TypeError, ValueError, IndexError):
            continue
    return ChartSeries(label, points)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]
