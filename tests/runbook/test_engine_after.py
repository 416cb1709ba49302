"""What comes after an outcome is decided once, for fresh and recorded outcomes alike; a step
left waiting for a person says so in a field of its own, not only in its summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlsre.runbook.model import Step
from mlsre.runbook.run_model import Run, RunListener, RunReport, StepOutcome, StepView
from tests.support.engine_support import run_json, step_results, workspace, write_runbook
from tests.support.helpers import ok, run

FLOW = """\
- id: check
  uses: shell
  with: {argv: ["false"], safe: true}
  on_fail: goto fix
- id: jumped
  uses: note
  with: {text: never}
- id: fix
  phase: mitigate
  uses: note
  with: {text: fixed}
"""


def _append(root: Path, kind: str, data: dict[str, Any], incident: int = 1) -> None:
    """An event as an earlier mlsre wrote it (a crashed run leaves no later events)."""
    from mlsre.incident.model import EventKind
    from mlsre.incident.store import open_store
    from mlsre.timeutil import utcnow

    store = open_store(f"sqlite:///{root / '.mlsre' / 'mlsre.db'}")
    try:
        store.append(incident, EventKind(kind), data, "tester", utcnow())
    finally:
        store.close()


def _crashed_after_check(root: Path, incident: int) -> None:
    """A run of FLOW killed right after recording that `check` failed (its goto not taken)."""
    run_ = {"run": "crashed00001", "runbook": "flow"}
    started: dict[str, Any] = {**run_, "title": "t", "inputs": {}, "at": None}
    _append(root, "runbook_started", started, incident)
    step = {**run_, "step": "check", "kind": "shell", "phase": "diagnose"}
    _append(root, "step_started", step, incident)
    result = {**step, "status": "failed", "summary": "exit 1", "duration_s": 0.01}
    _append(root, "step_result", result, incident)


def test_a_resumed_goto_jumps_over_the_same_steps_as_a_live_one(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(isolated, "flow", FLOW)
    ok("incident", "open", "live")
    code, live = run_json("runbook", "run", "flow", "--incident", "1", "--non-interactive")
    ok("incident", "open", "crashed")
    _crashed_after_check(isolated, 2)

    def shape(rep: dict[str, Any]) -> list[tuple[str, str, str]]:
        return [(s["step"], s["status"], s["summary"]) for s in rep["steps"]]

    assert shape(live)[1] == ("jumped", "skipped", "jumped over: check failed, goto fix")
    rcode, resumed = run_json("runbook", "resume", "2", "--non-interactive")
    assert [s[:2] for s in shape(resumed)] == [s[:2] for s in shape(live)]
    assert shape(resumed)[1] == shape(live)[1]
    assert resumed["steps"][0]["resumed"] and not resumed["steps"][1]["resumed"]
    assert (rcode, resumed["outcome"]) == (code, live["outcome"]) == (1, "unhealthy")
    for incident in ("1", "2"):
        recorded = step_results(incident)["jumped"]
        assert [r["summary"] for r in recorded] == ["jumped over: check failed, goto fix"]


LATER = """\
- id: look
  uses: shell
  with: {argv: ["false"], safe: true}
- id: roll
  title: Roll back
  phase: mitigate
  when: steps.look.failed
  uses: shell
  confirm: Roll back?
  with: {argv: ["touch", "rolled"]}
