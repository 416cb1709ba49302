"""A person at a real pseudo-terminal walks through a runbook, answering every prompt."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

from tests.support.engine_support import step_results, workspace, write_runbook
from tests.support.helpers import ok

ROOT = Path(__file__).resolve().parents[2]
_GAP = r"(?:\x1b\[[0-9;?]*[A-Za-z]|\s)+"


def _spawn(cwd: Path, *args: str) -> pexpect.spawn:
    """`python -m mlsre ARGS` on a real pseudo-terminal, 120 columns wide, in colour."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", "TERM": "xterm"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "mlsre", *args],
        cwd=str(cwd),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 120),
    )


def loose(text: str) -> str:
    """A pattern for ``text`` that tolerates colour codes and line wrapping between words."""
    return _GAP.join(re.escape(word) for word in text.split())


@pytest.mark.usefixtures("store_backend")  # on SQLite and on PostgreSQL
def test_walk_through_a_runbook_at_the_terminal(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "walk",
        """\
        - id: look
          title: Look at the service
          uses: shell
          with: {argv: ["echo", "{{ inputs.model }} looks slow"], safe: true}
          guidance: If this **prints slow**, go on.
        - id: optional
          title: Optional check
          uses: note
          with: {text: not needed}
        - id: roll
          title: Roll back
          phase: mitigate
          uses: shell
          confirm: Roll {{ inputs.model }} back?
          with: {argv: ["touch", "rolled-back"]}
        - id: better
          title: Is it better?
          phase: verify
          uses: manual
          with: {question: "Is p99 back to normal?", choices: ["yes", "no"], fail_on: ["no"]}
        """,
        inputs="inputs:\n  model: {required: true}\n",
    )
    ok("incident", "open", "slow", "--model", "fraud-detector")
    child = _spawn(isolated, "runbook", "run", "walk", "--incident", "INC-1")
    child.expect(loose("Step 1/4: Look at the service"))
    child.expect(loose("prints slow"))  # guidance rendered
    child.expect(loose("Will: run echo 'fraud-detector looks slow'"))
    child.expect(loose("[r]un / [s]kip"))
    child.sendline("r")
    child.expect(loose("PASSED"))
    child.expect(loose("Step 2/4: Optional check"))
    child.expect(loose("[r]un / [s]kip"))
    child.sendline("s")
    child.expect(loose("Step 3/4: Roll back"))
    child.expect(loose("[r]un / [s]kip"))
    child.sendline("r")
    child.expect(loose("This step changes a system: run touch rolled-back"))
    child.expect(loose("Roll fraud-detector back?"))
    child.sendline("y")
    child.expect(loose("PASSED"))
    child.expect(loose("Step 4/4: Is it better"))
    child.expect(loose("[r]un / [s]kip"))
    child.sendline("r")
    child.expect(loose("Is p99 back to normal"))
    child.sendline("yes")
    child.expect(loose("PASSED"))
    child.expect(loose("Runbook walk on INC-1: healthy"))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (isolated / "rolled-back").exists()
    results = step_results()
    assert {k: v[0]["status"] for k, v in results.items()} == {
        "look": "passed",
        "optional": "skipped",
        "roll": "passed",
        "better": "passed",
    }
    assert results["better"][0]["output"] == {"answer": "yes"}
    events = json.loads(ok("incident", "timeline", "1", "--json").stdout)
    assert events[-1]["kind"] == "runbook_finished"


def test_declining_a_mitigation_at_the_terminal_changes_nothing(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "decline",
        """\
        - id: roll
          title: Roll back
          phase: mitigate
          uses: shell
          confirm: Really?
          with: {argv: ["touch", "rolled-back"]}
        """,
    )
    ok("incident", "open", "x")
    child = _spawn(isolated, "runbook", "run", "decline", "--incident", "1")
    child.expect(loose("[r]un / [s]kip"))
    child.sendline("r")
    child.expect(loose("Really?"))
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert not (isolated / "rolled-back").exists()
    assert step_results()["roll"][0]["summary"].startswith("declined")


def test_incident_open_offers_the_runbook(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "offered",
        """\
        - id: first
          title: First look
          uses: note
          with: {text: hello}
        - id: second
          title: Second look
          uses: note
          with: {text: again}
        """,
    )
    child = _spawn(isolated, "incident", "open", "p99 up", "--runbook", "offered")
    child.expect(loose("Opened INC-1"))
    child.expect(loose("Start runbook offered now?"))
    child.sendline("y")
    child.expect(loose("Step 1/2: First look"))
    child.sendline("r")
    child.expect(loose("Step 2/2: Second look"))
    child.sendline("q")  # the rest waits for `mlsre runbook resume INC-1`
    child.expect(pexpect.EOF)
    child.close()
    assert list(step_results()) == ["first"]
    r = ok("runbook", "resume", "1", "--non-interactive", "--json")
    assert [s["step"] for s in json.loads(r.stdout)["steps"]] == ["first", "second"]


@pytest.mark.usefixtures("store_backend")  # on SQLite and on PostgreSQL
def test_resume_asks_before_rerunning_a_half_done_mitigation(isolated: Path) -> None:
    from mlsre.config_file import store_url
    from mlsre.incident.model import EventKind
    from mlsre.incident.service import record
    from mlsre.incident.store import open_store

    workspace(isolated)
    write_runbook(
        isolated,
        "half",
        """\
        - id: look
          uses: note
          with: {text: looked}
        - id: roll
          title: Roll back
          phase: mitigate
          uses: shell
          confirm: Roll back?
          with: {argv: ["sh", "-c", "echo applied >> rollbacks"]}
        """,
    )
    ok("incident", "open", "x")
    store = open_store(store_url())  # the CLI's store: SQLite or PostgreSQL
    record(store, 1, EventKind.RUNBOOK_STARTED, "t", {"run": "r1", "runbook": "half", "inputs": {}})
    record(
        store,
        1,
        EventKind.STEP_RESULT,
        "t",
        {"run": "r1", "step": "look", "status": "passed", "summary": "ok"},
    )
    record(
        store, 1, EventKind.STEP_STARTED, "t", {"run": "r1", "step": "roll"}
    )  # then the laptop closed
    child = _spawn(isolated, "runbook", "resume", "INC-1")
    child.expect(loose("Step 2/2: Roll back"))
    child.sendline("r")
    child.expect(loose("roll was started by an interrupted run and has no result."))
    child.expect(loose("It may already have been applied. Run it again?"))
    child.sendline("y")
    child.expect(loose("Roll back?"))
    child.sendline("y")
    child.expect(loose("Runbook half on INC-1: healthy"))
    child.expect(pexpect.EOF)
    child.close()
    assert (isolated / "rollbacks").read_text() == "applied\n"
    results = step_results()
    assert [r["status"] for r in results["roll"]] == ["passed"] and len(results["look"]) == 1
