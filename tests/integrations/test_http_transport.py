"""The shared HTTP layer: auth from the environment, extra headers, TLS, replay edge cases."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from mlsre.integrations.http import FailureKind, HttpFailure, Request
from mlsre.integrations.prometheus import PrometheusClient
from mlsre.integrations.recording import RecordingTransport, ReplayTransport, exchange_to_json
from mlsre.settings import PrometheusSettings
from tests.support.faulty_server import FaultyServer

AT = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)


def echoed(faulty: FaultyServer, **settings: object) -> dict[str, str]:
    client = PrometheusClient(PrometheusSettings(url=faulty.url + "/echo", **settings))
    return client.query("up", AT).samples[0].labels


def test_bearer_token_from_the_environment(
    faulty: FaultyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSRE_PROMETHEUS_TOKEN", "tok-123456")
    assert echoed(faulty)["authorization"] == "Bearer tok-123456"


def test_basic_auth_from_the_environment(
    faulty: FaultyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSRE_PROMETHEUS_USERNAME", "oncall")
    monkeypatch.setenv("MLSRE_PROMETHEUS_PASSWORD", "pa55word")
    expected = "Basic " + base64.b64encode(b"oncall:pa55word").decode()
    assert echoed(faulty)["authorization"] == expected


def test_no_credentials_no_header_and_extra_headers_sent(faulty: FaultyServer) -> None:
    labels = echoed(faulty, headers={"X-Scope-OrgID": "team-risk"})
    assert labels == {"x-scope-orgid": "team-risk"}


def test_https_to_a_plain_http_server_is_a_tls_error(faulty: FaultyServer) -> None:
    client = PrometheusClient(PrometheusSettings(url=faulty.url.replace("http:", "https:") + "/ok"))
    with pytest.raises(HttpFailure) as exc:
        client.query("up", AT)
    assert exc.value.kind is FailureKind.TLS and str(exc.value).startswith(
        "TLS error talking to Prometheus"
    )


def test_recorded_exchange_drops_userinfo_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlsre.integrations.http import Response

    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "hunter2-secret")
    request = Request(
        method="POST",
        url="http://admin:hunter2-secret@127.0.0.1:5000/api/2.0/mlflow/registered-models/alias",
        json_body={"name": "m", "note": "hunter2-secret"},
        headers={"Authorization": "Basic xyz"},
    )
    response = Response(200, {"Content-Type": "application/json"}, b'{"echo": "hunter2-secret"}')
    text = json.dumps(exchange_to_json(request, response, None))
    assert "hunter2-secret" not in text and "admin" not in text and "Basic xyz" not in text


def test_replay_of_an_unrecorded_request_says_so(faulty: FaultyServer) -> None:
    recorder = RecordingTransport()
    client = PrometheusClient(PrometheusSettings(url=faulty.url + "/ok"), recorder)
    client.query("up", AT)
    replay = PrometheusClient(
        PrometheusSettings(url=faulty.url + "/ok"), ReplayTransport(recorder.take())
    )
    assert replay.query("up", AT).samples[0].value == 0.5
    assert replay.query("up", AT).samples[0].value == 0.5  # the last answer repeats
    with pytest.raises(HttpFailure) as exc:
        replay.query("down", AT)
    assert exc.value.kind is FailureKind.REPLAY
    assert str(exc.value).startswith(
        "replay: no recorded response for GET /ok/api/v1/query?query=down"
    )


def test_replay_reproduces_a_recorded_failure(faulty: FaultyServer) -> None:
    recorder = RecordingTransport()
    settings = PrometheusSettings(url=faulty.url + "/html404", retries=0)
    with pytest.raises(HttpFailure) as live:
        PrometheusClient(settings, recorder).query("up", AT)
    with pytest.raises(HttpFailure) as replayed:
        PrometheusClient(settings, ReplayTransport(recorder.take())).query("up", AT)
    assert str(replayed.value) == str(live.value)


def test_mlflow_token_and_basic_auth(faulty: FaultyServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlsre.integrations.mlflow import MlflowClient
    from mlsre.settings import RegistrySettings

    client = MlflowClient(RegistrySettings(url=faulty.url + "/echo"))

    def sent() -> str:
        # the echo server answers in Prometheus's shape, which MlflowClient.call rightly refuses
        request = client.request("GET", "/api/2.0/mlflow/registered-models/get", [("name", "m")])
        data = json.loads(client.transport.send(request).body)
        return str(data["data"]["result"][0]["metric"]["authorization"])

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ml")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw-9876")
    assert sent() == "Basic " + base64.b64encode(b"ml:pw-9876").decode()
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "mlflow-tok")
    assert sent() == "Bearer mlflow-tok"  # a token wins over username/password
