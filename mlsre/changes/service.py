"""What ``mlsre change ...`` and ``mlsre incident changes`` do, below the CLI."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mlsre.changes.collect import collect, scope_of
from mlsre.changes.model import ChangeKind, ChangeReport, RecordedChange
from mlsre.errors import UsageError
from mlsre.incident.model import Event, EventKind
from mlsre.timeutil import parse_time, utcnow

if TYPE_CHECKING:
    from mlsre.incident.store import Store
    from mlsre.settings import Settings

MAX_RECORDED = 20  # changes kept on the incident's event (the top of the ranking)
LIKELY_SCORE = 50.0  # `incident show` names the top change from this score up


def record_change(
    store: Store,
    summary: str,
    kind: ChangeKind,
    actor: str,
    *,
    model: str | None = None,
    service: str | None = None,
    at: str | None = None,
) -> RecordedChange:
    if not summary.strip():
        raise UsageError("a change needs a summary", hint='e.g. "feature store schema v12"')
    now = utcnow()
    when = parse_time(at, now=now) if at else now
    return store.record_change(
        RecordedChange(0, when, kind, summary.strip(), actor, model, service, recorded_at=now)
    )


def change_from_json(body: bytes) -> dict[str, Any]:
    """The fields of ``POST /api/v1/changes``: ``{"summary", "kind", "model"?, "service"?,
    "at"?}``; a ValueError or UsageError saying what is wrong."""
    import json

    try:
        doc = json.loads(body)
    except ValueError:
        raise ValueError("body is not JSON") from None
    if not isinstance(doc, dict):
        raise ValueError("body must be a JSON object")
    unknown = sorted(set(doc) - {"summary", "kind", "model", "service", "at"})
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    summary, kind = doc.get("summary"), doc.get("kind")
    if not isinstance(summary, str) or not summary.strip():
        raise ValueError("summary: a non-empty string is required")
    try:
        change_kind = ChangeKind(str(kind))
    except ValueError:
        raise ValueError(f"kind: one of {', '.join(k.value for k in ChangeKind)}") from None
    out: dict[str, Any] = {"summary": summary[:500], "kind": change_kind}
    for key in ("model", "service", "at"):
        value = doc.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key}: a string")
        out[key] = value
    return out


def list_changes(
    store: Store, since: str | None = None, model: str | None = None
) -> list[RecordedChange]:
    start = parse_time(since) if since else None
    return store.changes(start, None, model)


def incident_changes(
    store: Store,
    settings: Settings,
    incident_id: int,
    actor: str,
    *,
    window: timedelta | None = None,
    record: bool = True,
) -> ChangeReport:
    """Correlate, and keep the ranking on the incident (evidence that outlives the registry's
    and Prometheus' memory)."""
    state = store.get(incident_id)
    events = store.events(incident_id)
    report = collect(settings, scope_of(state), store=store, events=events, window=window)
    if record:
        store.append(incident_id, EventKind.CHANGES_FOUND, report_data(report), actor, utcnow())
    return report


def report_data(report: ChangeReport) -> dict[str, Any]:
    from mlsre.jsonutil import plain

    data: dict[str, Any] = plain(report)
    data["changes"] = data["changes"][:MAX_RECORDED]
    return data


def latest_report(events: list[Event]) -> dict[str, Any] | None:
    """The newest ranking recorded on an incident (`incident changes` or a `changes` step)."""
    for ev in reversed(events):
        if ev.kind is EventKind.CHANGES_FOUND:
            return ev.data
        if (
            ev.kind is EventKind.STEP_RESULT
            and ev.data.get("kind") == "changes"
            and isinstance(ev.data.get("output"), dict)
            and "changes" in ev.data["output"]
        ):
            out: dict[str, Any] = ev.data["output"]
            return out
    return None


def change_authors(events: list[Event]) -> list[str]:
    """Authors of the commits in the recorded ranking (the lint knows them as people)."""
    report = latest_report(events) or {}
    authors: list[str] = []
    for c in report.get("changes") or []:
        details = c.get("details") if isinstance(c, dict) else None
        author = details.get("author") if isinstance(details, dict) else None
        if isinstance(author, str) and author and author not in authors:
            authors.append(author)
    return authors


def likely_change(events: list[Event]) -> dict[str, Any] | None:
    report = latest_report(events)
    changes = (report or {}).get("changes") or []
    top = changes[0] if changes and isinstance(changes[0], dict) else None
    return top if top and float(top.get("score") or 0) >= LIKELY_SCORE else None


def at_text(value: Any) -> str:
    """A recorded time as the timeline shows it."""
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return str(value)
