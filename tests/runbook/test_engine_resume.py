"""Crash safety of runs: SIGKILL at random points, then resume, records every step exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.engine_support import step_results, workspace, write_runbook
from tests.support.helpers import ok, run

ROOT = Path(__file__).resolve().parents[2]

STEPS = """\
- id: d1
  uses: shell
  with: {argv: ["sh", "-c", "sleep 0.05; echo d1 >> log"], safe: true}
- id: d2
  uses: shell
  with: {argv: ["sh", "-c", "sleep 0.05; echo d2 >> log"], safe: true}
- id: d3
  uses: shell
  with: {argv: ["sh", "-c", "sleep 0.05; echo d3 >> log"], safe: true}
  needs: [d1]
- id: mitigate
  phase: mitigate
  uses: shell
  confirm: Apply the mitigation?
  with: {argv: ["sh", "-c", "echo applied >> mitigations; sleep 0.3"]}
- id: v1
  phase: verify
  uses: shell
  with: {argv: ["sh", "-c", "sleep 0.05; echo v1 >> log"], safe: true}
- id: v2
  phase: verify
  uses: note
  with: {text: done}
"""
IDS = ["d1", "d2", "d3", "mitigate", "v1", "v2"]


def _mlsre(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "mlsre", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(isolated, "crashy", STEPS)
    rng = random.Random(20261128)
    # How long an uninterrupted run takes here, so kill points spread over the whole run.
    ok("incident", "open", "timing")
    t0 = time.monotonic()
    assert (
        _mlsre(
            "runbook",
            "run",
            "crashy",
            "--incident",
            "1",
            "--non-interactive",
            "--yes",
            cwd=isolated,
        ).wait()
        == 0
    )
    full = time.monotonic() - t0
    for n in range(2, 22):
        ok("incident", "open", f"crash {n}")
        (isolated / "mitigations").unlink(missing_ok=True)
        p = _mlsre(
            "runbook",
            "run",
            "crashy",
            "--incident",
            str(n),
            "--non-interactive",
            "--yes",
            cwd=isolated,
        )
        time.sleep(rng.uniform(0.0, full))
        p.send_signal(signal.SIGKILL)
        p.wait()
        for _ in range(5):  # resume until no unfinished run is left
            r = run("runbook", "resume", str(n), "--non-interactive", "--yes", "--json")
            if r.exit_code != 0 and "no unfinished runbook run" in r.stderr:
                break
            assert "Traceback" not in r.stderr, r.stderr
        results = step_results(str(n))
        events = json.loads(ok("incident", "timeline", str(n), "--json").stdout)
        if not any(e["kind"] == "runbook_started" for e in events):
            assert not results  # killed before the run was recorded: nothing to resume
            continue
        assert sorted(results) == sorted(IDS), (n, sorted(results))
        assert all(len(v) == 1 for v in results.values()), (
            n,
            {k: len(v) for k, v in results.items()},
        )
        applied = (
            (isolated / "mitigations").read_text().count("applied")
            if (isolated / "mitigations").exists()
            else 0
        )
        assert applied <= 1, f"mitigation ran {applied} times in round {n}"
        status = results["mitigate"][0]["status"]
        assert (applied == 1) == (status == "passed") or status == "skipped", (n, status, applied)


@pytest.mark.usefixtures("store_backend")  # on SQLite and on PostgreSQL
def test_resume_reuses_recorded_results_and_asks_about_half_done_mitigation(isolated: Path) -> None:
    """A run that stopped right after the mitigation started: resume never re-runs it unasked."""
    from mlsre.config_file import store_url
    from mlsre.incident.model import EventKind
    from mlsre.incident.service import record
    from mlsre.incident.store import open_store

    workspace(isolated)
    write_runbook(isolated, "half", STEPS)
    ok("incident", "open", "x")
    store = open_store(store_url())  # the CLI's store: SQLite or PostgreSQL
    record(store, 1, EventKind.RUNBOOK_STARTED, "t", {"run": "r1", "runbook": "half", "inputs": {}})
    for sid in ("d1", "d2", "d3"):
        record(store, 1, EventKind.STEP_STARTED, "t", {"run": "r1", "step": sid})
        record(
            store,
            1,
            EventKind.STEP_RESULT,
            "t",
            {"run": "r1", "step": sid, "status": "passed", "summary": "ok"},
        )
    record(store, 1, EventKind.STEP_STARTED, "t", {"run": "r1", "step": "mitigate"})
    r = run("runbook", "resume", "1", "--non-interactive", "--yes", "--json")
    rep = json.loads(r.stdout)
    got = {s["step"]: s for s in rep["steps"]}
    assert got["d1"]["resumed"] and got["d1"]["status"] == "passed"
    assert (
        got["mitigate"]["status"] == "skipped" and "interrupted run" in got["mitigate"]["summary"]
    )
    assert not (isolated / "mitigations").exists()
    assert got["v1"]["status"] == "passed" and not got["v1"]["resumed"]
    assert not (isolated / "log").read_text().count("d1")  # d1 was not re-run
    results = step_results()
    assert all(len(v) == 1 for v in results.values()) and sorted(results) == sorted(IDS)
