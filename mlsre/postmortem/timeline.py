"""The postmortem's timeline: people's actions and milestones, one line per runbook run, and
what the data shows at the time it happened (marked *observed*).

Lifecycle moments are marked on the event that set them. "Mitigated" is the first successful
mitigation step when that came before the ``mitigate`` command (people record it after the
fact).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mlsre.incident.model import Event, EventKind, Incident
from mlsre.incident.timeline import describe
from mlsre.postmortem.evidence import RunbookRun, StepRow
from mlsre.postmortem.story import Story, first_successful_mitigation

# Machine detail: collapsed into one timeline line per runbook run (details under evidence).
COLLAPSED = (
    EventKind.STEP_STARTED,
    EventKind.STEP_RESULT,
    EventKind.RUNBOOK_STARTED,
    EventKind.RUNBOOK_FINISHED,
    EventKind.ACTION_ADDED,
    EventKind.ACTION_DONE,
)
OBSERVED = "observed in data"


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
    link: str | None = None  # anchor of the details (a runbook run)
    observed: bool = False  # read from the data, not something a person did


def mitigation_time(incident: Incident, runs: list[RunbookRun]) -> tuple[datetime | None, bool]:
    """When it was mitigated: the first successful mitigation step when that came before the
    ``mitigate`` command (people record it after the fact), else the command's time."""
    first = first_successful_mitigation(runs)
    step = first.at if first is not None else None
    said = incident.mitigated_at
    if step is not None and step >= incident.started_at and (said is None or step < said):
        return step, True
    return said, False


def moments(inc: Incident, mitigated_at: datetime | None) -> list[Moment]:
    pairs = [
        ("started", inc.started_at),
        ("detected", inc.opened_at),
        ("acknowledged", inc.acknowledged_at),
        ("mitigated", mitigated_at),
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


def timeline_rows(
    inc: Incident,
    evs: list[Event],
    moments: list[Moment],
    story: Story,
    first_fix: StepRow | None = None,
) -> list[TimelineRow]:
    """People's actions and the milestones; one line per runbook run; what the data shows.

    Lifecycle moments are marked on the event that set them; a mitigation dated by its step
    is marked on that step's run. Rows the data describes carry the time the data says.
    """
    rows: list[TimelineRow] = []
    pending = list(moments)
    if inc.started_at < inc.opened_at:
        rows.append(TimelineRow(inc.started_at, "", "started", "Problem began", "started"))
        pending = [m for m in pending if m.name != "started"]
    for ev in evs:
        if ev.kind in COLLAPSED:
            continue
        marks: list[str] = []
        if ev.kind in _LIFECYCLE:
            marks = [m.name for m in pending if m.at == ev.at]
            pending = [m for m in pending if m.name not in marks]
        rows.append(
            TimelineRow(ev.at, ev.actor, ev.kind.value, describe(ev), ", ".join(marks) or None)
        )
    for line in story.run_lines:
        rows.append(TimelineRow(line.at, line.actor, "runbook", line.text, None, line.anchor))
    for m in pending:  # a mitigation dated by its step: mark the change or run it came from
        if m.name == "mitigated":
            what = "First successful mitigation step"
            if first_fix is not None:
                what += f" `{first_fix.runbook}/{first_fix.step}`: {first_fix.summary}"
            rows.append(TimelineRow(m.at, "", "mitigated", what, "mitigated"))
    for o in story.observed:
        rows.append(
            TimelineRow(
                o.at, OBSERVED, "observed", f"{o.text} (from `{o.source}`)", None, None, True
            )
        )
    rows.sort(key=lambda r: r.at)
    return rows
