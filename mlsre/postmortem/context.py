"""What a postmortem says, gathered from the incident and its events (no I/O, no templates).

The template only lays these facts out; every number in a postmortem is computed here, once.
Events about the postmortem itself (its publication) are left out, so publishing twice renders
the same text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlsre.incident.model import ActionItem, Event, EventKind, Incident
from mlsre.incident.timeline import describe

# Events of the postmortem's own making: leaving them out keeps re-rendering stable.
EXCLUDED = (EventKind.POSTMORTEM_PUBLISHED, EventKind.STEP_STARTED)
MAX_SUMMARY = 240
DATA_KINDS = ("drift", "data")  # step kinds (prefixes) whose results are data evidence
DATA_WORDS = ("drift", "psi", "null", "skew", "freshness", "stale", "schema", "feature")


@dataclass
class Moment:
    name: str  # started, detected, acknowledged, mitigated, resolved, closed
    at: datetime


@dataclass
class TimelineRow:
    at: datetime
    actor: str
    kind: str
    text: str
    milestone: str | None = None


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


@dataclass
class RunbookRun:
    run: str
    runbook: str
    title: str
    started_at: datetime
    outcome: str | None
    steps: list[StepRow] = field(default_factory=list)


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


@dataclass
class SloRow:
    name: str
    objective: float
    error_ratio: float | None
    burn_rate: float | None
    budget_consumed: float | None
    error: str | None = None


@dataclass
class SloImpactSection:
    available: bool
    reason: str | None = None  # why not, when not available
    rows: list[SloRow] = field(default_factory=list)


@dataclass
class PostmortemContext:
    ref: str
    id: int
    title: str
    severity: str
    status: str
    model: str | None
    service: str | None
    summary: str | None
    resolution: str | None
    authors: list[str]
    roles: dict[str, str]
    started_at: datetime
    detected_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    window_end: datetime  # resolved, else the last event
    duration_s: float | None  # started -> resolved
    impact_s: float | None  # started -> mitigated (or resolved)
    time_to_detect_s: float
    time_to_acknowledge_s: float | None  # from detection
    detected_by: str
    moments: list[Moment]
    timeline: list[TimelineRow]
    notes: list[TimelineRow]
    runs: list[RunbookRun]
    failed_steps: list[StepRow]
    mitigations: list[StepRow]
    model_changes: list[ModelChange]
    versions: list[str]
    data_evidence: list[StepRow]
    actions: list[ActionItem]
    charts: list[Chart]
    slo: SloImpactSection
    escalations: list[TimelineRow]
    evidence_link: str | None = None


def build_context(
    incident: Incident, events: list[Event], slo: SloImpactSection | None = None
) -> PostmortemContext:
    evs = [e for e in events if e.kind not in EXCLUDED]
    moments = _moments(incident)
    timeline = _timeline(incident, evs, moments)
    runs = _runs(events)
    steps = [s for r in runs for s in r.steps]
    changes = _model_changes(evs)
    end = incident.resolved_at or (evs[-1].at if evs else incident.opened_at)
    opened = next((e for e in evs if e.kind is EventKind.OPENED), None)
    return PostmortemContext(
        ref=incident.ref,
        id=incident.id,
        title=incident.title,
        severity=incident.severity.value,
        status=incident.status.value,
        model=incident.model,
        service=incident.service,
        summary=incident.summary,
        resolution=incident.resolution,
        authors=[p for p in _people(incident, evs) if not is_automation(p)],
        roles=dict(incident.roles),
        started_at=incident.started_at,
        detected_at=incident.opened_at,
        acknowledged_at=incident.acknowledged_at,
        mitigated_at=incident.mitigated_at,
        resolved_at=incident.resolved_at,
        closed_at=incident.closed_at,
        window_end=end,
        duration_s=_secs(incident.started_at, incident.resolved_at),
        impact_s=_secs(incident.started_at, incident.mitigated_at or incident.resolved_at),
        time_to_detect_s=max(0.0, (incident.opened_at - incident.started_at).total_seconds()),
        time_to_acknowledge_s=_secs(incident.opened_at, incident.acknowledged_at),
        detected_by=opened.actor if opened else "unknown",
        moments=moments,
        timeline=timeline,
        notes=[r for r in timeline if r.kind == EventKind.NOTE.value],
        runs=runs,
        failed_steps=[s for s in steps if s.status in ("failed", "error")],
        mitigations=[s for s in steps if s.phase == "mitigate" and s.status != "skipped"],
        model_changes=changes,
        versions=_versions(incident, changes, events),
        data_evidence=[s for s in steps if _is_data_step(s)],
        actions=list(incident.actions),
        charts=_charts(events),
        slo=slo or SloImpactSection(False, "not computed"),
        escalations=[r for r in timeline if r.kind == EventKind.ESCALATED.value],
    )


def people_names(incident: Incident, events: list[Event]) -> list[str]:
    """Everyone the incident names: actors and role holders (for the blameless lint)."""
    return _people(incident, events)


def _secs(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else max(0.0, (b - a).total_seconds())


def _moments(inc: Incident) -> list[Moment]:
    pairs = [
        ("started", inc.started_at),
        ("detected", inc.opened_at),
        ("acknowledged", inc.acknowledged_at),
        ("mitigated", inc.mitigated_at),
        ("resolved", inc.resolved_at),
        ("closed", inc.closed_at),
    ]
    return [Moment(name, at) for name, at in pairs if at is not None]


_LIFECYCLE = (
    EventKind.OPENED,
    EventKind.ACKNOWLEDGED,
    EventKind.MITIGATED,
    EventKind.RESOLVED,
    EventKind.CLOSED,
)


def _timeline(inc: Incident, evs: list[Event], moments: list[Moment]) -> list[TimelineRow]:
    """One row per event; the lifecycle moments marked on the event that set them."""
    rows: list[TimelineRow] = []
    pending = list(moments)
    if inc.started_at < inc.opened_at:
        rows.append(TimelineRow(inc.started_at, "", "started", "Problem began", "started"))
        pending = [m for m in pending if m.name != "started"]
    for ev in evs:
        marks: list[str] = []
        if ev.kind in _LIFECYCLE:
            marks = [m.name for m in pending if m.at == ev.at]
            pending = [m for m in pending if m.name not in marks]
        rows.append(
            TimelineRow(ev.at, ev.actor, ev.kind.value, describe(ev), ", ".join(marks) or None)
        )
    rows.sort(key=lambda r: r.at)
    return rows


def _runs(events: list[Event]) -> list[RunbookRun]:
    runs: dict[str, RunbookRun] = {}
    descriptions: dict[tuple[str, str], str] = {}
    for ev in events:
        d = ev.data
        run_id = str(d.get("run") or "")
        if ev.kind is EventKind.RUNBOOK_STARTED:
            runs[run_id] = RunbookRun(
                run_id, str(d.get("runbook", "")), str(d.get("title") or ""), ev.at, None
            )
        elif ev.kind is EventKind.STEP_STARTED:
            descriptions[(run_id, str(d.get("step")))] = str(d.get("description") or "")
        elif ev.kind is EventKind.STEP_RESULT:
            run = runs.setdefault(run_id, RunbookRun(run_id, "", "", ev.at, None))
            step = str(d.get("step", ""))
            run.steps.append(
                StepRow(
                    run=run_id,
                    runbook=run.runbook,
                    step=step,
                    description=descriptions.get((run_id, step), ""),
                    kind=str(d.get("kind", "")),
                    phase=str(d.get("phase", "")),
                    status=str(d.get("status", "")),
                    summary=_short(str(d.get("summary") or "")),
                    duration_s=_num(d.get("duration_s")),
                    attempts=int(d.get("attempts") or 0),
                    at=ev.at,
                )
            )
        elif ev.kind is EventKind.RUNBOOK_FINISHED and run_id in runs:
            runs[run_id].outcome = str(d.get("outcome") or "")
    return list(runs.values())


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def _model_changes(evs: list[Event]) -> list[ModelChange]:
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


def _versions(inc: Incident, changes: list[ModelChange], events: list[Event]) -> list[str]:
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


def _is_data_step(s: StepRow) -> bool:
    if s.kind.split(".")[0] in DATA_KINDS:
        return True
    return s.kind.startswith("prometheus.") and any(w in s.step.lower() for w in DATA_WORDS)


# Actors that are tools, not people: not authors, and never "a person as the cause".
AUTOMATION = ("mlsre", "alertmanager", "pagerduty", "opsgenie", "grafana", "prometheus", "system")


def is_automation(actor: str) -> bool:
    a = actor.strip().lower()
    return not a or a in AUTOMATION or a.endswith(("bot", "[bot]"))


def _people(inc: Incident, evs: list[Event]) -> list[str]:
    names: list[str] = []
    for person in inc.roles.values():
        if person and person not in names:
            names.append(person)
    for ev in evs:
        if ev.kind is EventKind.ROLE_ASSIGNED and ev.data.get("person") not in names:
            names.append(str(ev.data.get("person")))
        if ev.actor and ev.actor not in names:
            names.append(ev.actor)
    return names


def _charts(events: list[Event]) -> list[Chart]:
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
        base = _slug(str(d.get("step") or "series")) or "series"
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


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def utc(dt: datetime | None) -> str:
    """``2026-11-28 17:29:00`` (UTC) for tables; empty when unknown."""
    return "" if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
