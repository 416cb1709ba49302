"""Every fault from issue 5, through our own misbehaving server: one clear line, no hang."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mlsre.errors import IntegrationError
from mlsre.integrations.http import FailureKind, HttpFailure
from mlsre.integrations.mlflow import MlflowClient
from mlsre.integrations.prometheus import PrometheusClient
from mlsre.settings import PrometheusSettings, RegistrySettings, Settings
from mlsre.steps.base import StepContext, StepKind, StepStatus
from mlsre.steps.model_registry.kinds import RegistryVersions
from mlsre.steps.prometheus.kinds import PrometheusQuery
from tests.support.faulty_server import FaultyServer, refused_url

AT = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)


def prom(url: str, retries: int = 3, timeout_s: float = 0.5) -> PrometheusClient:
    return PrometheusClient(
        PrometheusSettings(url=url, retries=retries, timeout_s=timeout_s, backoff_s=0)
    )


def registry(url: str, retries: int = 3) -> MlflowClient:
    return MlflowClient(RegistrySettings(url=url, retries=retries, timeout_s=0.5, backoff_s=0))


def failure(fn: object, *args: object) -> HttpFailure:
    with pytest.raises(HttpFailure) as exc:
        fn(*args)  # type: ignore[operator]
    message = str(exc.value)
    assert "\n" not in message and "Traceback" not in message and len(message) < 300
    return exc.value


def test_refused_is_unreachable_after_bounded_retries() -> None:
    err = failure(prom(refused_url(), retries=2).query, "up", AT)
    assert err.kind is FailureKind.UNREACHABLE and err.attempts == 3
    assert "cannot reach Prometheus at http://127.0.0.1:" in str(err)
    assert "connection refused" in str(err) and "after 3 attempts" in str(err)
    assert err.hint and "running" in err.hint


def test_hang_past_the_timeout_is_a_timeout_not_retried(faulty: FaultyServer) -> None:
    err = failure(prom(faulty.url + "/hang", timeout_s=0.3).query, "up", AT)
    assert err.kind is FailureKind.TIMEOUT and err.attempts == 1
    assert str(err).endswith("did not answer within 0.3s (total deadline)")
    assert faulty.hits["hang"] == 1


def test_500_then_success_retries(faulty: FaultyServer) -> None:
    result = prom(faulty.url + "/flaky").query("up", AT)
    assert result.samples[0].value == 0.5
    assert result.attempts == 3 and faulty.hits["flaky"] == 3


def test_503_forever_is_bounded(faulty: FaultyServer) -> None:
    err = failure(prom(faulty.url + "/unavailable", retries=3).query, "up", AT)
    assert faulty.hits["unavailable"] == 4 and err.attempts == 4
    assert err.status == 503 and err.kind is FailureKind.HTTP
    assert "answered HTTP 503 (after 4 attempts): Service Unavailable" in str(err)


def test_no_retries_means_one_request(faulty: FaultyServer) -> None:
    failure(prom(faulty.url + "/unavailable", retries=0).query, "up", AT)
    assert faulty.hits["unavailable"] == 1


def test_html_404_is_named(faulty: FaultyServer) -> None:
    err = failure(prom(faulty.url + "/html404").query, "up", AT)
    assert err.kind is FailureKind.HTML and err.status == 404
    assert "answered an HTML page (HTTP 404) where JSON was expected" in str(err)
    assert faulty.hits["html404"] == 1  # a 404 is not retried


def test_html_200_login_page_is_named(faulty: FaultyServer) -> None:
    err = failure(registry(faulty.url + "/html200").get_model, "fraud-detector")
    assert err.kind is FailureKind.HTML and "MLflow at" in str(err)


def test_truncated_json_is_named(faulty: FaultyServer) -> None:
    err = failure(prom(faulty.url + "/truncated").query, "up", AT)
    assert err.kind is FailureKind.BAD_JSON and "answered truncated JSON (HTTP 200" in str(err)


def test_plain_text_403_is_an_auth_failure(faulty: FaultyServer) -> None:
    err = failure(registry(faulty.url + "/forbidden").get_model, "fraud-detector")
    assert err.kind is FailureKind.AUTH and err.status == 403
    assert (
        "refused access: HTTP 403 forbidden: Invalid Host header - possible DNS rebinding"
        in str(err)
    )
    assert err.hint and "credentials" in err.hint


def test_response_cut_off_mid_body(faulty: FaultyServer) -> None:
    err = failure(prom(faulty.url + "/cutoff", retries=1).query, "up", AT)
    assert err.kind is FailureKind.BAD_JSON and err.attempts == 2 and faulty.hits["cutoff"] == 2
    assert "cut its response short (response cut off) after 2 attempts" in str(err)


def test_mlflow_500_then_success(faulty: FaultyServer) -> None:
    model = registry(faulty.url + "/flaky").get_model("fraud-detector")
    assert model.name == "fraud-detector" and faulty.hits["flaky"] == 3


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("hang", "did not answer within"),
        ("unavailable", "answered HTTP 503"),
        ("html404", "HTML page"),
        ("truncated", "truncated JSON"),
        ("forbidden", "refused access"),
    ],
)
def test_steps_turn_faults_into_step_errors(faulty: FaultyServer, mode: str, expected: str) -> None:
    settings = Settings(
        prometheus=PrometheusSettings(
            url=f"{faulty.url}/{mode}", timeout_s=0.3, retries=1, backoff_s=0
        ),
        registry=RegistrySettings(
            url=f"{faulty.url}/{mode}", timeout_s=0.3, retries=1, backoff_s=0
        ),
    )
    ctx = StepContext(settings=settings, at=AT)
    kinds: tuple[tuple[StepKind[Any], dict[str, str]], ...] = (
        (PrometheusQuery(), {"query": "up"}),
        (RegistryVersions(), {"model": "fraud-detector"}),
    )
    for kind, params in kinds:
        result = kind.run(kind.parse(params), ctx)
        assert result.status is StepStatus.ERROR
        assert expected in result.summary and "\n" not in result.summary
        assert result.evidence["error"] == result.summary


def test_http_failure_is_an_integration_error() -> None:
    assert issubclass(HttpFailure, IntegrationError)
