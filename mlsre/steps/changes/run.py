"""What the ``changes`` step kind does (imported only when such a step runs)."""

from __future__ import annotations

from mlsre.steps.base import StepContext, StepResult
from mlsre.steps.changes.kinds import ChangesParams


def run_changes(params: ChangesParams, ctx: StepContext) -> StepResult:
    from mlsre.changes.collect import Scope, collect
    from mlsre.changes.service import report_data
    from mlsre.errors import MlsreError
    from mlsre.steps.evidence import error_result
    from mlsre.timeutil import parse_duration, parse_time, utcnow

    inc = ctx.incident or {}
    now = ctx.at or utcnow()
    try:
        start = parse_time(str(inc["started_at"]), now=now) if inc.get("started_at") else now
        until = parse_time(str(inc["opened_at"]), now=now) if inc.get("opened_at") else now
        scope = Scope(
            start=min(start, now),
            until=min(max(until, start), now),
            model=params.model or inc.get("model"),
            service=inc.get("service"),
            incident=inc.get("ref"),
        )
        window = parse_duration(params.window) if params.window else None
        report = collect(ctx.settings, scope, window=window, transport=ctx.transport)
    except MlsreError as exc:
        return error_result(exc)
    samples = [
        {
            "value": c.score,
            "score": c.score,
            "kind": c.kind.value,
            "source": c.source.value,
            "summary": c.summary,
            "at": c.at.isoformat(),
            "age_s": (report.anchor - c.at).total_seconds(),
            "labels": {"change": c.summary[:80], "kind": c.kind.value},
        }
        for c in report.changes
    ]
    top = report.changes[0] if report.changes else None
    summary = (
        f"most likely: {top.summary} (score {top.score:g}; {len(report.changes)} changes)"
        if top
        else "no change found in the window"
    )
    if report.notes:
        summary += f"; {len(report.notes)} source(s) unreadable"
    return StepResult(summary=summary, output=report_data(report), samples=samples)
