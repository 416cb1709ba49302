"""Which moves the incident lifecycle allows: open -> acknowledged -> mitigated -> resolved -> closed."""

from __future__ import annotations

from typing import Any

from mlsre.errors import LifecycleError, NotFoundError
from mlsre.incident.model import EventKind, Incident, Status

# For each lifecycle event, the statuses it may be recorded in.
ALLOWED_FROM: dict[EventKind, tuple[Status, ...]] = {
    EventKind.ACKNOWLEDGED: (Status.OPEN,),
    EventKind.MITIGATED: (Status.OPEN, Status.ACKNOWLEDGED),
    EventKind.RESOLVED: (Status.OPEN, Status.ACKNOWLEDGED, Status.MITIGATED),
    EventKind.REOPENED: (Status.RESOLVED, Status.CLOSED),
    EventKind.CLOSED: (Status.RESOLVED,),
}

_VERB = {
    EventKind.ACKNOWLEDGED: "ack",
    EventKind.MITIGATED: "mitigate",
    EventKind.RESOLVED: "resolve",
    EventKind.REOPENED: "reopen",
    EventKind.CLOSED: "close",
}


def allowed_moves(status: Status) -> list[str]:
    return [_VERB[k] for k, froms in ALLOWED_FROM.items() if status in froms]


def check(state: Incident, kind: EventKind, data: dict[str, Any]) -> None:
    """Refuse an impossible move, saying which moves are possible now."""
    froms = ALLOWED_FROM.get(kind)
    if froms is not None and state.status not in froms:
        allowed = allowed_moves(state.status)
        raise LifecycleError(
            f"{state.ref} is {state.status.value}; it cannot be {kind.value} now",
            hint=f"allowed now: {', '.join(allowed)}"
            if allowed
            else "no lifecycle move is allowed now",
        )
    if kind is EventKind.ACTION_DONE:
        n = int(data.get("action", 0))
        if not 1 <= n <= len(state.actions):
            raise NotFoundError(
                f"{state.ref} has no action item {n}",
                hint=f"see `mlsre incident action list {state.ref}`",
            )
        if state.actions[n - 1].done:
            raise LifecycleError(f"action item {n} of {state.ref} is already done")
    if kind is EventKind.SEVERITY_CHANGED and data.get("severity") == state.severity.value:
        raise LifecycleError(f"{state.ref} is already {state.severity.value}")
