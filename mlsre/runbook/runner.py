"""Starting, resuming and testing runs: wiring the engine to the store, settings and transports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlsre.errors import NotFoundError, UsageError
from mlsre.incident.model import Incident, Severity, parse_id
from mlsre.incident.store import Store
from mlsre.runbook import approval, journal
from mlsre.runbook.engine import Engine, Operator, RunOptions, RunReport
from mlsre.runbook.model import Runbook
from mlsre.steps.base import Phase

if TYPE_CHECKING:
    from mlsre.settings import Settings


@dataclass
class RunRequest:
    runbook: str
    incident: str | None = None
    open_incident: bool = False
    inputs: dict[str, str] | None = None
    at: datetime | None = None
    phase: Phase | None = None
    dry_run: bool = False
    replay: Path | None = None
    no_incident: bool = False  # a health check: recorded nowhere


def load(ref: str, settings: Settings) -> Runbook:
    from mlsre.runbook.loader import find_runbook

    entry = find_runbook(ref, settings)
    if entry.runbook is None:
        from mlsre.runbook.loader import load_runbook

        return load_runbook(Path(entry.path))
    return entry.runbook


def replay_transport(path: Path | None) -> Any:
    if path is None:
        return None
    from mlsre.integrations.recording import ReplayTransport

    return ReplayTransport.from_file(path)


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--input '{pair}' is not name=value")
        out[name.strip()] = value
    return out


def which_incident_hint(store: Store | None, model: str | None) -> str:
    """Name a real incident to run on: the newest active one (of this model when there is one)."""
    from mlsre.incident.model import ACTIVE
    from mlsre.incident.store import IncidentFilter

    rows = store.rows(IncidentFilter(statuses=ACTIVE)) if store is not None else []
    rows = sorted(rows, key=lambda r: r.opened_at, reverse=True)
    mine = [r for r in rows if model and r.model == model] or rows
    tail = "--open to open a new incident (--dry-run only looks)"
    if not mine:
        return f"no incident is active: add {tail}"
    best = mine[0]
    return f"add --incident {best.ref} (active: {best.title}), or {tail}"


def start(
    req: RunRequest, settings: Settings, store: Store | None, operator: Operator, actor: str
) -> RunReport:
    runbook = load(req.runbook, settings)
    inputs = dict(req.inputs or {})
    incident, store = _recorded_on(req, store, runbook, inputs, actor)
    if incident is not None and incident.model and "model" in runbook.input_specs():
        inputs.setdefault("model", incident.model)
    options = RunOptions(
        inputs=inputs,
        at=req.at,
        phase=req.phase,
        dry_run=req.dry_run,
        transport=replay_transport(req.replay),
    )
    return Engine(store, settings, operator).run(runbook, options, incident, actor=actor)


def _recorded_on(
    req: RunRequest, store: Store | None, runbook: Runbook, inputs: dict[str, str], actor: str
) -> tuple[Incident | None, Store | None]:
    """The incident a run is recorded on, and the store (None: a health check records nothing)."""
    if req.incident and req.no_incident:
        raise UsageError("give --incident or --no-incident, not both")
    if req.incident:
        if store is None:
            raise UsageError("--incident needs an incident store")
        return store.get(parse_id(req.incident)), store
    if req.no_incident:
        if req.open_incident:
            raise UsageError("give --open or --no-incident, not both")
        return None, None  # nothing is recorded anywhere, so no incident's figures move
    if req.dry_run:
        return None, store
    if not req.open_incident:
        raise UsageError(
            "a run is recorded on an incident: say which one",
            hint=which_incident_hint(store, inputs.get("model")),
        )
    if store is None:
        raise UsageError("--open needs an incident store")
    from mlsre.incident.service import open_incident

    incident = open_incident(
        store,
        title=runbook.title,
        severity=Severity(runbook.severity.value),
        actor=actor,
        model=inputs.get("model"),
    )
    return incident, store


def resume(
    incident_ref: str,
    settings: Settings,
    store: Store,
    operator: Operator,
    actor: str,
    replay: Path | None = None,
) -> RunReport:
    iid = parse_id(incident_ref)
    incident = store.get(iid)
    events = store.events(iid)
    record = journal.unfinished_run(events)
    if record is None:
        waiting = approval.awaiting(events)
        hint = (
            f"{', '.join(waiting[1])} of {waiting[0].runbook} await approval: "
            f"`mlsre runbook approve {incident.ref}`"
            if waiting
            else f"start one with `mlsre runbook run ID --incident {incident.ref}`"
        )
        raise NotFoundError(f"{incident.ref} has no unfinished runbook run", hint=hint)
    runbook = load(record.runbook, settings)
    at = datetime.fromisoformat(record.at.replace("Z", "+00:00")) if record.at else None
    options = RunOptions(at=at, transport=replay_transport(replay))
    return Engine(store, settings, operator).resume(runbook, record, incident, options, actor=actor)


def approve(
    incident_ref: str,
    step: str | None,
    settings: Settings,
    store: Store,
    operator: Operator,
    actor: str,
) -> RunReport:
    """Run the steps a run left awaiting approval, with the same confirm, on the same run."""
    iid = parse_id(incident_ref)
    incident = store.get(iid)
    found = approval.awaiting(store.events(iid))
    if found is None:
        raise NotFoundError(f"{incident.ref} has no step awaiting approval")
    record, ids = found
    if step is not None:
        if step not in ids:
            raise NotFoundError(
                f"step {step} of {record.runbook} is not awaiting approval on {incident.ref}",
                hint=f"awaiting: {', '.join(ids)}",
            )
        ids = [step]
    runbook = load(record.runbook, settings)
    approval.reopen_for_approval(record, runbook, ids)
    at = datetime.fromisoformat(record.at.replace("Z", "+00:00")) if record.at else None
    options = RunOptions(at=at)
    return Engine(store, settings, operator).resume(runbook, record, incident, options, actor=actor)


def test(
    runbook_ref: str,
    settings: Settings,
    replay: Path | None,  # None: live servers (game-day probes use it with --at)
    inputs: dict[str, str],
    at: datetime | None,
    operator: Operator,
) -> RunReport:
    """Run against recorded evidence on a throwaway in-memory incident; nothing live is touched."""
    from mlsre.incident.service import open_incident
    from mlsre.incident.sqlite_store import SqliteStore

    runbook = load(runbook_ref, settings)
    store = SqliteStore(":memory:")
    incident = open_incident(
        store,
        title=f"test of {runbook.id}",
        severity=Severity.SEV5,
        actor="runbook-test",
        model=inputs.get("model"),
    )
    options = RunOptions(inputs=inputs, at=at, transport=replay_transport(replay))
    return Engine(store, settings, operator).run(runbook, options, incident, actor="runbook-test")
