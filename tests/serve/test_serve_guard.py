"""Guard rails: each one stops an automatic mitigation that the route would otherwise run."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.support.fixtures_serve import serve_config
from tests.support.helpers import ok, ok_json
from tests.support.serve_support import MLSRE, alert, notification, serve_env, serving, wait_for

SLOW_FIX = """\
apiVersion: mlsre/v1
kind: Runbook
id: slow-fix
title: Slow fix
failure_mode: latency
inputs:
  model: {description: Model name, required: true}
  seconds: {description: How long the fix takes, default: "2"}
steps:
  - id: look
    title: Look
    uses: note
    with: {text: looking}
    guidance: Nothing to see.
  - id: fix
    title: A fix that takes a while
    phase: mitigate
    uses: shell
    with: {argv: [sleep, "{{ inputs.seconds }}"]}
    confirm: Fix {{ inputs.model }}?
    guidance: Sleeps, so another mitigation can overlap it.
"""

SLOW_ROUTE = """\
    - name: slowfix
      match: {alertname: SlowFix}
      runbook: slow-fix
      inputs: {model: "{{ labels.model }}"}
      group_by: [alertname, model, instance]
      auto_mitigate: [fix]
"""


def _events(ref: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = ok_json("incident", "timeline", ref)
    return out


def _finished(ref: str) -> bool:
    return any(e["kind"] == "runbook_finished" for e in _events(ref))


def _auto(ref: str) -> list[dict[str, Any]]:
    return [e["data"] for e in _events(ref) if e["kind"] == "auto_action"]


def _result(ref: str, step: str) -> str:
    return str(
        next(
            e["data"]["status"]
            for e in _events(ref)
            if e["kind"] == "step_result" and e["data"]["step"] == step
        )
    )


def test_kill_switch_stops_automatic_mitigation_until_resumed(serve_ws: Path) -> None:
    marks = serve_ws / "marks"
    with serving(serve_ws) as srv:
        c = srv.client()
        assert "automation paused by tester" in ok("serve", "pause", "-r", "db migration").stdout
        assert c.get("/readyz").body["automation"] == "paused"
        assert c.post(notification([alert("EchoAlert", model="k1")])).status == 200
        assert wait_for(lambda: _finished("INC-1"))
        ok("serve", "resume")
        assert c.post(notification([alert("EchoAlert", model="k2")])).status == 200
        assert wait_for(lambda: _finished("INC-2"))
    blocked = _auto("INC-1")
    assert [a["allowed"] for a in blocked] == [False]
    assert blocked[0]["rule"].startswith("kill switch: automation paused by tester")
    assert "db migration" in blocked[0]["rule"]
    assert _result("INC-1", "restart") == "skipped" and not (marks / "k1.restarted").exists()
    assert [a["allowed"] for a in _auto("INC-2")] == [True]
    assert (marks / "k2.restarted").exists()


def test_dry_run_never_mitigates(serve_ws: Path) -> None:
    with serving(serve_ws, "--dry-run") as srv:
        assert srv.client().post(notification([alert("EchoAlert", model="d1")])).status == 200
        assert wait_for(lambda: _finished("INC-1"))
    assert [(a["allowed"], a["rule"].split(":")[0]) for a in _auto("INC-1")] == [(False, "dry run")]
    assert not (serve_ws / "marks" / "d1.restarted").exists()
    assert _result("INC-1", "check-again") == "skipped"  # nothing to verify


def test_rate_limit_allows_one_mitigation_per_model_per_window(serve_ws: Path) -> None:
    marks = serve_ws / "marks"
    with serving(serve_ws) as srv:
        c = srv.client()
        assert c.post(notification([alert("EchoAlert", model="r1")])).status == 200
        assert wait_for(lambda: _finished("INC-1"))
        assert (marks / "r1.restarted").exists()
        (marks / "r1.restarted").unlink()
        ok("incident", "resolve", "INC-1", "-r", "restarted")
        # the same alert fires again: a new incident, but the model had its mitigation this hour
        assert c.post(notification([alert("EchoAlert", model="r1")])).status == 200
        assert wait_for(lambda: _finished("INC-2"))
    rule = _auto("INC-2")[0]
    assert rule["allowed"] is False and rule["rule"].startswith("rate limit: 1 automatic")
    assert not (marks / "r1.restarted").exists()


def test_no_automatic_mitigation_while_another_incident_of_the_model_is_mid_mitigation(
    serve_ws: Path,
) -> None:
    (serve_ws / "runbooks" / "slow-fix.yaml").write_text(SLOW_FIX)
    (serve_ws / "mlsre.yaml").write_text(
        serve_config(
            serve_ws / "marks",
            extra_routes=SLOW_ROUTE,
            alerts_extra="  auto_mitigation: {max_per_model: 10, per: 1h}\n",
        )
    )
    with serving(serve_ws) as srv:
        c = srv.client()
        # an automatic mitigation of m1 is running (INC-1) when INC-2 of m1 wants its own
        assert c.post(notification([alert("SlowFix", model="m1", instance="a")])).status == 200
        assert wait_for(lambda: any(a["allowed"] for a in _auto("INC-1")))
        assert c.post(notification([alert("SlowFix", model="m1", instance="b")])).status == 200
        assert wait_for(lambda: _finished("INC-2"))
        # a person runs a mitigation of m2 by hand (INC-3) while an alert for m2 arrives
        ok_json("incident", "open", "m2 by hand", "-s", "SEV2", "--model", "m2")
        person = subprocess.Popen(
            [
                str(MLSRE),
                "runbook",
                "run",
                "slow-fix",
                "--incident",
                "INC-3",
                "--yes",
                "--non-interactive",
                "-i",
                "model=m2",
                "-i",
                "seconds=4",
            ],
            cwd=serve_ws,
            env=serve_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert wait_for(
                lambda: any(
                    e["kind"] == "step_started" and e["data"]["step"] == "fix"
                    for e in _events("INC-3")
                )
            )
            assert c.post(notification([alert("SlowFix", model="m2", instance="c")])).status == 200
            assert wait_for(lambda: _finished("INC-4"))
        finally:
            assert person.wait(timeout=30) == 0
        assert wait_for(lambda: _finished("INC-1"))
    second = _auto("INC-2")
    assert [a["allowed"] for a in second] == [False]
    assert second[0]["rule"] == "another incident of m1 (INC-1) is mid-mitigation (fix)"
    assert _result("INC-1", "fix") == "passed" and _result("INC-2", "fix") == "skipped"
    fourth = _auto("INC-4")
    assert fourth[0]["allowed"] is False
    assert fourth[0]["rule"] == "another incident of m2 (INC-3) is mid-mitigation (fix)"
