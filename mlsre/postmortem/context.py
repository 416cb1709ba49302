"""What a postmortem says, gathered from the incident and its events (no I/O, no templates).

The template only lays these facts out; every number in a postmortem is computed here, once.
Events about the postmortem itself (its publication) are left out, so publishing twice renders
the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mlsre.changes.postmortem import WhatChanged, what_changed
from mlsre.incident.durations import durations
from mlsre.incident.model import ActionItem, Event, EventKind, Incident
from mlsre.postmortem.evidence import (
    Chart,
    ModelChange,
    RunbookRun,
    StepRow,
    charts,
    model_changes,
    runbook_runs,
    versions,
)
from mlsre.postmortem.story import Story, first_successful_mitigation, tell
from mlsre.postmortem.timeline import (
    Moment,
    TimelineRow,
    mitigation_time,
    timeline_rows,
)
from mlsre.postmortem.timeline import moments as lifecycle_moments
from mlsre.steps.base import Phase

if TYPE_CHECKING:
    from mlsre.postmortem.signals import SignalResult

# Events of the postmortem's own making: leaving them out keeps re-rendering stable.
EXCLUDED = (EventKind.POSTMORTEM_PUBLISHED, EventKind.STEP_STARTED)
DATA_KINDS = ("drift", "data")  # step kinds (prefixes) whose results are data evidence


@dataclass
class SloRow:
    name: str
    objective: float
    error_ratio: float | None
    burn_rate: float | None
    budget_consumed: float | None
    error: str | None = None
    budget_remaining: float | None = None  # as `mlsre slo status --at <window end>` says
    history_note: str | None = None  # the period holds less history than its length


@dataclass
class SloImpactSection:
    available: bool
    reason: str | None = None  # why not, when not available
    rows: list[SloRow] = field(default_factory=list)
    at: datetime | None = None  # the time the budget figures are as of (window end)


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
    mitigated_by_step: bool  # mitigated_at is the first successful mitigation step
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
    verifications: list[StepRow]
    model_changes: list[ModelChange]
    versions: list[str]
    data_evidence: list[StepRow]
    actions: list[ActionItem]
    charts: list[Chart]
    slo: SloImpactSection
    escalations: list[TimelineRow]
    story: Story
    chart_note: str | None = None  # failing signals without a chart, and why
    evidence_link: str | None = None
    what_changed: WhatChanged | None = None  # the ranking `incident changes` recorded


def build_context(
    incident: Incident,
    events: list[Event],
    slo: SloImpactSection | None = None,
    signals: SignalResult | None = None,
) -> PostmortemContext:
    evs = [e for e in events if e.kind not in EXCLUDED]
    runs = runbook_runs(events)
    story = _story(runs, signals)
    mitigated_at, by_step = mitigation_time(incident, runs)
    first_fix = first_successful_mitigation(runs) if by_step else None
    moments = lifecycle_moments(incident, mitigated_at)
    timeline = timeline_rows(incident, evs, moments, story, first_fix)
    steps = [s for r in runs for s in r.steps]
    changes = model_changes(evs)
    end = _window_end(incident, evs)
    spans = durations(incident, end, mitigated_at=mitigated_at)
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
        authors=_authors(incident, evs),
        roles=dict(incident.roles),
        started_at=incident.started_at,
        detected_at=incident.opened_at,
        acknowledged_at=incident.acknowledged_at,
        mitigated_at=mitigated_at,
        mitigated_by_step=by_step,
        resolved_at=incident.resolved_at,
        closed_at=incident.closed_at,
        window_end=end,
        duration_s=spans.to_resolve_s,
        impact_s=spans.impact_s,
        time_to_detect_s=spans.to_detect_s,
        time_to_acknowledge_s=spans.to_acknowledge_s,
        detected_by=_detected_by(evs),
        moments=moments,
        timeline=timeline,
        notes=_of_kind(timeline_rows(incident, evs, [], Story()), EventKind.NOTE),
        runs=runs,
        failed_steps=_failed(steps),
        mitigations=_mitigations(steps),
        verifications=_verifications(steps),
        model_changes=changes,
        versions=versions(incident, changes, events),
        data_evidence=_data_evidence(steps),
        actions=list(incident.actions),
        charts=_charts(events, signals),
        slo=slo or SloImpactSection(False, "not computed"),
        escalations=_of_kind(timeline, EventKind.ESCALATED),
        what_changed=what_changed(events),
        story=story,
        chart_note=signals.note if signals is not None else None,
    )


def _story(runs: list[RunbookRun], signals: SignalResult | None) -> Story:
    """What the runbook runs tell, plus what the failing signals showed."""
    story = tell(runs)
    if signals is not None:
        story.observed.extend(signals.observed)
    return story


def _charts(events: list[Event], signals: SignalResult | None) -> list[Chart]:
    """Charts of the recorded range queries, then those of the failing signals."""
    found = charts(events)
    if signals is not None:
        found.extend(signals.charts)
    return found


def _window_end(incident: Incident, evs: list[Event]) -> datetime:
    """Resolved, else the last event, else opened."""
    return incident.resolved_at or (evs[-1].at if evs else incident.opened_at)


def _detected_by(evs: list[Event]) -> str:
    opened = next((e for e in evs if e.kind is EventKind.OPENED), None)
    return opened.actor if opened else "unknown"


def _of_kind(rows: list[TimelineRow], kind: EventKind) -> list[TimelineRow]:
    return [r for r in rows if r.kind == kind.value]


def _failed(steps: list[StepRow]) -> list[StepRow]:
    return [s for s in steps if s.status in ("failed", "error")]


def _verifications(steps: list[StepRow]) -> list[StepRow]:
    return [s for s in steps if s.phase == Phase.VERIFY and s.status != "skipped"]


def _data_evidence(steps: list[StepRow]) -> list[StepRow]:
    return _latest_per_check([s for s in steps if _is_data_step(s)])


def _authors(incident: Incident, evs: list[Event]) -> list[str]:
    """The people of the incident; tools are not authors."""
    return [p for p in _people(incident, evs) if not is_automation(p)]


def people_names(incident: Incident, events: list[Event]) -> list[str]:
    """Everyone the incident names: actors and role holders (for the blameless lint)."""
    return _people(incident, events)


def _mitigations(steps: list[StepRow]) -> list[StepRow]:
    """Mitigation steps that did something or need someone, each distinct result once."""
    out: list[StepRow] = []
    seen: set[tuple[str, str]] = set()
    for s in steps:
        if s.phase != Phase.MITIGATE or s.status == "skipped" or (s.step, s.summary) in seen:
            continue
        seen.add((s.step, s.summary))
        out.append(s)
    return out


def _latest_per_check(steps: list[StepRow]) -> list[StepRow]:
    """One row per check (same query, or same runbook step): the latest; skipped ones left out."""
    latest: dict[tuple[str, ...], StepRow] = {}
    for s in steps:
        if s.status == "skipped":
            continue
        key = ("q", " ".join(s.query.split())) if s.query else ("s", s.runbook, s.step)
        latest.pop(key, None)
        latest[key] = s
    return list(latest.values())


def _is_data_step(s: StepRow) -> bool:
    """Drift and data-quality checks (a Prometheus gauge of drift is a signal, charted)."""
    return s.kind.split(".")[0] in DATA_KINDS


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
    from mlsre.changes.service import change_authors

    names += [a for a in change_authors(evs) if a not in names]
    return names


def utc(dt: datetime | None) -> str:
    """``2026-11-28 17:29:00`` (UTC) for tables; empty when unknown."""
    return "" if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
