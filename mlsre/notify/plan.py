"""Which notifications an event causes and how escalation moves: pure functions of the event,
the incident and the escalation state the store keeps beside it, so every backend writes the
same rows in the same transaction as the event.

A policy is snapshotted onto the incident when it opens (editing mlsre.yaml does not change an
escalation in flight). Level 1 is notified at once; each level's ``wait`` later, if nobody has
acknowledged, the next level is; after the last level ``repeat`` runs the levels again.
Acknowledging, mitigating or resolving stops escalation; reopening starts it again at level 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from mlsre.incident.model import Event, EventKind, Incident


class Action(StrEnum):
    TRIGGER = "trigger"  # page: PagerDuty opens (or re-opens) its alert
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    UPDATE = "update"  # chat and webhooks hear about it; PagerDuty has nothing to do


@dataclass(frozen=True)
class Level:
    notify: tuple[str, ...]
    wait_s: float


@dataclass(frozen=True)
class Snapshot:
    """A policy as it was when the incident opened, with each channel's type."""

    policy: str
    levels: tuple[Level, ...]
    repeat: int
    channel_types: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "levels": [{"notify": list(lv.notify), "wait_s": lv.wait_s} for lv in self.levels],
            "repeat": self.repeat,
            "channel_types": dict(self.channel_types),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Snapshot:
        return cls(
            policy=str(d["policy"]),
            levels=tuple(
                Level(tuple(str(c) for c in lv["notify"]), float(lv["wait_s"]))
                for lv in d["levels"]
            ),
            repeat=int(d.get("repeat", 0)),
            channel_types={str(k): str(v) for k, v in (d.get("channel_types") or {}).items()},
        )


@dataclass(frozen=True)
class EscalationState:
    snapshot: Snapshot
    level: int = 1  # 1-based: the level notified last
    round: int = 0  # how many times the levels have been repeated
    next_due_at: datetime | None = None  # the next automatic escalation; None: stopped
    notified: tuple[str, ...] = ()  # channels told about this incident so far


@dataclass(frozen=True)
class Notification:
    """One outbox row: ``payload`` is channel-neutral; the channel shapes it when sending."""

    channel: str
    action: Action
    event_kind: str
    seq: int
    payload: dict[str, Any] = field(default_factory=dict)


# Events people are told about (notes and step results are not pages).
ANNOUNCED = {
    EventKind.OPENED,
    EventKind.ACKNOWLEDGED,
    EventKind.ESCALATED,
    EventKind.MITIGATED,
    EventKind.RESOLVED,
    EventKind.REOPENED,
    EventKind.CLOSED,
    EventKind.SEVERITY_CHANGED,
    EventKind.POSTMORTEM_PUBLISHED,
}
STOPS = {EventKind.ACKNOWLEDGED, EventKind.MITIGATED, EventKind.RESOLVED, EventKind.CLOSED}


def matches(policy: Any, severity: str, model: str | None, service: str | None) -> bool:
    """``policy`` is a settings ``EscalationPolicy``; empty lists match anything."""
    m = policy.match
    return (
        (not m.severity or severity in m.severity)
        and (not m.model or (model or "") in m.model)
        and (not m.service or (service or "") in m.service)
    )


def snapshot_for(
    settings: Any, severity: str, model: str | None, service: str | None
) -> Snapshot | None:
    """The first policy of ``settings.escalation`` that matches the incident, frozen."""
    from mlsre.timeutil import parse_duration

    for policy in settings.escalation.policies:
        if matches(policy, severity, model, service):
            return Snapshot(
                policy=policy.name,
                levels=tuple(
                    Level(tuple(lv.notify), parse_duration(lv.wait).total_seconds())
                    for lv in policy.levels
                ),
                repeat=policy.repeat,
                channel_types={n: c.type for n, c in settings.notify.channels.items()},
            )
    return None


def _channels(snapshot: Snapshot, level: int) -> tuple[str, ...]:
    return snapshot.levels[level - 1].notify


