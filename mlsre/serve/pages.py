"""The incident pages: server-rendered Jinja2 (autoescaped: alert and people text is data)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from mlsre.incident.model import ACTIVE
from mlsre.incident.service import show_data
from mlsre.incident.store import IncidentFilter, Store
from mlsre.incident.timeline import describe
from mlsre.runbook import journal
from mlsre.serve.guard import paused
from mlsre.timeutil import human_duration, iso, utcnow

TIMELINE_EVENTS = 200


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
        undefined=StrictUndefined,
    )
    env.filters["iso"] = iso
    env.filters["human"] = human_duration
    return env


def _render(name: str, **ctx: Any) -> str:
    return str(_env().get_template(name).render(**ctx))


def _banner(store: Store, cfg: Any) -> str | None:
    why = paused(store)
    if why:
        return f"Automatic actions are off: {why}"
    if cfg.dry_run:
        return "Dry run: automatic mitigations are never executed"
    return None


def index(store: Store, cfg: Any) -> str:
    now = utcnow()
    rows = store.rows(IncidentFilter(statuses=ACTIVE, limit=200))
    return _render(
        "index.html",
        rows=rows,
        now=now,
        ages={r.id: human_duration((now - r.opened_at).total_seconds()) for r in rows},
        banner=_banner(store, cfg),
        refresh_s=cfg.refresh_s,
    )


def incident(store: Store, cfg: Any, incident_id: int) -> str:
    data = show_data(store, incident_id, TIMELINE_EVENTS)
    state = data["incident"]
    runs = journal.read_runs(store.events(incident_id))
    steps = []
    for run in runs:
        for step, rec in run.results.items():
            steps.append(
                {
                    "runbook": run.runbook,
                    "step": step,
                    "status": rec.status.value,
                    "summary": rec.summary,
                }
            )
        for step in sorted(run.started_only):
            steps.append({"runbook": run.runbook, "step": step, "status": "running", "summary": ""})
    timeline = [
        {"seq": e.seq, "at": iso(e.at), "actor": e.actor, "kind": e.kind.value, "text": describe(e)}
        for e in reversed(data["events"])
    ]
    return _render(
        "incident.html",
        state=state,
        durations=data["durations"],
        steps=steps,
        timeline=timeline,
        banner=_banner(store, cfg),
        refresh_s=cfg.refresh_s,
    )


def not_found(message: str) -> str:
    return _render("not_found.html", message=message, banner=None, refresh_s=0)


def login(next_path: str, problem: str | None) -> str:
    return _render("login.html", next_path=next_path, problem=problem, banner=None, refresh_s=0)
