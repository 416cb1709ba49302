"""`mlsre serve` as Alertmanager sees it: one real server process per test, real HTTP."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlsre.incident.store import open_store
from tests.support.fixtures_serve import serve_config
from tests.support.helpers import ok_json, run
from tests.support.serve_support import alert, notification, serving, wait_for

pytestmark = pytest.mark.usefixtures("store_backend")  # serve on SQLite and on PostgreSQL


def _events(ws: Path, ref: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = ok_json("incident", "timeline", ref)
    return data


def _finished(ws: Path, ref: str) -> bool:
    return any(e["kind"] == "runbook_finished" for e in _events(ws, ref))


def test_a_notification_opens_one_incident_and_its_diagnosis_is_recorded_like_a_cli_run(
    serve_ws: Path,
) -> None:
    body = notification([alert("EchoAlert", model="m1", annotations={"summary": "p99 up"})])
    with serving(serve_ws) as srv:
        c = srv.client()
        first = c.post(body)
        retry = c.post(body)  # Alertmanager retrying the same notification
        assert first.status == 200, first.body
        assert retry.status == 200, retry.body
        assert first.body["groups"][0]["opened"] is True
        assert retry.body["groups"][0] == {**first.body["groups"][0], "opened": False, "events": []}
        assert wait_for(lambda: _finished(serve_ws, "INC-1"))
    rows = ok_json("incident", "list")
    assert [(r["ref"], r["severity"], r["title"], r["model"]) for r in rows] == [
        ("INC-1", "SEV2", "Echo: m1 p99 up", "m1")
    ]
    events = _events(serve_ws, "INC-1")
    kinds = [e["kind"] for e in events]
    assert kinds[:2] == ["opened", "alert_firing"]
    assert kinds.count("runbook_started") == 1
    results = {e["data"]["step"]: e["data"]["status"] for e in events if e["kind"] == "step_result"}
    # the route allows `restart`: guard rails passed, it ran, so the verify step ran too
    assert results == {"look": "passed", "restart": "passed", "check-again": "passed"}
    assert (serve_ws / "marks" / "m1.restarted").exists()
    auto = [e["data"] for e in events if e["kind"] == "auto_action"]
    assert len(auto) == 1 and auto[0]["allowed"] is True and auto[0]["step"] == "restart"
    assert "auto_mitigate [restart]" in auto[0]["rule"]

    # the same runbook run by a person, unattended, records the same step events
    ok_json("incident", "open", "by hand", "-s", "SEV3", "--model", "m1")
    r = run(
        "runbook",
        "run",
        "echo-check",
        "--incident",
        "INC-2",
        "--non-interactive",
        "-i",
        "model=m1",
        "-i",
        f"marker={serve_ws / 'marks' / 'hand'}",
    )
    assert r.exit_code == 0, r.output
    by_hand = _events(serve_ws, "INC-2")

    def shape(evs: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
        return [
            (e["kind"], e["data"].get("step"), e["data"].get("status"))
            for e in evs
            if e["kind"] in ("runbook_started", "step_started", "step_result")
            and e["data"].get("step") in (None, "look")
        ]

    assert shape(events) == shape(by_hand)
    assert not (serve_ws / "marks" / "hand").exists()  # no --yes: awaiting approval by hand


def test_dedup_still_firing_new_alerts_resolved_and_a_new_incident_after_resolution(
    serve_ws: Path,
) -> None:
    (serve_ws / "mlsre.yaml").write_text(serve_config(serve_ws / "marks", every="1s"))
    a1 = alert("EchoAlert", model="m2", instance="a")
    a2 = alert("EchoAlert", model="m2", instance="b")
    with serving(serve_ws, "--dry-run") as srv:
        c = srv.client()
        assert c.post(notification([a1])).body["groups"][0]["events"] == ["opened", "alert_firing"]
        assert c.post(notification([a1])).body["groups"][0]["events"] == []  # within 1s
        wait_for(lambda: False, timeout_s=1.1)
        assert c.post(notification([a1])).body["groups"][0]["events"] == ["alert_still_firing"]
        both = c.post(notification([a1, a2])).body["groups"][0]
        assert both["events"] == ["alert_firing"] and both["incident"] == "INC-1"
        resolved = [{**a, "status": "resolved"} for a in (a1, a2)]
        assert c.post(notification(resolved)).body["groups"][0]["events"] == [
            "alert_resolved",
            "mitigated",  # the route says auto_mitigate_on_resolve
        ]
        assert c.post(notification(resolved)).body["groups"][0]["events"] == []  # retry
        assert ok_json("incident", "show", "INC-1")["incident"]["status"] == "mitigated"
        # nothing resolves an incident but a person; after that, a new firing opens INC-2
        assert run("incident", "resolve", "INC-1", "-r", "fixed").exit_code == 0
        again = c.post(notification([a1])).body["groups"][0]
        assert again["incident"] == "INC-2" and again["opened"] is True
    inc2 = _events(serve_ws, "INC-2")
    assert inc2[0]["data"]["follows"] == "INC-1"
    firing = [e for e in _events(serve_ws, "INC-1") if e["kind"] == "alert_firing"]
    assert [len(e["data"]["alerts"]) for e in firing] == [1, 1]  # a2 appended, a1 not repeated
    assert firing[1]["data"]["alerts"][0]["labels"]["instance"] == "b"


def test_routing_falls_back_to_runbook_triggers_and_severity_label(serve_ws: Path) -> None:
    body = notification([alert("EchoFallback", model="m3", severity="critical")])
    unrouted = notification([alert("NobodyKnowsMe", model="m3")])
    with serving(serve_ws) as srv:
        c = srv.client()
        assert c.post(body).status == 200
        assert c.post(unrouted).status == 200
        stray = c.post(notification([alert("NeverSeen", status="resolved", model="m3")]))
        assert stray.status == 200
        assert stray.body["groups"][0]["incident"] is None
        assert stray.body["groups"][0]["note"] == "resolved alerts of a group with no incident"
        assert wait_for(lambda: _finished(serve_ws, "INC-1"))
    rows = {r["ref"]: r for r in ok_json("incident", "list")}
    assert rows["INC-1"]["severity"] == "SEV1" and rows["INC-1"]["title"] == "EchoFallback on m3"
    assert rows["INC-2"]["severity"] == "SEV3"  # the default; no runbook: opened, not diagnosed
    assert "runbook_started" not in [e["kind"] for e in _events(serve_ws, "INC-2")]
    # no route named `restart` for this alert: the mitigation waits for a person
    results = {
        e["data"]["step"]: e["data"]["summary"]
        for e in _events(serve_ws, "INC-1")
        if e["kind"] == "step_result"
    }
    assert results["restart"].startswith("awaiting approval")


def test_auth_bad_input_and_size_limit_get_one_line_4xx_and_change_nothing(serve_ws: Path) -> None:
    good = notification([alert("EchoAlert", model="m4")])
    with serving(serve_ws, token="right-token") as srv:
        assert srv.client(token=None).post(good).status == 401
        wrong = srv.client(token="wrong-token").post(good)
        assert wrong.status == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
        c = srv.client()
        cases = {
            b"not json": 400,
            b"[1, 2]": 400,
            json.dumps({**good, "version": "3"}).encode(): 400,
            json.dumps({**good, "alerts": []}).encode(): 400,
            json.dumps({**good, "alerts": [{"status": "firing", "labels": {}}]}).encode(): 400,
            json.dumps({**good, "status": "sideways"}).encode(): 400,
            b"{" + b" " * (2 * 1024 * 1024) + b"}": 413,
        }
        for body, status in cases.items():
            answer = c.post(body)
            assert answer.status == status, (body[:60], answer.body)
            assert "\n" not in answer.body["error"] and answer.body["error"]
        assert ok_json("incident", "list", "--all") == []
        assert c.post(good).status == 200


def test_refuses_a_non_loopback_bind_without_a_token(serve_ws: Path) -> None:
    r = run("serve", "--host", "0.0.0.0", "--port", "1")
    assert r.exit_code == 2
    assert "refusing to listen on 0.0.0.0 without a token" in r.stderr
    assert "MLSRE_SERVE_TOKEN" in r.stderr


def test_json_api_matches_cli_json_and_health_ready_metrics(serve_ws: Path) -> None:
    with serving(serve_ws, "--dry-run") as srv:
        c = srv.client()
        assert c.post(notification([alert("EchoAlert", model="m5")])).status == 200
        assert c.post(notification([alert("EchoAlert", model="m5")])).status == 200
        assert c.post(notification([alert("EchoAlert", model="m6")])).status == 200
        assert c.post(b"garbage").status == 400
        assert wait_for(lambda: _finished(serve_ws, "INC-1") and _finished(serve_ws, "INC-2"))
        assert c.get("/api/v1/incidents").body == ok_json("incident", "list")
        anonymous = srv.client(token=None)
        assert anonymous.get("/api/v1/incidents").status == 401  # incidents need the token
        assert anonymous.get("/api/v1/incidents/INC-1").status == 401
        assert anonymous.get("/healthz").status == 200  # probes and scrapes do not
        api = c.get("/api/v1/incidents/INC-1?events=50").body
        cli = ok_json("incident", "show", "INC-1", "--events", "50")
        assert api["incident"] == cli["incident"] and api["events"] == cli["events"]
        assert set(api["durations"]) == set(cli["durations"])
        assert c.get("/api/v1/incidents/INC-99").status == 404
        assert c.get("/api/v1/incidents/nope").status == 400
        assert c.get("/healthz").body == {"status": "ok"}
        ready = c.get("/readyz")
        assert ready.status == 200 and ready.body["automation"] == "dry-run"

        # the job is marked done just after its last event: wait until the counters say so
        def counted() -> str | None:
            body: str = c.get("/metrics").body
            return body if 'mlsre_serve_diagnoses_total{verdict="healthy"} 2.0' in body else None

        text = wait_for(counted)
        assert text, "two diagnoses never counted"
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
    assert samples[("mlsre_serve_alerts_received_total", (("status", "firing"),))] == 3
    assert samples[("mlsre_serve_incidents_opened_total", ())] == 2
    assert samples[("mlsre_serve_duplicates_folded_total", ())] == 1
    assert samples[("mlsre_serve_notifications_total", (("outcome", "rejected"),))] == 1
    assert samples[("mlsre_serve_diagnoses_total", (("verdict", "healthy"),))] == 2
    assert samples[("mlsre_serve_auto_mitigations_total", (("decision", "blocked"),))] == 2
    key = (
        "mlsre_serve_request_duration_seconds_count",
        (("method", "POST"), ("route", "/api/v1/alerts/alertmanager")),
    )
    assert samples[key] == 4
    assert samples[("mlsre_serve_diagnosis_queue", (("state", "queued"),))] == 0
    assert samples[("mlsre_serve_diagnosis_queue", (("state", "running"),))] == 0
    store = open_store(
        os.environ.get("MLSRE_STORE_URL") or f"sqlite:///{serve_ws / '.mlsre' / 'mlsre.db'}"
    )
    try:
        assert [j.state for j in store.jobs()] == ["done", "done"]
    finally:
        store.close()


def test_a_port_in_use_is_a_one_line_error_not_a_crash(serve_ws: Path) -> None:
    import socket
    import subprocess

    from tests.support.serve_support import MLSRE, serve_env

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run(
            [str(MLSRE), "serve", "--port", str(port)],
            cwd=serve_ws,
            env=serve_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 1, r.stderr
    assert f"error: cannot listen on 127.0.0.1:{port}: address in use" in r.stderr
    assert "listening on" not in r.stderr and "Traceback" not in r.stderr


def test_a_route_or_store_that_cannot_work_stops_serve_at_start(serve_ws: Path) -> None:

    broken = '    - {name: broken, match: {alertname: X}, title: "{{ labels.model "}\n'
    (serve_ws / "mlsre.yaml").write_text(serve_config(serve_ws / "marks", extra_routes=broken))
    r = run("serve", "--port", "1")
    assert r.exit_code == 1
    assert "alerts.routes[0] (broken).title: template syntax error" in r.stderr
    unknown = "    - {name: typo, match: {alertname: X}, runbook: no-such-runbook}\n"
    (serve_ws / "mlsre.yaml").write_text(serve_config(serve_ws / "marks", extra_routes=unknown))
    r = run("serve", "--port", "1")
    assert r.exit_code == 1 and "alerts.routes[0] (typo): no runbook 'no-such-runbook'" in r.stderr
    (serve_ws / "mlsre.yaml").write_text(serve_config(serve_ws / "marks"))
    (serve_ws / "not-a-dir").write_text("a file")
    r = run("--store", f"sqlite:///{serve_ws / 'not-a-dir' / 'db'}", "serve", "--port", "1")
    assert r.exit_code == 1 and r.stderr.startswith("error: cannot create incident store folder")
