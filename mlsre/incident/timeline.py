"""One readable line per event, shared by the terminal timeline and the postmortem."""

from __future__ import annotations

from mlsre.incident.model import Event, EventKind

MILESTONES = {
    EventKind.OPENED: "detected",
    EventKind.ACKNOWLEDGED: "acknowledged",
    EventKind.MITIGATED: "mitigated",
    EventKind.RESOLVED: "resolved",
    EventKind.CLOSED: "closed",
}


def describe(ev: Event) -> str:
    d = ev.data
    k = ev.kind
    if k is EventKind.OPENED:
        extra = f" ({d['model']})" if d.get("model") else ""
        return f"Opened {d.get('severity')}: {d.get('title')}{extra}"
    if k is EventKind.ACKNOWLEDGED:
        return "Acknowledged" + (f": {d['note']}" if d.get("note") else "")
    if k is EventKind.MITIGATED:
        return "Mitigated" + (f": {d['note']}" if d.get("note") else "")
    if k is EventKind.RESOLVED:
        return "Resolved" + (f": {d['resolution']}" if d.get("resolution") else "")
    if k is EventKind.REOPENED:
        return "Reopened" + (f": {d['reason']}" if d.get("reason") else "")
    if k is EventKind.CLOSED:
        return "Closed" + (f": {d['note']}" if d.get("note") else "")
    if k is EventKind.SEVERITY_CHANGED:
        return f"Severity changed to {d.get('severity')}" + (
            f": {d['reason']}" if d.get("reason") else ""
        )
    if k is EventKind.ROLE_ASSIGNED:
        return f"{d.get('person')} is {d.get('role')}"
    if k is EventKind.NOTE:
        return str(d.get("text", ""))
    if k is EventKind.ACTION_ADDED:
        return f"Action item ({d.get('type')}): {d.get('title')}" + (
            f" -> {d['owner']}" if d.get("owner") else ""
        )
    if k is EventKind.ACTION_DONE:
        return f"Action item {d.get('action')} done"
    if k is EventKind.RUNBOOK_STARTED:
        return f"Runbook {d.get('runbook')} started"
    if k is EventKind.RUNBOOK_FINISHED:
        return f"Runbook {d.get('runbook')} finished: {d.get('outcome', '')}"
    if k is EventKind.STEP_STARTED:
        return f"Step {d.get('step')} started"
    if k is EventKind.STEP_RESULT:
        summary = f" — {d['summary']}" if d.get("summary") else ""
        return f"Step {d.get('step')} {d.get('status')}{summary}"
    if k is EventKind.MODEL_CHANGED and d.get("outcome"):  # an attempt that did not verify
        return (
            f"Model {d.get('model')}: moving alias {d.get('alias')} from version "
            f"{d.get('from_version')} to {d.get('to_version')} {d.get('outcome')}"
            + (f": {d['error']}" if d.get("error") else "")
            + (f" (reads back {d['read_back']})" if d.get("read_back") else "")
        )
    if k is EventKind.DRILL_MARKED:
        what = "Marked as a drill" if d.get("drill", True) else "No longer a drill"
        return what + (f": {d['reason']}" if d.get("reason") else "")
    if k is EventKind.INPUTS_CHANGED:
        changes = d.get("changes") or {}
        shown = ", ".join(f"{n}: {c.get('old')!r} -> {c.get('new')!r}" for n, c in changes.items())
        return f"Runbook {d.get('runbook')} inputs changed before {d.get('step')}: {shown}"
    if k in (EventKind.ALERT_FIRING, EventKind.ALERT_STILL_FIRING, EventKind.ALERT_RESOLVED):
        verb = {
            EventKind.ALERT_FIRING: "firing",
            EventKind.ALERT_STILL_FIRING: "still firing",
            EventKind.ALERT_RESOLVED: "resolved",
        }[k]
        names = ", ".join(d.get("alertnames") or []) or "alert"
        return f"Alert {verb}: {names} ({d.get('count', 0)} alert(s))" + (
            f" — {d['summary']}" if d.get("summary") else ""
        )
    if k is EventKind.AUTO_ACTION:
        verdict = "allowed" if d.get("allowed") else "blocked"
        return f"Automatic {d.get('step')} {verdict}: {d.get('rule')}"
    if k is EventKind.MODEL_CHANGED:
        return (
            f"Model {d.get('model')}: alias {d.get('alias')} moved "
            f"from version {d.get('from_version')} to {d.get('to_version')}"
        )
    if k is EventKind.ESCALATED:
        level = f"level {d['level']}: " if d.get("level") else ""
        return f"Escalated to {level}{d.get('to')}" + (
            f" ({d['reason']})" if d.get("reason") else ""
        )
    if k is EventKind.CHANGES_FOUND:
        top = (d.get("changes") or [{}])[0]
        if not top:
            return "What changed: nothing in the window"
        return f"What changed: most likely {top.get('summary')} (score {top.get('score')})"
    if k is EventKind.INTERRUPTED:
        return f"Runbook {d.get('runbook')} interrupted (Ctrl-C)" + (
            f" during step {d['step']}" if d.get("step") else ""
        )
    if k is EventKind.POSTMORTEM_PUBLISHED:
        return f"Postmortem published: {d.get('path')}"
    return k.value
