"""How long things took in one incident: the one definition `incident show`, `incident stats`
and the postmortem all use.

Detection is measured from when the problem started (``--started``) to the page (opened);
acknowledgement from the page; mitigation, resolution and impact from when the problem started,
since that is how long users were hurt. Resolving without a recorded mitigation also ends the
impact. Negative spans (a start recorded after the page) count as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mlsre.incident.model import Incident


@dataclass(frozen=True)
class Durations:
    to_detect_s: float  # started -> opened
    to_acknowledge_s: float | None  # opened -> acknowledged
    to_mitigate_s: float | None  # started -> mitigated (or resolved, when never mitigated)
    to_resolve_s: float | None  # started -> resolved
    impact_s: float | None  # started -> end of impact; None while users are still hurt
    elapsed_s: float  # started -> resolved, or -> now while it is not


def span(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else max(0.0, (b - a).total_seconds())


def durations(inc: Incident, now: datetime, *, mitigated_at: datetime | None = None) -> Durations:
    """``mitigated_at``: when the evidence shows mitigation happened earlier than the command
    that recorded it (the postmortem knows the first successful mitigation step)."""
    end_of_impact = mitigated_at or inc.mitigated_at or inc.resolved_at
    return Durations(
        to_detect_s=span(inc.started_at, inc.opened_at) or 0.0,
        to_acknowledge_s=span(inc.opened_at, inc.acknowledged_at),
        to_mitigate_s=span(inc.started_at, end_of_impact),
        to_resolve_s=span(inc.started_at, inc.resolved_at),
        impact_s=span(inc.started_at, end_of_impact),
        elapsed_s=span(inc.started_at, inc.resolved_at or now) or 0.0,
    )
