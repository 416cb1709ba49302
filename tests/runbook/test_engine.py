"""The runbook engine, unattended, through the CLI: outcomes, flow, expect, safety, faults."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.support.engine_support import run_json, step_results, workspace, write_runbook
from tests.support.faulty_server import FaultyServer, refused_url
from tests.support.helpers import ok, run

PY = sys.executable


def test_outcomes_map_to_distinct_exit_codes(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "healthy",
        """\
        - id: a
          uses: shell
          with: {argv: ["true"], safe: true}
          expect: value == 0
        """,
    )
    write_runbook(
        isolated,
        "sick",
        """\
        - id: a
          uses: shell
          with: {argv: ["false"], safe: true}
        """,
    )
    write_runbook(
        isolated,
        "broken",
        """\
        - id: a
          uses: shell
          with: {argv: ["/no/such/program"], safe: true}
        """,
    )
    ok("incident", "open", "x")
    code, rep = run_json("runbook", "run", "healthy", "--incident", "1", "--non-interactive")
    assert (code, rep["outcome"]) == (0, "healthy")
    code, rep = run_json("runbook", "run", "sick", "--incident", "1", "--non-interactive")
    assert (code, rep["outcome"]) == (1, "unhealthy")
    code, rep = run_json("runbook", "run", "broken", "--incident", "1", "--non-interactive")
    assert (code, rep["outcome"]) == (4, "error")
    assert rep["steps"][0]["summary"] == "program not found: /no/such/program"


def test_when_goto_and_stop(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "flow",
        """\
        - id: check
          uses: shell
          with: {argv: ["false"], safe: true}
          on_fail: goto fix
        - id: skipped-by-goto
          uses: note
          with: {text: never}
        - id: only-if-healthy
          uses: note
          when: steps.check.passed
          with: {text: never}
        - id: fix
          phase: mitigate
          uses: shell
          confirm: Fix it?
          when: steps.check.failed
          with: {argv: ["false"]}
        - id: after-stop
          phase: verify
          uses: note
          with: {text: never}
        """,
    )
    ok("incident", "open", "x")
    code, rep = run_json("runbook", "run", "flow", "--incident", "1", "--non-interactive", "--yes")
    got = {s["step"]: (s["status"], s["summary"]) for s in rep["steps"]}
    assert got["check"][0] == "failed"
    assert got["skipped-by-goto"] == ("skipped", "jumped over: check failed, goto fix")
    assert got["only-if-healthy"][0] == "skipped"
    assert got["fix"][0] == "failed"  # ran (approved by --yes) and failed
    assert "after-stop" not in got  # a failed mitigation stops the run by default
    assert rep["stopped_at"] == "fix" and code == 1


def test_expect_over_every_sample_and_empty_means_no_data(isolated: Path, tmp_path: Path) -> None:
    workspace(isolated)
    vector = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"version": "3"}, "value": [1795885140, "0.12"]},
                {"metric": {"version": "4"}, "value": [1795885140, "0.91"]},
            ],
        },
    }
    empty = {"status": "success", "data": {"resultType": "vector", "result": []}}
    exchanges = [
        {
            "request": {
                "method": "GET",
                "path": "/api/v1/query",
                "params": [["query", q], ["time", "1795885140"]],
                "json": None,
            },
            "response": {
                "status": 200,
                "content_type": "application/json",
                "body": json.dumps(body),
            },
        }
        for q, body in (("p99", vector), ("psi", empty))
    ]
    replay = tmp_path / "recorded.json"
    replay.write_text(json.dumps(exchanges))
    write_runbook(
        isolated,
        "samples",
        """\
        - id: p99
          uses: prometheus.query
          with: {query: p99}
          expect: value < 0.3
        - id: psi
          uses: prometheus.query
          with: {query: psi}
          expect: value < 0.2
        """,
    )
    ok("incident", "open", "x")
    code, rep = run_json(
        "runbook",
        "run",
        "samples",
        "--incident",
        "1",
        "--non-interactive",
        "--replay",
        str(replay),
        "--at",
        "1795885140",
    )
    got = {s["step"]: s for s in rep["steps"]}
    assert got["p99"]["status"] == "failed"
    assert "{version=4} 0.91" in got["p99"]["summary"] and "version=3" not in got["p99"]["summary"]
    assert got["psi"]["status"] == "error" and "no data" in got["psi"]["summary"]
    assert code == 1  # unhealthy wins over error: something is known to be wrong


def test_templates_cannot_escape_the_sandbox(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "escape",
        """\
        - id: mro
          uses: note
          with: {text: "{{ ''.__class__.__mro__ }}"}
        - id: globals
          uses: note
          with: {text: "{{ runbook.id.__class__.__base__.__subclasses__() }}"}
        - id: echo-input
          uses: note
          with: {text: "got {{ inputs.evil }}"}
        """,
        inputs="inputs:\n  evil: {default: x}\n",
    )
    ok("incident", "open", "x")
    code, rep = run_json(
        "runbook",
        "run",
        "escape",
        "--incident",
        "1",
        "--non-interactive",
        "--input",
        "evil={{ ''.__class__.__mro__ }}",
    )
    got = {s["step"]: s for s in rep["steps"]}
    assert got["mro"]["status"] == "error" and "refused by the sandbox" in got["mro"]["summary"]
    assert (
        got["globals"]["status"] == "error"
        and "refused by the sandbox" in got["globals"]["summary"]
    )
    # A value is data: its braces are printed, never evaluated.
    assert got["echo-input"]["summary"] == "got {{ ''.__class__.__mro__ }}"
    assert code == 4  # refused templates are errors of those steps, not the end of the run


def test_shell_injection_through_inputs_is_inert(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "inject",
        """\
        - id: echo
          uses: shell
          with: {argv: ["echo", "{{ inputs.name }}"], safe: true}
        """,
        inputs="inputs:\n  name: {required: true}\n",
    )
    ok("incident", "open", "x")
    evil = "x; touch pwned1 && $(touch pwned2) `touch pwned3`"
    code, rep = run_json(
        "runbook",
        "run",
        "inject",
        "--incident",
        "1",
        "--non-interactive",
        "--input",
        f"name={evil}",
    )
    assert code == 0
    assert rep["steps"][0]["output"]["stdout"].strip() == evil
    assert not list(isolated.glob("pwned*"))


def test_confirm_gate_needs_yes_when_unattended(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "gate",
        """\
        - id: fix
          phase: mitigate
          uses: shell
          confirm: Create the marker?
          with: {argv: ["touch", "marker"]}
        """,
    )
    ok("incident", "open", "x")
    code, rep = run_json("runbook", "run", "gate", "--incident", "1", "--non-interactive")
    assert rep["steps"][0]["status"] == "skipped" and rep["steps"][0]["summary"].startswith(
        "awaiting approval"
    )
    assert rep["needs_attention"] and not (isolated / "marker").exists()
    code, rep = run_json("runbook", "run", "gate", "--incident", "1", "--non-interactive", "--yes")
    assert rep["steps"][0]["status"] == "passed" and (isolated / "marker").exists() and code == 0


def test_dry_run_touches_nothing(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "dry",
        """\
        - id: fix
          phase: mitigate
          uses: shell
          confirm: Create?
          with: {argv: ["touch", "{{ inputs.file }}"]}
        """,
        inputs="inputs:\n  file: {default: marker}\n",
    )
    r = ok("runbook", "run", "dry", "--dry-run")
    assert "run touch marker" in r.stdout
    assert not (isolated / "marker").exists()
    assert json.loads(ok("incident", "list", "--all", "--json").stdout) == []


def test_faults_become_step_errors_and_the_run_goes_on(
    isolated: Path, faulty: FaultyServer
) -> None:
    workspace(isolated)
    cases = {
        "hang": "did not answer within 1s",
        "unavailable": "503",
        "truncated": "JSON",
        "html404": "HTML",
        "forbidden": "403",
    }
    body = ""
    for mode in cases:
        body += f"""\
