"""How a run decides what runs: undecidable `when`, verify with nothing to verify, approval
later, runs that record nothing, drills out of stats, and what unattended output looks like."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.test_prompts_screen import Terminal
from tests.support.engine_support import run_json, step_results, workspace, write_runbook
from tests.support.faulty_server import refused_url
from tests.support.helpers import ok, run

GATED = """\
- id: check
  title: Is the service up?
  uses: prometheus.query
  with: {query: up}
  expect: value > 0
- id: roll
  title: Roll the model back
  phase: mitigate
  when: steps.check.failed
  uses: shell
  confirm: Roll back?
  with: {argv: ["touch", "rolled"]}
- id: settled
  title: It settled
  phase: verify
  uses: shell
  with: {argv: ["true"], safe: true}
"""


def _down_prometheus(root: Path) -> None:
    workspace(root)
    (root / "mlsre.yaml").write_text(f"prometheus:\n  url: {refused_url()}\n  retries: 0\n")


def test_a_when_that_cannot_be_decided_is_reported_not_false(isolated: Path) -> None:
    _down_prometheus(isolated)
    write_runbook(isolated, "gated", GATED)
    ok("incident", "open", "x")
    code, rep = run_json("runbook", "run", "gated", "--incident", "1", "--non-interactive")
    steps = {s["step"]: s for s in rep["steps"]}
    assert steps["check"]["status"] == "error"
    roll = steps["roll"]["summary"]
    assert roll.startswith("could not decide whether to roll the model back: check could not run")
    assert "is false" not in roll
    assert steps["settled"]["status"] == "skipped"
    assert steps["settled"]["summary"].startswith(
        "nothing to verify: no mitigation ran (roll skipped: could not decide"
    )
    assert any(n.startswith("roll: could not decide") for n in rep["needs_attention"])
    assert code == 4 and not (isolated / "rolled").exists()
    plain = run("runbook", "run", "gated", "--incident", "1", "--non-interactive")
    assert "needs attention: roll: could not decide whether to roll the model back" in plain.stdout
    assert "could not run: check" in plain.stdout


def test_an_undecidable_when_is_asked_at_the_terminal(isolated: Path) -> None:
    _down_prometheus(isolated)
    write_runbook(isolated, "gated", GATED)
    ok("incident", "open", "x")
    term = Terminal(isolated, "runbook", "run", "gated", "--incident", "1")
    term.settled("[r]un / [s]kip")
    term.send("r")
    screen = term.settled("Run roll anyway?")
    assert "could not decide whether to roll the model back: check could not run" in screen
    assert "  1) run it" in screen.splitlines() and "  2) skip it" in screen.splitlines()
    term.send("1")
    term.settled("Step 2/3: Roll the model back")
    term.send("r")
    term.settled("Type y to go ahead")
    term.send("y")
    term.settled("Step 3/3: It settled")
    term.send("r")
    term.finish()
    assert (isolated / "rolled").exists()
    results = {k: v[0]["status"] for k, v in step_results().items()}
    assert results == {"check": "error", "roll": "passed", "settled": "passed"}


def test_a_mitigation_awaiting_approval_is_approved_later(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "later",
        """\
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
        - id: settled
          phase: verify
          uses: shell
          with: {argv: ["true"], safe: true}
        """,
    )
    ok("incident", "open", "x")
    code, rep = run_json("runbook", "run", "later", "--incident", "1", "--non-interactive")
    steps = {s["step"]: s for s in rep["steps"]}
    assert steps["roll"]["summary"] == "awaiting approval: run touch rolled"
    assert steps["settled"]["summary"].startswith("nothing to verify")
    assert code == 1 and not (isolated / "rolled").exists()
    refused = run("runbook", "resume", "1")  # the run finished: resume points at approval
    assert refused.exit_code == 1 and "mlsre runbook approve INC-1" in refused.stderr
    unapproved = run_json("runbook", "approve", "1", "roll", "--non-interactive")[1]
    assert {s["step"]: s["status"] for s in unapproved["steps"]}["roll"] == "skipped"
    assert not (isolated / "rolled").exists()  # unattended without --yes: still waiting
    code, rep = run_json("runbook", "approve", "INC-1", "roll", "--non-interactive", "--yes")
    steps = {s["step"]: s for s in rep["steps"]}
    assert steps["roll"]["status"] == "passed" and (isolated / "rolled").exists()
    assert steps["settled"]["status"] == "passed"  # verified after the approved mitigation
    assert steps["look"]["resumed"]  # not run again
    results = step_results()
    assert len(results["look"]) == 1 and [r["status"] for r in results["roll"]][-1] == "passed"
    again = run("runbook", "approve", "1")
    assert again.exit_code == 1 and "INC-1 has no step awaiting approval" in again.stderr


def test_a_wait_that_never_holds_shows_its_last_value(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "waits",
        """\
        - id: recovered
          phase: verify
          uses: wait
          with:
            check: {uses: shell, with: {argv: ["echo", "0.69"], safe: true}, expect: value == 1}
            interval: 1s
            deadline: 1s
        """,
    )
    code, rep = run_json("runbook", "run", "waits", "--no-incident", "--non-interactive")
    summary = rep["steps"][0]["summary"]
    assert summary.startswith("still not holding after 1 poll(s): `value == 1` does not hold")
    assert summary.endswith("(last: exit 0: 0.69)")
    assert code == 1


def test_no_incident_records_nothing_and_drills_stay_out_of_stats(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "health",
        """\
        - id: look
          uses: shell
          with: {argv: ["true"], safe: true}
        """,
    )
    code, rep = run_json("runbook", "run", "health", "--no-incident", "--non-interactive")
    assert code == 0 and rep["incident"] is None and rep["steps"][0]["status"] == "passed"
    assert json.loads(ok("incident", "list", "--all", "--json").stdout) == []
    both = run("runbook", "run", "health", "--no-incident", "--incident", "1")
    assert both.exit_code == 2 and "not both" in both.stderr

    ok("incident", "open", "real one", "--started", "-30m")
    ok("incident", "resolve", "1", "-r", "fixed")
    ok("incident", "open", "game day", "--started", "-5h", "--drill")
    ok("incident", "resolve", "2", "-r", "drill over")
    ok("incident", "open", "chaos test", "--started", "-9h")
    ok("incident", "resolve", "3", "-r", "done")
    marked = ok("incident", "drill", "INC-3", "--reason", "chaos experiment")
    assert "Marked as a drill: chaos experiment" in marked.stdout
    stats = json.loads(ok("incident", "stats", "--json").stdout)
    assert stats["overall"]["incidents"] == 1 and stats["drills_excluded"] == 2
    assert stats["overall"]["time_to_resolve"]["median_s"] < 3600  # the 5h/9h drills are out
    assert "2 drill(s) not counted" in ok("incident", "stats").stdout
    assert "resolved (a drill: not in stats)" in ok("incident", "show", "2").stdout
    ok("incident", "drill", "3", "--undo")
    assert json.loads(ok("incident", "stats", "--json").stdout)["drills_excluded"] == 1


def test_user_text_is_never_read_as_markup(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "marks",
        """\
        - id: look
          uses: shell
          with: {argv: ["echo", "p99 [prod] up [/bold]"], safe: true}
        """,
    )
    terminal = {"MLSRE_FORCE_TERMINAL": "1", "NO_COLOR": "", "COLUMNS": "200"}
    r = run("runbook", "run", "marks", "--no-incident", "--non-interactive", env=terminal)
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "[green]" not in r.stdout and "[/]" not in r.stdout
    assert "\x1b[32mpassed\x1b[0m" in r.stdout  # coloured, since it is a terminal
    assert "passed  look: exit 0: p99 [prod] up [/bold]" in _plain(r.stdout)
    ok("incident", "open", "p99 [prod] up")
    ok("incident", "open", "[/bold] broke it")
    ack = run("incident", "ack", "1", env=terminal)
    assert ack.exit_code == 0 and "[yellow]" not in ack.stdout
    assert "INC-1: Acknowledged  [acknowledged]" in _plain(ack.stdout)
    listed = run("incident", "list", env=terminal)
    assert listed.exit_code == 0, listed.stdout + listed.stderr
    assert "p99 [prod] up" in _plain(listed.stdout) and "[/bold] broke it" in _plain(listed.stdout)


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_concurrent_results_print_in_runbook_order(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "order",
        """\
        - id: slow
          uses: shell
          with: {argv: ["sh", "-c", "sleep 0.6; echo slow done"], safe: true}
        - id: fast
          uses: shell
          with: {argv: ["echo", "fast done"], safe: true}
        - id: broken
          uses: shell
          with: {argv: ["false"], safe: true}
        """,
    )
    r = run("runbook", "run", "order", "--no-incident", "--non-interactive")
    lines = r.stdout.splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["slow:", "fast:", "broken:"], lines
    assert lines[3].startswith("Runbook order: unhealthy (data as of ")
    assert lines[4] == "  failed: broken"
    assert r.exit_code == 1
