"""One readable line per event, shared by the terminal timeline and the postmortem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlsre.incident.model import Event, EventKind

MILESTONES = {
    EventKind.OPENED: "detected",
    EventKind.ACKNOWLEDGED: "acknowledged",
    EventKind.MITIGATED: "mitigated",
    EventKind.RESOLVED: "resolved",
    EventKind.CLOSED: "closed",
}


Data = dict[str, Any]


def _with(text: str, d: Data, key: str, sep: str = ": ") -> str:
    """``text``, then the event's ``key`` when it has one."""
    return text + (f"{sep}{d[key]}" if d.get(key) else "")


def _model_changed(d: Data) -> str:
    if d.get("outcome"):  # an attempt that did not verify
        return (
            f"Model {d.get('model')}: moving alias {d.get('alias')} from version "
            f"{d.get('from_version')} to {d.get('to_version')} {d.get('outcome')}"
            + (f": {d['error']}" if d.get("error") else "")
            + (f" (reads back {d['read_back']})" if d.get("read_back") else "")
        )
    return (
        f"Model {d.get('model')}: alias {d.get('alias')} moved "
        f"from version {d.get('from_version')} to {d.get('to_version')}"
    )


def _inputs_changed(d: Data) -> str:
    changes = d.get("changes") or {}
    shown = ", ".join(f"{n}: {c.get('old')!r} -> {c.get('new')!r}" for n, c in changes.items())
    return f"Runbook {d.get('runbook')} inputs changed before {d.get('step')}: {shown}"


def _alert(verb: str) -> Callable[[Data], str]:
    def line(d: Data) -> str:
        names = ", ".join(d.get("alertnames") or []) or "alert"
        return _with(f"Alert {verb}: {names} ({d.get('count', 0)} alert(s))", d, "summary", " — ")

    return line


def _changes_found(d: Data) -> str:
    top = (d.get("changes") or [{}])[0]
    if not top:
        return "What changed: nothing in the window"
    return f"What changed: most likely {top.get('summary')} (score {top.get('score')})"


# One describer per event kind: adding a kind is adding a line, not a branch.
_DESCRIBE: dict[EventKind, Callable[[Data], str]] = {
    EventKind.OPENED: lambda d: (
        _with(f"Opened {d.get('severity')}: {d.get('title')}", d, "model", " (")
        + (")" if d.get("model") else "")
    ),
    EventKind.ACKNOWLEDGED: lambda d: _with("Acknowledged", d, "note"),
    EventKind.MITIGATED: lambda d: _with("Mitigated", d, "note"),
    EventKind.RESOLVED: lambda d: _with("Resolved", d, "resolution"),
    EventKind.REOPENED: lambda d: _with("Reopened", d, "reason"),
    EventKind.CLOSED: lambda d: _with("Closed", d, "note"),
    EventKind.SEVERITY_CHANGED: lambda d: _with(
        f"Severity changed to {d.get('severity')}", d, "reason"
    ),
    EventKind.ROLE_ASSIGNED: lambda d: f"{d.get('person')} is {d.get('role')}",
    EventKind.NOTE: lambda d: str(d.get("text", "")),
    EventKind.ACTION_ADDED: lambda d: _with(
        f"Action item ({d.get('type')}): {d.get('title')}", d, "owner", " -> "
    ),
    EventKind.ACTION_DONE: lambda d: f"Action item {d.get('action')} done",
    EventKind.RUNBOOK_STARTED: lambda d: f"Runbook {d.get('runbook')} started",
    EventKind.RUNBOOK_FINISHED: lambda d: (
        f"Runbook {d.get('runbook')} finished: {d.get('outcome', '')}"
    ),
    EventKind.STEP_STARTED: lambda d: f"Step {d.get('step')} started",
    EventKind.STEP_RESULT: lambda d: _with(
        f"Step {d.get('step')} {d.get('status')}", d, "summary", " — "
    ),
    EventKind.MODEL_CHANGED: _model_changed,
    EventKind.DRILL_MARKED: lambda d: _with(
        "Marked as a drill" if d.get("drill", True) else "No longer a drill", d, "reason"
    ),
    EventKind.INPUTS_CHANGED: _inputs_changed,
    EventKind.ALERT_FIRING: _alert("firing"),
    EventKind.ALERT_STILL_FIRING: _alert("still firing"),
    EventKind.ALERT_RESOLVED: _alert("resolved"),
    EventKind.AUTO_ACTION: lambda d: (
        f"Automatic {d.get('step')} {'allowed' if d.get('allowed') else 'blocked'}: {d.get('rule')}"
    ),
    EventKind.ESCALATED: lambda d: (
        _with(
            f"Escalated to {'level ' + str(d['level']) + ': ' if d.get('level') else ''}{d.get('to')}",
            d,
            "reason",
            " (",
        )
        + (")" if d.get("reason") else "")
    ),
    EventKind.CHANGES_FOUND: _changes_found,
    EventKind.INTERRUPTED: lambda d: _with(
        f"Runbook {d.get('runbook')} interrupted (Ctrl-C)", d, "step", " during step "
    ),
    EventKind.POSTMORTEM_PUBLISHED: lambda d: f"Postmortem published: {d.get('path')}",
}


def describe(ev: Event) -> str:
    line = _DESCRIBE.get(ev.kind)
    return line(ev.data) if line is not None else ev.kind.value