- id: q-{mode}
  uses: prometheus.query
  with: {{query: up}}
  retries: 0
"""
    body += "- id: after\n  uses: note\n  with: {text: still running}\n"
    for mode, expected in cases.items():
        cfg = isolated / "mlsre.yaml"
        cfg.write_text(
            f"prometheus:\n  url: {faulty.url}/{mode}\n  timeout_s: 1\n  retries: 1\n  backoff_s: 0.01\n"
        )
        write_runbook(isolated, "faults", body.replace(f"q-{mode}", f"q-{mode}"))
        ok("incident", "open", mode)
        inc = json.loads(ok("incident", "list", "--json").stdout)[0]["ref"]
        r = run("runbook", "run", "faults", "--incident", inc, "--non-interactive", "--json")
        assert "Traceback" not in r.stderr + r.stdout
        rep = json.loads(r.stdout)
        first = next(s for s in rep["steps"] if s["step"] == f"q-{mode}")
        assert first["status"] == "error", (mode, first)
        assert expected in first["summary"], (mode, first["summary"])
        assert "\n" not in first["summary"]
        assert next(s for s in rep["steps"] if s["step"] == "after")["status"] == "passed"
        assert r.exit_code == 4


def test_refused_connection_is_retried_then_an_error(isolated: Path) -> None:
    workspace(isolated)
    (isolated / "mlsre.yaml").write_text(f"prometheus:\n  url: {refused_url()}\n  retries: 0\n")
    write_runbook(
        isolated,
        "refused",
        """\
        - id: q
          uses: prometheus.query
          with: {query: up}
          retries: 2
        """,
    )
    ok("incident", "open", "x")
    code, rep = run_json("runbook", "run", "refused", "--incident", "1", "--non-interactive")
    step = rep["steps"][0]
    assert code == 4 and step["status"] == "error" and "cannot reach" in step["summary"]
    assert step["attempts"] == 3
    recorded = step_results()["q"]
    assert len(recorded) == 1 and recorded[0]["attempts"] == 3


def test_every_step_is_recorded_with_redacted_evidence(isolated: Path, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("MLSRE_PROMETHEUS_TOKEN", "tok-very-secret-123")
    workspace(isolated)
    write_runbook(
        isolated,
        "secret",
        """\
        - id: leak
          uses: shell
          with: {argv: ["sh", "-c", "echo token=$MLSRE_PROMETHEUS_TOKEN"], safe: true}
        """,
    )
    ok("incident", "open", "x")
    run_json("runbook", "run", "secret", "--incident", "1", "--non-interactive")
    export = ok("incident", "export").stdout
    assert "tok-very-secret-123" not in export and "token=***" in export
    kinds = [e["kind"] for e in json.loads(export)["events"]]
    assert kinds == ["opened", "runbook_started", "step_started", "step_result", "runbook_finished"]


def test_phase_runs_only_that_phase(isolated: Path) -> None:
    workspace(isolated)
    write_runbook(
        isolated,
        "phased",
        """\
        - id: look
          uses: note
          with: {text: diagnose}
        - id: fix
          phase: mitigate
          uses: shell
          confirm: Fix?
          with: {argv: ["touch", "fixed"]}
        - id: check
          phase: verify
          uses: note
          with: {text: verify}
        """,
    )
    ok("incident", "open", "x")
    code, rep = run_json(
        "runbook",
        "run",
        "phased",
        "--incident",
        "1",
        "--non-interactive",
        "--yes",
        "--phase",
        "verify",
    )
    assert code == 0 and [s["step"] for s in rep["steps"]] == ["check"]
    assert not (isolated / "fixed").exists()
    assert list(step_results()) == ["check"]


def test_wait_that_cannot_check_is_an_error_not_unhealthy(isolated: Path) -> None:
    workspace(isolated)
    (isolated / "mlsre.yaml").write_text(f"prometheus:\n  url: {refused_url()}\n  retries: 0\n")
    write_runbook(
        isolated,
        "verify",
        """\
        - id: recovered
          phase: verify
          uses: wait
          on_fail: continue
          with:
            check: {uses: prometheus.query, with: {query: up}, expect: value > 0}
            interval: 1s
            deadline: 3s
        - id: holds
          phase: verify
          uses: wait
          on_fail: continue
          with:
            check: {uses: shell, with: {argv: ["true"], safe: true}, expect: value == 0}
            interval: 1s
            deadline: 3s
        """,
    )
    ok("incident", "open", "x")
    code, rep = run_json("runbook", "run", "verify", "--incident", "1", "--non-interactive")
    first = rep["steps"][0]
    assert first["status"] == "error" and "could not check after" in first["summary"]
    assert (
        int(first["summary"].split("after ")[1].split()[0]) >= 2
    )  # it kept polling until the deadline
    assert (
        rep["steps"][1]["status"] == "passed"
        and rep["steps"][1]["summary"] == "held after 1 poll(s)"
    )
    assert code == 4 and rep["outcome"] == "error"
