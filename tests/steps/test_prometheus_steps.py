"""prometheus.query / .range / .compare step kinds against the real scenario server."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlsre.integrations.recording import RecordingTransport, ReplayTransport
from mlsre.settings import PrometheusSettings, Settings
from mlsre.steps.base import StepContext, StepStatus
from mlsre.steps.prometheus.kinds import (
    Baseline,
    PrometheusCompare,
    PrometheusQuery,
    PrometheusRange,
)
from tests.support.fixtures_servers import PromServer

pytestmark = pytest.mark.prometheus
P99 = (
    "histogram_quantile(0.99, sum by (le, version) "
    "(rate(model_request_duration_seconds_bucket[5m])))"
)


def ctx_at(server: PromServer, ts: int, **kw: object) -> StepContext:
    settings = Settings(prometheus=PrometheusSettings(url=server.url, retries=0))
    return StepContext(settings=settings, at=datetime.fromtimestamp(ts, UTC), **kw)  # type: ignore[arg-type]


def test_query_samples_and_table(prometheus_server: PromServer) -> None:
    kind = PrometheusQuery()
    params = kind.parse({"query": P99})
    result = kind.run(params, ctx_at(prometheus_server, prometheus_server.times.after))
    assert result.status is None  # the engine judges `expect` over the samples
    assert [s["labels"] for s in result.samples] == [{"version": "4"}]
    assert result.samples[0]["value"] == pytest.approx(prometheus_server.p99["4"])
    assert result.output["value"] == pytest.approx(prometheus_server.p99["4"])
    assert result.output["table"]["rows"][0][0] == "version=4"
    assert result.evidence["data"]["resultType"] == "vector"


def test_query_relative_time_param(prometheus_server: PromServer) -> None:
    kind = PrometheusQuery()
    params = kind.parse({"query": P99, "time": "-1h"})
    result = kind.run(params, ctx_at(prometheus_server, prometheus_server.times.after))
    assert [s["labels"]["version"] for s in result.samples] == ["3"]


def test_query_error_is_a_step_error_with_one_line(prometheus_server: PromServer) -> None:
    kind = PrometheusQuery()
    params = kind.parse({"query": "sum(rate(x[5m])"})
    result = kind.run(params, ctx_at(prometheus_server, prometheus_server.times.after))
    assert result.status is StepStatus.ERROR
    assert result.summary.startswith("PromQL error:") and "\n" not in result.summary


def test_range_summary_and_sparkline(prometheus_server: PromServer) -> None:
    kind = PrometheusRange()
    params = kind.parse(
        {"query": 'model_feature_psi{feature="amount"}', "start": "-1h", "end": "now", "step": "5m"}
    )
    result = kind.run(params, ctx_at(prometheus_server, prometheus_server.times.end))
    (sample,) = result.samples
    assert sample["last"] == pytest.approx(0.35) and sample["min"] == pytest.approx(0.03)
    assert sample["max"] == pytest.approx(0.35) and sample["points"] == 13
    assert sample["sparkline"][0] == "▁" and sample["sparkline"][-1] == "█"
    assert len(result.output["series"][0]["points"]) == 13


def test_compare_offset(prometheus_server: PromServer) -> None:
    kind = PrometheusCompare()
    params = kind.parse({"query": P99, "baseline": "offset", "offset": "1h"})
    result = kind.run(params, ctx_at(prometheus_server, prometheus_server.times.after))
    (s,) = result.samples
    expected = prometheus_server.p99["4"] / prometheus_server.p99["3"]
    assert s["ratio"] == pytest.approx(expected) and s["value"] == s["ratio"]
    assert s["delta"] == pytest.approx(prometheus_server.p99["4"] - prometheus_server.p99["3"])
    assert s["baseline_labels"] == {"version": "3"}


def test_compare_before_the_version_change(prometheus_server: PromServer) -> None:
    kind = PrometheusCompare()
    params = kind.parse(
        {
            "query": P99,
            "baseline": Baseline.VERSION_CHANGE,
            "model": "fraud-detector",
            "lookback": "2h",
        }
    )
    result = kind.run(params, ctx_at(prometheus_server, prometheus_server.times.after))
    assert result.status is None, result.summary
    assert result.output["version"] == "4" and result.output["previous_version"] == "3"
    changed = datetime.fromisoformat(result.output["changed_at"].replace("Z", "+00:00")).timestamp()
    assert prometheus_server.times.t0 <= changed < prometheus_server.times.t0 + 60
    assert result.samples[0]["ratio"] > 7


def test_compare_before_the_incident(prometheus_server: PromServer) -> None:
    kind = PrometheusCompare()
    t = prometheus_server.times
    params = kind.parse({"query": P99, "baseline": "incident", "margin": "0s"})
    started = datetime.fromtimestamp(t.t0 - 600, UTC).isoformat()
    result = kind.run(params, ctx_at(prometheus_server, t.after, incident={"started_at": started}))
    assert result.samples[0]["ratio"] == pytest.approx(
        prometheus_server.p99["4"] / prometheus_server.p99["3"]
    )
    no_incident = kind.run(params, ctx_at(prometheus_server, t.after))
    assert no_incident.status is StepStatus.ERROR and "needs an incident" in no_incident.summary


def test_record_then_replay_without_a_server(prometheus_server: PromServer, tmp_path: Path) -> None:
    kind = PrometheusCompare()
    params = kind.parse({"query": P99, "offset": "1h"})
    recorder = RecordingTransport()
    live = kind.run(
        params, ctx_at(prometheus_server, prometheus_server.times.after, transport=recorder)
    )
    exchanges = recorder.take()
    assert len(exchanges) == 2
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps({"steps": [{"evidence": {"http": exchanges}}]}))
    dead = Settings(prometheus=PrometheusSettings(url="http://127.0.0.1:9", retries=0))
    ctx = StepContext(settings=dead, at=datetime.fromtimestamp(prometheus_server.times.after, UTC))
    ctx.transport = ReplayTransport.from_file(path)
    replayed = kind.run(params, ctx)
    assert replayed.samples == live.samples
    assert not math.isnan(replayed.samples[0]["ratio"])


def test_recorded_evidence_holds_no_secret(
    prometheus_server: PromServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSRE_PROMETHEUS_TOKEN", "s3cr3t-token-value")
    recorder = RecordingTransport()
    kind = PrometheusQuery()
    params = kind.parse({"query": 'up{job="s3cr3t-token-value"}'})
    kind.run(params, ctx_at(prometheus_server, prometheus_server.times.after, transport=recorder))
    text = json.dumps(recorder.take())
    assert "s3cr3t-token-value" not in text and "Authorization" not in text and "***" in text
