"""The Prometheus client against a real Prometheus serving the fraud scenario."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from mlsre.errors import UsageError
from mlsre.integrations.http import FailureKind, HttpFailure
from mlsre.integrations.prometheus import PrometheusClient, parse_value
from mlsre.settings import PrometheusSettings
from tests.support.fixtures_servers import PromServer

P99 = (
    "histogram_quantile(0.99, sum by (le, version) "
    "(rate(model_request_duration_seconds_bucket[5m])))"
)
ERRORS = 'sum(rate(model_requests_total{code="500"}[5m])) / sum(rate(model_requests_total[5m]))'

pytestmark = pytest.mark.prometheus


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@pytest.fixture
def client(prometheus_server: PromServer) -> PrometheusClient:
    return PrometheusClient(PrometheusSettings(url=prometheus_server.url, timeout_s=10))


def test_p99_by_version_before_and_after_the_rollout(
    client: PrometheusClient, prometheus_server: PromServer
) -> None:
    t = prometheus_server.times
    before = client.query(P99, at(t.before))
    assert [s.labels for s in before.samples] == [{"version": "3"}]
    assert before.samples[0].value == pytest.approx(prometheus_server.p99["3"], rel=1e-6)
    after = client.query(P99, at(t.after))
    assert [s.labels for s in after.samples] == [{"version": "4"}]
    assert after.samples[0].value == pytest.approx(prometheus_server.p99["4"], rel=1e-6)
    assert after.samples[0].value / before.samples[0].value > 7


def test_error_ratio_rises(client: PrometheusClient, prometheus_server: PromServer) -> None:
    t = prometheus_server.times
    assert client.query(ERRORS, at(t.before)).samples[0].value == pytest.approx(0.005, rel=1e-6)
    assert client.query(ERRORS, at(t.after)).samples[0].value == pytest.approx(0.05, rel=1e-6)


def test_empty_result_is_data_not_an_error(
    client: PrometheusClient, prometheus_server: PromServer
) -> None:
    result = client.query(
        'model_feature_psi{feature="no-such-feature"}', at(prometheus_server.times.after)
    )
    assert result.empty and result.result_type == "vector" and result.samples == []


def test_nan_and_inf_values_are_floats(
    client: PrometheusClient, prometheus_server: PromServer
) -> None:
    t = prometheus_server.times.after
    assert math.isnan(client.query("0/0", at(t)).samples[0].value)
    assert client.query("1/0", at(t)).samples[0].value == math.inf
    assert client.query("-1/0", at(t)).samples[0].value == -math.inf
    assert math.isnan(parse_value("garbage"))


def test_range_query_returns_series(
    client: PrometheusClient, prometheus_server: PromServer
) -> None:
    t = prometheus_server.times
    result = client.query_range(
        'model_feature_null_ratio{feature="country"}', at(t.t0), at(t.end), 300
    )
    assert len(result.series) == 1
    values = [v for _, v in result.series[0].points]
    assert values[0] == 0.0 and values[-1] == pytest.approx(0.42)
    assert len(values) == 13


def test_promql_parse_error_names_the_query(
    client: PrometheusClient, prometheus_server: PromServer
) -> None:
    bad = "sum(rate(model_requests_total[5m])"
    with pytest.raises(HttpFailure) as exc:
        client.query(bad, at(prometheus_server.times.after))
    msg = str(exc.value)
    assert msg.startswith("PromQL error: 1:35: parse error: unclosed left parenthesis")
    assert bad in msg and "\n" not in msg
    assert exc.value.attempts == 1  # a 400 is not retried


def test_execution_error_422(client: PrometheusClient, prometheus_server: PromServer) -> None:
    with pytest.raises(HttpFailure) as exc:
        client.query(
            "model_requests_total + on(model) model_feature_psi", at(prometheus_server.times.after)
        )
    assert exc.value.status == 422
    assert "could not execute the query" in str(exc.value) and "many-to-many" in str(exc.value)


def test_too_many_points_refused_before_sending(
    client: PrometheusClient, prometheus_server: PromServer
) -> None:
    t = prometheus_server.times
    with pytest.raises(UsageError, match="11000"):
        client.query_range("up", at(t.start), at(t.end), 1)


def test_buildinfo(client: PrometheusClient) -> None:
    assert client.buildinfo()["version"].startswith("2.")


def test_unreachable_kind(prometheus_server: PromServer) -> None:
    from tests.support.faulty_server import refused_url

    c = PrometheusClient(PrometheusSettings(url=refused_url(), retries=1, backoff_s=0))
    with pytest.raises(HttpFailure) as exc:
        c.query("up")
    assert exc.value.kind is FailureKind.UNREACHABLE and exc.value.attempts == 2
