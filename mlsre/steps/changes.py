"""Step kind ``changes``: what changed before the incident (or before ``at``), ranked.

One sample per change: ``value`` (= ``score``, 0..100), ``score``, ``kind``, ``source``,
``summary``, ``at``, ``age_s`` (seconds before the anchor) and ``labels`` (``change``, the summary,
and ``kind``). ``expect: value < 50`` fails the step when a change is a likely cause. Reads the
registry, lineage, the repositories under ``changes.repos`` and the serving metrics; the team's
change log is read by ``mlsre incident changes``, which has the store.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from mlsre.steps.base import StepContext, StepResult


class ChangesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="Registered model; default: the incident's model.")
    window: str | None = Field(
        None, description="How far back to look; default: changes.window in mlsre.yaml (24h)."
    )


class ChangesStep:
    """What changed before the incident: deploys, lineage, commits, version labels, ranked."""

    name: ClassVar[str] = "changes"
    Params: ClassVar[type[BaseModel]] = ChangesParams
    mutating: ClassVar[bool] = False

    def describe(self, params: Any) -> str:
        p = ChangesParams.model_validate(params)
        what = p.model or "the incident's model"
        return f"list what changed before the incident for {what}, most likely cause first"

    def run(self, params: Any, ctx: StepContext) -> StepResult:
        from mlsre.changes.collect import Scope, collect
        from mlsre.changes.service import report_data
        from mlsre.errors import MlsreError
        from mlsre.steps.evidence import error_result
        from mlsre.timeutil import parse_duration, parse_time, utcnow

        p = ChangesParams.model_validate(params)
        inc = ctx.incident or {}
        now = ctx.at or utcnow()
        try:
            start = parse_time(str(inc["started_at"]), now=now) if inc.get("started_at") else now
            until = parse_time(str(inc["opened_at"]), now=now) if inc.get("opened_at") else now
            scope = Scope(
                start=min(start, now),
                until=min(max(until, start), now),
                model=p.model or inc.get("model"),
                service=inc.get("service"),
                incident=inc.get("ref"),
            )
            window = parse_duration(p.window) if p.window else None
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


KINDS: list[type] = [ChangesStep]