def _due(at: datetime, snapshot: Snapshot, level: int) -> datetime:
    return at + timedelta(seconds=snapshot.levels[level - 1].wait_s)


def next_level(esc: EscalationState) -> tuple[int, int] | None:
    """(level, round) the next escalation goes to, or None when the policy is exhausted."""
    if esc.level < len(esc.snapshot.levels):
        return esc.level + 1, esc.round
    if esc.round < esc.snapshot.repeat:
        return 1, esc.round + 1
    return None


def _payload(ev: Event, state: Incident) -> dict[str, Any]:
    from mlsre.jsonutil import plain

    return {"event": plain(ev), "incident": plain(state)}


def _rows(
    channels: tuple[str, ...], action: Action, ev: Event, state: Incident
) -> list[Notification]:
    payload = _payload(ev, state)
    return [Notification(c, action, ev.kind.value, ev.seq, payload) for c in channels]


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return a + tuple(c for c in b if c not in a)


def after_event(
    esc: EscalationState, ev: Event, state: Incident
) -> tuple[EscalationState, list[Notification]]:
    """The escalation state after ``ev``, and the notifications it causes."""
    k = ev.kind
    snap = esc.snapshot
    if k is EventKind.OPENED or k is EventKind.REOPENED:
        first = _channels(snap, 1)
        new = replace(
            esc,
            level=1,
            round=0,
            next_due_at=_due(ev.at, snap, 1),
            notified=_union(esc.notified, first),
        )
        others = tuple(c for c in esc.notified if c not in first)
        return new, _rows(first, Action.TRIGGER, ev, state) + _rows(
            others, Action.UPDATE, ev, state
        )
    if k is EventKind.ESCALATED:
        level = int(ev.data.get("level") or esc.level)
        level = min(max(level, 1), len(snap.levels))
        rnd = int(ev.data.get("round", esc.round))
        fresh = _channels(snap, level)
        stopped = esc.next_due_at is None and not ev.data.get("by_hand")
        new = replace(
            esc,
            level=level,
            round=rnd,
            notified=_union(esc.notified, fresh),
            next_due_at=None if stopped else _due(ev.at, snap, level),
        )
        if next_level(new) is None:
            new = replace(new, next_due_at=None)
        told = tuple(c for c in esc.notified if c not in fresh)
        return new, _rows(fresh, Action.TRIGGER, ev, state) + _rows(told, Action.UPDATE, ev, state)
    if k not in ANNOUNCED:
        return esc, []
    new = replace(esc, next_due_at=None) if k in STOPS else esc
    action = {
        EventKind.ACKNOWLEDGED: Action.ACKNOWLEDGE,
        EventKind.RESOLVED: Action.RESOLVE,
    }.get(k, Action.UPDATE)
    return new, _rows(esc.notified, action, ev, state)


def escalation_data(
    esc: EscalationState, *, by_hand: bool, level: int | None = None
) -> dict[str, Any] | None:
    """The ``escalated`` event's data for the next level (or ``level``), None when exhausted."""
    if level is not None:
        if not 1 <= level <= len(esc.snapshot.levels):
            return None
        target, rnd = level, esc.round
    else:
        step = next_level(esc)
        if step is None:
            return None
        target, rnd = step
    channels = list(_channels(esc.snapshot, target))
    reason = (
        "by hand"
        if by_hand
        else f"not acknowledged within {int(esc.snapshot.levels[esc.level - 1].wait_s)} s"
    )
    return {
        "level": target,
        "round": rnd,
        "to": ", ".join(channels),
        "channels": channels,
        "policy": esc.snapshot.policy,
        "reason": reason,
        "by_hand": by_hand,
    }


def policy_covering(settings: Any, model: str) -> str | None:
    """The first escalation policy that can page for ``model`` (any severity), by name."""
    for policy in settings.escalation.policies:
        if not policy.match.model or model in policy.match.model:
            return str(policy.name)
    return None
