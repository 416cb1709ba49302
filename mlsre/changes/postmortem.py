"""The postmortem's "What changed" block: the ranking recorded on the incident, laid out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlsre.changes.service import latest_report
from mlsre.incident.model import Event

SHOWN = 8  # a postmortem names the likeliest few; the evidence file keeps the rest


@dataclass
class ChangeRow:
    at: datetime | None
    kind: str
    source: str
    summary: str
    score: float
    why: str
    link: str | None


@dataclass
class WhatChanged:
    rows: list[ChangeRow]
    more: int  # changes left out of the table
    lineage: list[str]  # "data changed: ...", versions compared in lineage_title
    lineage_title: str | None
    change_point: str | None  # "p99-by-version went from 0.09 to 0.62 at ..."
    notes: list[str] = field(default_factory=list)
    change_point_at: datetime | None = None  # marked on the charts


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def what_changed(events: list[Event]) -> WhatChanged | None:
    report = latest_report(events)
    if report is None:
        return None
    changes = [c for c in report.get("changes") or [] if isinstance(c, dict)]
    lineage = _section(report, "lineage")
    point, at = _change_point(_section(report, "change_point"))
    return WhatChanged(
        rows=[_row(c) for c in changes[:SHOWN]],
        more=max(0, len(changes) - SHOWN),
        lineage=[str(x) for x in (lineage or {}).get("lines") or []],
        lineage_title=_lineage_title(lineage),
        change_point=point,
        notes=[str(n) for n in report.get("notes") or []],
        change_point_at=at,
    )


def _section(report: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = report.get(key)
    return value if isinstance(value, dict) else None


def _row(c: dict[str, Any]) -> ChangeRow:
    return ChangeRow(
        at=_time(c.get("at")),
        kind=str(c.get("kind") or ""),
        source=str(c.get("source") or ""),
        summary=str(c.get("summary") or ""),
        score=float(c.get("score") or 0),
        why="; ".join(str(r) for r in c.get("reasons") or []),
        link=str(c["link"]) if c.get("link") else None,
    )


def _lineage_title(lineage: dict[str, Any] | None) -> str | None:
    if not lineage:
        return None
    live = (lineage.get("live") or {}).get("version")
    prev = (lineage.get("previous") or {}).get("version")
    return f"version {live} against version {prev}"


def _change_point(cp: dict[str, Any] | None) -> tuple[str | None, datetime | None]:
    """``step went from 0.09 to 0.62 at ...`` and the time, for the charts."""
    if not cp:
        return None, None
    at = _time(cp.get("at"))
    when = at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "?"
    point = (
        f"`{cp.get('step')}` went from {float(cp.get('before') or 0):.4g} to "
        f"{float(cp.get('after') or 0):.4g} at {when}"
    )
    return point, at
