"""`mlsre serve` as the other issues need it: CI/CD pipelines record changes with
POST /api/v1/changes, and an incident an alert opens is paged by its escalation policy, the
outbox delivered by serve itself (no cron)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.helpers import ok_json
from tests.support.notify_receivers import Receiver
from tests.support.serve_support import alert, notification, serve_env, serving, wait_for

PD_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()


def test_a_pipeline_records_a_change_and_bad_ones_are_refused(serve_ws: Path) -> None:
    with serving(serve_ws, token="right-token") as srv:
        c = srv.client()
        body = {"summary": "deploy fraud-detector v5", "kind": "model", "model": "fraud-detector"}
        created = c.request("POST", "/api/v1/changes", json.dumps(body).encode())
        assert created.status == 201, created.body
        assert created.body["summary"] == "deploy fraud-detector v5" and created.body["id"] == 1
        for bad, why in (
            (b"nope", "not JSON"),
            (json.dumps({"summary": "x", "kind": "weather"}).encode(), "kind: one of"),
            (json.dumps({"kind": "code"}).encode(), "summary"),
            (json.dumps({**body, "extra": 1}).encode(), "unknown field"),
        ):
            answer = c.request("POST", "/api/v1/changes", bad)
            assert answer.status == 400 and why in answer.body["error"], answer.body
        denied = srv.client(token="wrong").request(
            "POST", "/api/v1/changes", json.dumps(body).encode()
        )
        assert denied.status == 401
    rows = ok_json("change", "list", "--since", "-1h")
    assert [r["summary"] for r in rows] == ["deploy fraud-detector v5"]
    assert rows[0]["actor"] == "mlsre serve"


def test_an_alert_opened_incident_is_paged_by_serve(
    serve_ws: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSRE_PD_ROUTING_KEY", PD_KEY)
    with (serve_ws / "mlsre.yaml").open("a", encoding="utf-8") as f:
        f.write(
            "notify:\n"
            f"  channels: {{oncall: {{type: pagerduty, routing_key_env: MLSRE_PD_ROUTING_KEY,"
            f" url: '{receiver.url}/pagerduty'}}}}\n"
            "escalation:\n"
            "  policies: [{name: ml, match: {severity: [SEV2]}, levels: [{notify: [oncall]}]}]\n"
        )
    env = serve_env("t0ken", MLSRE_PD_ROUTING_KEY=PD_KEY)  # serve's own environment has the key
    with serving(serve_ws, token="t0ken", env=env) as srv:
        assert srv.client().post(notification([alert("EchoAlert", model="m7")])).status == 200
        got = wait_for(lambda: [a.body for a in receiver.of("/pagerduty")], timeout_s=20)
    assert [b["event_action"] for b in got] == ["trigger"], got
    assert got[0]["payload"]["summary"].startswith("[SEV2] INC-1: Echo: m7")
    assert receiver.invalid == []
    assert ok_json("notify", "list")[0]["status"] == "sent"
