"""``mlsre gameday run``: a Chaos Toolkit experiment run by chaostoolkit-lib, recorded as an
incident of its own kind (``game_day``), with every activity on the timeline and the journal
kept as evidence, so ``postmortem render`` tells what was learned.

The experiment gets three configuration values it can use as ``${name}``: ``bundled_data``
(mlsre's sample files), ``experiment_dir`` (the experiment's folder) and ``workdir`` (a
scratch folder for corrupted copies, kept beside the journal).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mlsre.chaos.ctk._settings import CONFIG_KEY
from mlsre.errors import ConfigError, UsageError, ValidationError
from mlsre.incident.model import ActionType, EventKind, Severity
from mlsre.incident.store import Store
from mlsre.paths import bundled_dir
from mlsre.timeutil import utcnow

MAX_OUTPUT = 2000  # characters of an activity's output kept on its timeline event


@dataclass
class ActivityRecord:
    phase: str  # steady-state-before | method | steady-state-after | rollback
    type: str  # probe | action
    name: str
    status: str  # passed | failed | error
    summary: str
    noticed: bool | None = None  # for probes that judge a fault (mlsre's verdict probes)
    duration_s: float | None = None


@dataclass
class GameDayReport:
    incident: str
    title: str
    experiment: str
    status: str  # chaostoolkit: completed | failed | aborted | interrupted
    deviated: bool
    steady_before: bool | None
    steady_after: bool | None
    activities: list[ActivityRecord] = field(default_factory=list)
    noticed: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    passed: bool = False
    journal: str = ""
    learned: str = ""


def bundled_gamedays() -> list[Path]:
    return sorted(bundled_dir("gamedays").glob("*.json"))


def find_gameday(ref: str) -> Path:
    path = Path(ref)
    if path.is_file():
        return path
    for candidate in bundled_gamedays():
        if candidate.stem == ref:
            return candidate
    known = ", ".join(p.stem for p in bundled_gamedays())
    raise UsageError(f"{ref}: no such file or bundled game day", hint=f"bundled: {known}")


def load(path: Path) -> dict[str, Any]:
    try:
        import chaoslib  # noqa: F401
    except ImportError:
        raise ConfigError(
            "game days need chaostoolkit-lib, which is not installed",
            hint="pip install 'mlsre[chaos]'",
        ) from None
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.loader import load_experiment

    try:
        experiment: dict[str, Any] = load_experiment(str(path))
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError(f"{path}: not a valid Chaos Toolkit experiment: {first}") from None
    return experiment


def run_gameday(
    path: Path,
    store: Store,
    actor: str,
    workdir: Path,
    severity: Severity = Severity.SEV5,
    config: Path | None = None,
) -> GameDayReport:
    from chaoslib.experiment import run_experiment

    from mlsre.incident.service import open_incident

    experiment = load(path)
    workdir.mkdir(parents=True, exist_ok=True)
    values = experiment.setdefault("configuration", {})
    values.setdefault("bundled_data", str(bundled_dir("data")))
    values.setdefault("experiment_dir", str(path.resolve().parent))
    values.setdefault("workdir", str(workdir.resolve()))
    if config is not None:  # the activities load the same mlsre.yaml as this command
        values[CONFIG_KEY] = str(config.resolve())
    title = str(experiment.get("title") or path.stem)
    incident = open_incident(
        store,
        title=f"Game day: {title}",
        severity=severity,
        actor=actor,
        summary=str(experiment.get("description") or "") or None,
        game_day=True,
    )
    run_id = uuid.uuid4().hex[:12]
    store.append(
        incident.id,
        EventKind.RUNBOOK_STARTED,
        {"run": run_id, "runbook": f"gameday:{path.stem}", "title": title, "inputs": {}},
        actor,
        utcnow(),
    )
    settings = {"runtime": {"rollbacks": {"strategy": "always"}}}  # rollbacks run always
    _quiet_chaoslib()
    journal: dict[str, Any] = run_experiment(experiment, settings=settings)
    journal_path = workdir / f"{incident.ref}-journal.json"
    journal_path.write_text(json.dumps(journal, indent=2, default=str), encoding="utf-8")
    report = _report(incident.ref, title, str(path), journal, str(journal_path))
    for rec, at in _records(journal):
        report.activities.append(rec)
        store.append(
            incident.id,
            EventKind.STEP_RESULT,
            {
                "run": run_id,
                "step": f"{rec.phase}: {rec.name}",
                "kind": f"gameday.{rec.type}",
                "phase": rec.phase,
                "status": rec.status,
                "summary": rec.summary,
                "duration_s": rec.duration_s,
                "output": {"noticed": rec.noticed} if rec.noticed is not None else None,
            },
            actor,
            at or utcnow(),
        )
    report.noticed = [a.name for a in report.activities if a.noticed is True]
    report.missed = [
        a.name for a in report.activities if a.noticed is False and a.phase == "method"
    ]
    report.passed = report.status == "completed" and not report.deviated and not report.missed
    report.learned = _learned(report)
    store.append(
        incident.id,
        EventKind.RUNBOOK_FINISHED,
        {
            "run": run_id,
            "runbook": f"gameday:{path.stem}",
            "outcome": "healthy" if report.passed else "unhealthy",
            "journal": str(journal_path),
            "evidence": {"kind": "chaostoolkit-journal", "data": _bounded(journal)},
        },
        actor,
        utcnow(),
    )
    store.append(incident.id, EventKind.NOTE, {"text": report.learned}, actor, utcnow())
    for name in report.missed:
        store.append(
            incident.id,
            EventKind.ACTION_ADDED,
            {
                "title": f"Make a check notice what probe {name!r} missed",
                "type": ActionType.DETECT.value,
            },
            actor,
            utcnow(),
        )
    store.append(
        incident.id,
        EventKind.RESOLVED,
        {"resolution": f"game day {'passed' if report.passed else 'failed'}: {report.learned}"},
        actor,
        utcnow(),
    )
    return report


def _quiet_chaoslib() -> None:
    """chaostoolkit-lib logs to the "chaostoolkit" logger; its story is in the journal, and
    library code must not print (Python's last-resort handler would write to stderr)."""
    import logging

    log = logging.getLogger("chaostoolkit")
    if not log.handlers:
        log.addHandler(logging.NullHandler())


def _report(ref: str, title: str, path: str, journal: dict[str, Any], jpath: str) -> GameDayReport:
    states = journal.get("steady_states") or {}

    def met(key: str) -> bool | None:
        state = states.get(key)
        return bool(state.get("steady_state_met")) if isinstance(state, dict) else None

    return GameDayReport(
        incident=ref,
        title=title,
        experiment=path,
        status=str(journal.get("status")),
        deviated=bool(journal.get("deviated")),
        steady_before=met("before"),
        steady_after=met("after"),
        journal=jpath,
    )


def _records(journal: dict[str, Any]) -> list[tuple[ActivityRecord, datetime | None]]:
    states = journal.get("steady_states") or {}
    groups = [
        ("steady-state-before", (states.get("before") or {}).get("probes") or []),
        ("method", journal.get("run") or []),
        ("steady-state-after", (states.get("after") or {}).get("probes") or []),
        ("rollback", journal.get("rollbacks") or []),
    ]
    out = []
    for phase, runs in groups:
        for run in runs:
            out.append((_record(phase, run), _time(run.get("end"))))
    return out


def _record(phase: str, run: dict[str, Any]) -> ActivityRecord:
    act = run.get("activity") or {}
    output = run.get("output")
    # only method probes judge the fault; steady-state probes hold a baseline
    noticed = output.get("noticed") if phase == "method" and isinstance(output, dict) else None
    status = "passed" if run.get("status") == "succeeded" else "error"
    if phase.startswith("steady") and run.get("tolerance_met") is False:
        status = "failed"
    if run.get("exception"):
        summary = "".join(run["exception"]).strip().splitlines()[-1][:MAX_OUTPUT]
    else:
        summary = json.dumps(output, default=str)[:MAX_OUTPUT] if output is not None else ""
    if noticed is not None:
        summary = ("noticed: " if noticed else "did NOT notice: ") + summary
    return ActivityRecord(
        phase=phase,
        type=str(act.get("type", "")),
        name=str(act.get("name", "")),
        status=status,
        summary=summary,
        noticed=bool(noticed) if noticed is not None else None,
        duration_s=run.get("duration"),
    )


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _learned(report: GameDayReport) -> str:
    parts = []
    if report.steady_before is False:
        parts.append("the steady state did not hold before the fault (fix the baseline first)")
    if report.steady_after is False:
        parts.append("the steady state did not come back after the fault")
    if report.noticed:
        parts.append(f"noticed by {', '.join(report.noticed)}")
    if report.missed:
        parts.append(f"NOT noticed by {', '.join(report.missed)}")
    if report.status != "completed":
        parts.append(f"the experiment {report.status}")
    return "What we learned: " + ("; ".join(parts) if parts else "nothing was judged") + "."


def _bounded(journal: dict[str, Any]) -> dict[str, Any]:
    from mlsre.runbook.journal import bounded_evidence

    return bounded_evidence(json.loads(json.dumps(journal, default=str)))


def last_game_day(settings: Any, model: str, before: datetime | None = None) -> datetime | None:
    """When the newest game day about ``model`` (or about no model in particular) was run, up
    to ``before`` (a readiness review as of a past time does not see later game days)."""
    from mlsre.incident.store import IncidentFilter, open_store

    store = open_store(settings.store.url)
    try:
        days = [
            i.opened_at
            for i in store.incidents(IncidentFilter())
            if i.game_day and i.model in (model, None) and (before is None or i.opened_at <= before)
        ]
    finally:
        store.close()
    return max(days, default=None)
