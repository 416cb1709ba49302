"""The server fixtures' own promise: under CI a missing server fails the test, never skips it."""

from __future__ import annotations

import pytest

from tests.support import scenario_fraud
from tests.support.fixtures_servers import missing


def test_missing_server_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="scripts/install-test-servers"):
        missing("prometheus/promtool")


def test_missing_server_skips_on_a_laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        missing("mlflow (.venv-mlflow)")


def test_scenario_is_valid_openmetrics_shape() -> None:
    text = scenario_fraud.openmetrics()
    assert text.endswith("# EOF\n")
    lines = text.splitlines()
    stamps = [int(ln.rsplit(" ", 1)[1]) for ln in lines if not ln.startswith("#")]
    assert min(stamps) == scenario_fraud.START and max(stamps) == scenario_fraud.END  # seconds
    assert any(ln.startswith("model_requests_total{") for ln in lines)
    assert scenario_fraud.P99["4"] / scenario_fraud.P99["3"] == pytest.approx(7.33, abs=0.01)