"""


def test_waiting_steps_say_what_they_wait_for(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(isolated, "later", LATER)
    ok("incident", "open", "x")
    _, rep = run_json("runbook", "run", "later", "--incident", "1", "--non-interactive")
    waits = {s["step"]: (s["status"], s["awaiting"]) for s in rep["steps"]}
    assert waits == {
        "look": ("failed", None),
        "roll": ("skipped", "approval"),
    }
    assert rep["needs_attention"] == ["roll: awaiting approval: run touch rolled"]
    recorded = step_results()
    assert recorded["roll"][0]["awaiting"] == "approval"
    assert "awaiting" not in recorded["look"][0]  # events stay as they were for other steps


def test_an_undecided_step_waits_for_a_decision(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "undecided",
        """\
        - id: gone
          uses: shell
          with: {argv: ["/no/such/program"], safe: true}
        - id: roll
          phase: mitigate
          when: steps.gone.failed
          uses: note
          with: {text: x}
        """,
    )
    ok("incident", "open", "x")
    _, rep = run_json("runbook", "run", "undecided", "--incident", "1", "--non-interactive")
    roll = rep["steps"][1]
    assert (roll["status"], roll["awaiting"]) == ("skipped", "decision")
    assert rep["needs_attention"] == [f"roll: {roll['summary']}"]
    assert roll["summary"].startswith("could not decide whether to run roll")


def test_an_old_awaiting_record_still_reads_as_awaiting(isolated: Path) -> None:
    """Incidents written before the field: a skipped step whose summary says "awaiting approval"
    is still found by `runbook approve`, and a resume reports it as waiting."""
    workspace(isolated)
    write_runbook(isolated, "later", LATER)
    ok("incident", "open", "x")
    run_ = {"run": "old000000001", "runbook": "later"}
    _append(isolated, "runbook_started", {**run_, "title": "t", "inputs": {}, "at": None})
    for step, phase, status, summary in (
        ("look", "diagnose", "failed", "exit 1"),
        ("roll", "mitigate", "skipped", "awaiting approval: run touch rolled"),
    ):
        data = {"step": step, "kind": "shell", "phase": phase}
        _append(isolated, "step_result", {**run_, **data, "status": status, "summary": summary})
    _, rep = run_json("runbook", "resume", "1", "--non-interactive")
    roll = {s["step"]: s for s in rep["steps"]}["roll"]
    assert (roll["resumed"], roll["awaiting"]) == (True, "approval")
    assert "roll: awaiting approval: run touch rolled" in rep["needs_attention"]
    _, approved = run_json("runbook", "approve", "1", "roll", "--non-interactive", "--yes")
    assert {s["step"]: s["status"] for s in approved["steps"]}["roll"] == "passed"
    assert (isolated / "rolled").exists()
    assert run("runbook", "approve", "1").exit_code == 1  # nothing waits any more


class _Heard(RunListener):
    """A listener of our own: what it was told, in order."""

    def __init__(self) -> None:
        self.heard: list[str] = []

    def run_started(self, run: Run) -> None:
        self.heard.append(f"started {run.runbook.id}")

    def step_started(self, run: Run, step: Step, view: StepView) -> None:
        self.heard.append(f"step {step.id}")

    def step_result(self, run: Run, outcome: StepOutcome) -> None:
        self.heard.append(f"{outcome.step} {outcome.status.value}")

    def run_finished(self, run: Run, report: RunReport) -> None:
        self.heard.append(f"finished {report.outcome.value}")


def test_listeners_hear_the_run_as_the_journal_records_it() -> None:
    """A listener given to the engine hears what the incident's journal writes, in order."""
    from mlsre.incident.model import Severity
    from mlsre.incident.service import open_incident
    from mlsre.incident.sqlite_store import SqliteStore
    from mlsre.runbook.engine import Engine, RunOptions, Unattended
    from mlsre.runbook.model import Runbook
    from mlsre.settings import Settings

    steps = [
        {"id": "check", "uses": "shell", "with": {"argv": ["false"], "safe": True}},
        {"id": "gate", "uses": "note", "when": "steps.check.passed", "with": {"text": "x"}},
        {"id": "say", "uses": "note", "with": {"text": "done"}},
    ]
    head = {"apiVersion": "mlsre/v1", "kind": "Runbook", "id": "heard", "title": "Heard"}
    runbook = Runbook.model_validate({**head, "failure_mode": "latency", "steps": steps})
    store = SqliteStore(":memory:")
    incident = open_incident(store, title="t", severity=Severity.SEV5, actor="tester")
    heard = _Heard()
    engine = Engine(store, Settings(), Unattended(), listeners=[heard])
    report = engine.run(runbook, RunOptions(), incident)
    assert heard.heard == [
        "started heard",
        "step check",
        "check failed",
        "gate skipped",  # decided by its `when`: a result, never started
        "step say",
        "say passed",
        "finished unhealthy",
    ]
    kinds = [e.kind.value for e in store.events(incident.id)][1:]  # after incident_opened
    assert kinds == [
        "runbook_started",
        "step_started",
        "step_result",
        "step_result",
        "step_started",
        "step_result",
        "runbook_finished",
    ]
    assert report.outcome.value == "unhealthy"
