"""A run's record on the incident: what each step writes, and reading it back to resume."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlsre import redaction
from mlsre.incident.model import Event, EventKind
from mlsre.steps.base import StepStatus

MAX_EVENT_CHARS = 256_000


def redact_data(obj: Any, secrets: list[str] | None = None) -> Any:
    """Every string inside ``obj`` with known secrets removed (see :mod:`mlsre.redaction`)."""
    return redaction.redact_data(obj, secrets)


def bounded_evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """Keep evidence whole when it is small; otherwise keep what fits and say what was cut."""
    text = json.dumps(evidence, default=str, allow_nan=True)
    if len(text) <= MAX_EVENT_CHARS:
        return evidence
    kept: dict[str, Any] = {}
    budget = MAX_EVENT_CHARS
    for key, value in evidence.items():
        size = len(json.dumps(value, default=str, allow_nan=True))
        if size <= budget:
            kept[key] = value
            budget -= size
        else:
            kept[key] = {"truncated": True, "chars": size}
    return kept


@dataclass
class RecordedStep:
    status: StepStatus
    summary: str
    output: Any
    samples: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    duration_s: float


@dataclass
class RunRecord:
    """What the incident's events say about one run of a runbook."""

    run_id: str
    runbook: str
    inputs: dict[str, Any]
    at: str | None
    phase: str | None
    finished: bool = False
    results: dict[str, RecordedStep] = field(default_factory=dict)
    started_only: set[str] = field(default_factory=set)  # started, no result (crash in between)
    started_count: dict[str, int] = field(default_factory=dict)


def read_runs(events: list[Event]) -> list[RunRecord]:
    runs: dict[str, RunRecord] = {}
    order: list[str] = []
    for ev in events:
        d = ev.data
        run_id = d.get("run")
        if ev.kind is EventKind.RUNBOOK_STARTED and run_id:
            runs[run_id] = RunRecord(
                run_id, d["runbook"], dict(d.get("inputs") or {}), d.get("at"), d.get("phase")
            )
            order.append(run_id)
        elif run_id in runs:
            rec = runs[run_id]
            step = d.get("step")
            if ev.kind is EventKind.STEP_STARTED and step:
                rec.started_only.add(step)
                rec.started_count[step] = rec.started_count.get(step, 0) + 1
            elif ev.kind is EventKind.STEP_RESULT and step:
                rec.started_only.discard(step)
                rec.results[step] = RecordedStep(
                    status=StepStatus(d["status"]),
                    summary=d.get("summary", ""),
                    output=d.get("output"),
                    samples=list(d.get("samples") or []),
                    changes=list(d.get("changes") or []),
                    duration_s=float(d.get("duration_s") or 0.0),
                )
            elif ev.kind is EventKind.RUNBOOK_FINISHED:
                rec.finished = True
    return [runs[r] for r in order]


def unfinished_run(events: list[Event]) -> RunRecord | None:
    runs = [r for r in read_runs(events) if not r.finished]
    return runs[-1] if runs else None
