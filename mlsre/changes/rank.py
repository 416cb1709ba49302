"""Ranking changes by how likely each is to be behind the incident, with the reasons in words.

Three things count, multiplied: how close before the anchor the change landed (the failing
signal's change point when there is one, else the incident start; half the weight every two
hours, and little for a change after it), whether it touches the affected model or service,
and its kind (a model deploy is the most common trigger of an ML incident, then data, config,
code and infrastructure changes).
"""

from __future__ import annotations

from datetime import datetime

from mlsre.changes.model import Change, ChangeKind
from mlsre.timeutil import human_duration

HALF_LIFE_S = 2 * 3600
AFTER_SLACK_S = 300  # clocks and scrape intervals disagree by minutes
KIND_WEIGHT = {
    ChangeKind.MODEL: 1.0,
    ChangeKind.DATA: 0.9,
    ChangeKind.CONFIG: 0.8,
    ChangeKind.CODE: 0.7,
    ChangeKind.INFRA: 0.7,
}
KIND_WORDS = {
    ChangeKind.MODEL: "a model change",
    ChangeKind.DATA: "a data change",
    ChangeKind.CONFIG: "a config change",
    ChangeKind.CODE: "a code change",
    ChangeKind.INFRA: "an infrastructure change",
}


def score(
    change: Change, anchor: datetime, anchor_reason: str, model: str | None, service: str | None
) -> tuple[float, list[str]]:
    reasons = []
    ahead = (anchor - change.at).total_seconds()
    if ahead < -AFTER_SLACK_S:
        proximity = 0.05
        reasons.append(f"{human_duration(-ahead)} after the {anchor_reason}: unlikely the cause")
    else:
        proximity = 0.5 ** (max(ahead, 0.0) / HALF_LIFE_S)
        when = f"{human_duration(ahead)} before" if ahead >= 60 else "at"
        reasons.append(f"{when} the {anchor_reason}")
    if change.model and model:
        relevance = 1.0 if change.model == model else 0.3
        reasons.append(
            f"touches {model}" if change.model == model else f"about {change.model}, not {model}"
        )
    elif change.service and service:
        relevance = 1.0 if change.service == service else 0.3
        reasons.append(
            f"touches {service}"
            if change.service == service
            else f"about {change.service}, not {service}"
        )
    else:
        relevance = 0.6
        reasons.append("not tied to the affected model or service")
    weight = KIND_WEIGHT[change.kind]
    reasons.append(KIND_WORDS[change.kind])
    return round(100 * proximity * relevance * weight, 1), reasons


def rank(
    changes: list[Change],
    anchor: datetime,
    anchor_reason: str,
    model: str | None,
    service: str | None,
) -> list[Change]:
    """The changes with ``score`` and ``reasons`` set, most likely first (then newest first)."""
    for c in changes:
        c.score, c.reasons = score(c, anchor, anchor_reason, model, service)
    return sorted(changes, key=lambda c: (-c.score, -c.at.timestamp()))
