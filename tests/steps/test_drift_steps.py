"""The drift.compare, data.check and drift.prometheus step kinds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from mlsre.drift.samples import sample_paths
from mlsre.settings import PrometheusSettings, Settings
from mlsre.steps.base import StepContext, StepStatus
from mlsre.steps.catalog import default_catalog
from mlsre.steps.drift.kinds import DataCheck, DriftCompare, PrometheusDrift
from tests.support import scenario_fraud as scenario
from tests.support.fixtures_drift import Writer
from tests.support.fixtures_servers import PromServer


def _ctx(url: str = "http://127.0.0.1:9", at: int | None = None) -> StepContext:
    settings = Settings(prometheus=PrometheusSettings(url=url, retries=0))
    when = datetime.fromtimestamp(at, UTC) if at is not None else None
    return StepContext(settings=settings, at=when)


def test_kinds_are_registered() -> None:
    names = default_catalog().names()
    assert {"drift.compare", "data.check", "drift.prometheus"} <= set(names)


def test_drift_compare_step_fails_on_the_drifted_sample() -> None:
    ref, cur = sample_paths()
    kind = DriftCompare()
    params = kind.parse({"reference": str(ref), "current": str(cur)})
    result = kind.run(params, _ctx())
    assert result.status is StepStatus.FAILED
    assert "columns drifted" in result.summary and "DRIFT" in result.summary
    by_column = {s["labels"]["column"]: s for s in result.samples}
    assert by_column["account_age_days"]["drifted"] and not by_column["country"]["drifted"]
    assert result.output["dataset_drift"] is True
    same = kind.run(kind.parse({"reference": str(ref), "current": str(ref)}), _ctx())
    assert same.status is StepStatus.PASSED


def test_drift_compare_step_any_column_and_bad_file(tmp_path: Path, write: Writer) -> None:
    rng = np.random.default_rng(3)
    ref = write(
        "ref.csv", a=rng.normal(size=2000), b=rng.normal(size=2000), c=rng.normal(size=2000)
    )
    cur = write(
        "cur.csv", a=rng.normal(1.0, 1, 2000), b=rng.normal(size=2000), c=rng.normal(size=2000)
    )
    kind = DriftCompare()
    base = {"reference": str(ref), "current": str(cur)}
    assert kind.run(kind.parse(base), _ctx()).status is StepStatus.PASSED  # 1 of 3
    strict = kind.parse({**base, "fail_on": "any_column"})
    assert kind.run(strict, _ctx()).status is StepStatus.FAILED
    missing = kind.parse({**base, "current": str(tmp_path / "nope.csv")})
    result = kind.run(missing, _ctx())
    assert result.status is StepStatus.ERROR and "no such file" in result.summary


def test_data_check_step() -> None:
    ref, cur = sample_paths()
    kind = DataCheck()
    result = kind.run(kind.parse({"current": str(cur), "reference": str(ref)}), _ctx())
    assert result.status is StepStatus.FAILED and "device_score" in result.summary
    clean = kind.run(kind.parse({"current": str(ref), "reference": str(ref)}), _ctx())
    assert clean.status is StepStatus.PASSED
    with pytest.raises(ValueError, match="not both"):
        kind.parse({"current": "a.csv", "reference": "b.csv", "schema": "s.yaml"})


def _expected_psi(before: list[float], after: list[float]) -> float:
    ref = np.diff([0.0, *before])
    cur = np.diff([0.0, *after])
    ref = np.where(ref <= 0, 1e-4, ref)
    cur = np.where(cur <= 0, 1e-4, cur)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


@pytest.mark.prometheus
def test_prometheus_histogram_drift(prometheus_server: PromServer) -> None:
    kind = PrometheusDrift()
    t = prometheus_server.times
    params = kind.parse(
        {
            "metric": "model_prediction_score",
            "selector": 'model="fraud-detector"',
            "window": "30m",
            "reference_end": str(t.before),
        }
    )
    result = kind.run(params, _ctx(prometheus_server.url, t.drifted))
    assert result.status is StepStatus.FAILED, result.summary
    want = _expected_psi(scenario.SCORE_CUM["3"], scenario.SCORE_CUM["4"])
    assert result.output["statistic"] == pytest.approx(want, rel=1e-4)
    assert result.output["buckets"][-1] == "+Inf"
    assert sum(result.output["current_shares"]) == pytest.approx(1.0)
    # two windows of the same healthy version: no drift
    healthy = kind.parse(
        {"metric": "model_prediction_score", "window": "30m", "reference_offset": "1h"}
    )
    calm = kind.run(healthy, _ctx(prometheus_server.url, t.before))
    assert calm.status is StepStatus.PASSED, calm.summary
    assert calm.output["statistic"] < 1e-6
    js = kind.parse({**params.model_dump(), "method": "js"})
    assert kind.run(js, _ctx(prometheus_server.url, t.drifted)).output["statistic"] > 0.1


@pytest.mark.prometheus
def test_prometheus_histogram_drift_without_data_is_an_error(prometheus_server: PromServer) -> None:
    kind = PrometheusDrift()
    params = kind.parse({"metric": "no_such_histogram"})
    result = kind.run(params, _ctx(prometheus_server.url, prometheus_server.times.after))
    assert result.status is StepStatus.ERROR
    assert "no no_such_histogram histogram data" in result.summary


def test_prometheus_down_is_an_error_not_a_failure() -> None:
    kind = PrometheusDrift()
    params = kind.parse({"metric": "model_prediction_score"})
    result = kind.run(params, _ctx("http://127.0.0.1:9"))
    assert result.status is StepStatus.ERROR
    assert result.summary and "\n" not in result.summary
    assert result.evidence["error_type"] == "HttpFailure" or "error" in result.evidence
