"""A real Prometheus backfilled with the SLO scenario, whose numbers are known by construction.

Scenario (one sample a minute, 100 requests a minute, from ``START`` for 48 hours): no request
fails except in the hour ``[E0, E1]``, when 1 in 100 does (1% errors). Feature ``amount`` is 1%
null except in that same hour (samples ``E0`` .. ``E1`` inclusive), when it is 50% null.

Starting Prometheus reuses the primitives of :mod:`tests.support.fixtures_servers` (port, readiness,
process-group stop, fail-under-CI); only the data differs from its fraud scenario.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.fixtures_servers import backfilled_prometheus, missing

START = 1795500000 - 1795500000 % 3600  # an hour boundary in late 2026
E0 = START + 24 * 3600  # errors start
E1 = E0 + 3600  # errors stop
END = START + 48 * 3600
STEP = 60
PER_STEP = 100  # requests per minute


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def scenario_openmetrics() -> str:
    lines = [
        "# HELP model_requests Prediction requests by status code.",
        "# TYPE model_requests counter",
    ]
    ok = bad = 0
    ok_lines, bad_lines, null_lines = [], [], []
    for t in range(START, END + 1, STEP):
        if E0 < t <= E1:
            bad += 1
            ok += PER_STEP - 1
        elif t > START:
            ok += PER_STEP
        ok_lines.append(f'model_requests_total{{model="slo-demo",code="200"}} {ok} {t}')
        bad_lines.append(f'model_requests_total{{model="slo-demo",code="500"}} {bad} {t}')
        null = 0.5 if E0 <= t <= E1 else 0.01
        null_lines.append(
            f'model_feature_null_ratio{{model="slo-demo",feature="amount"}} {null} {t}'
        )
    lines += ok_lines + bad_lines
    lines += ["# TYPE model_feature_null_ratio gauge", *null_lines, "# EOF"]
    return "\n".join(lines) + "\n"


@dataclass
class SloPrometheus:
    url: str


@pytest.fixture(scope="session")
def slo_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SloPrometheus]:
    root = tmp_path_factory.mktemp("slo-prometheus")
    with backfilled_prometheus(root, scenario_openmetrics()) as url:
        yield SloPrometheus(url=url)


def promtool_path() -> str:
    path = shutil.which("promtool")
    if not path:
        missing("promtool")
    assert path
    return path


SCENARIO_SLOS = """\
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom}
spec: {type: Prometheus}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: demo-non-5xx}
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        metricSourceRef: prom
        spec: {query: 'model_requests_total{model="slo-demo",code=~"5.."}'}
    total:
      metricSource:
        metricSourceRef: prom
        spec: {query: 'model_requests_total{model="slo-demo"}'}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: demo-availability}
spec:
  service: slo-demo
  indicatorRef: demo-non-5xx
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: demo-availability-strict}
spec:
  service: slo-demo
  indicator:
    metadata: {name: demo-good}
    spec:
      ratioMetric:
        good:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(model_requests_total{model="slo-demo",code!~"5.."}[{{.window}}]))
        total:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(rate(model_requests_total{model="slo-demo"}[{{ .window }}]))'}
  timeWindow: [{duration: 30d, isRolling: true}]
  objectives: [{targetPercent: 99.95}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: demo-feature-nulls}
spec:
  service: slo-demo
  indicator:
    metadata: {name: demo-null-ratio}
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec: {query: 'max(model_feature_null_ratio{model="slo-demo"})'}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Timeslices
  objectives: [{op: lte, value: 0.05, target: 0.99, timeSliceTarget: 1, timeSliceWindow: 5m}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: demo-good-minutes}
spec:
  service: slo-demo
  indicatorRef: demo-non-5xx
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Timeslices
  objectives: [{target: 0.9, timeSliceTarget: 0.995, timeSliceWindow: 5m}]
"""


@pytest.fixture
def slo_workspace(tmp_path: Path, slo_prometheus: SloPrometheus) -> Path:
    """A workspace (mlsre.yaml + slos/) pointing at the scenario Prometheus; returns its folder."""
    ws = tmp_path / "ws"
    (ws / "slos").mkdir(parents=True)
    (ws / "slos" / "demo.yaml").write_text(SCENARIO_SLOS)
    (ws / "mlsre.yaml").write_text(
        f"prometheus: {{url: {slo_prometheus.url}, timeout_s: 20, retries: 0}}\nslo_paths: [./slos]\n"
    )
    return ws
