"""Score models: every item of :data:`~mlsre.readiness.items.ITEMS`, concurrently, per model."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from mlsre.errors import UsageError
from mlsre.readiness.context import Context
from mlsre.readiness.items import ITEMS, run_item
from mlsre.readiness.report import ReadinessReport, Scorecard
from mlsre.timeutil import iso, utcnow

MAX_ITEMS_AT_ONCE = 8


def readiness(
    settings: Any,
    models: list[str] | None = None,
    *,
    inputs: dict[str, str] | None = None,
    at: datetime | None = None,
    min_score: float | None = None,
    transport: Any = None,
) -> ReadinessReport:
    """A scorecard per model (default: every model in the registry)."""
    from mlsre.runbook.loader import discover

    runbooks = [e.runbook for e in discover(settings).in_force() if e.runbook is not None]
    declared = {name for rb in runbooks for name in rb.input_specs()}
    unknown = sorted(set(inputs or {}) - declared)
    if unknown:
        raise UsageError(
            f"no runbook has an input {', '.join(unknown)}",
            hint="`mlsre runbook show ID` lists a runbook's inputs",
        )
    ctx = Context(settings, at or utcnow(), runbooks, dict(inputs or {}), transport)
    names = list(models or ctx.mlflow().model_names())
    jobs = [(m, item_id, title, check) for m in names for item_id, title, check in ITEMS]
    with ThreadPoolExecutor(max_workers=MAX_ITEMS_AT_ONCE, thread_name_prefix="readiness") as pool:
        items = list(pool.map(lambda job: run_item(ctx, *job), jobs))
    cards = [
        Scorecard(m, [i for (mm, *_), i in zip(jobs, items, strict=True) if mm == m]) for m in names
    ]
    floor = settings.readiness.min_score if min_score is None else min_score
    return ReadinessReport(cards, floor, iso(ctx.at))
