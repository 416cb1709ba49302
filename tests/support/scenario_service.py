"""A second metric layout, one the bundled runbooks were NOT written for (preflight's test bed).

The same fraud-detector service, exported by a team with other conventions:

- requests: ``inference_requests_total{service, status}``: no ``version`` label, the model name
  in ``service``, the status code in ``status``;
- latency: ``inference_latency_seconds`` histogram with ``service`` and no ``version``;
- scores: ``model_prediction_score`` with the model spelled ``fraud_detector`` in ``model``;
- feature PSI and null ratios: ``model_feature_psi`` / ``model_feature_null_ratio`` with the
  feature in ``feature_name``;
- no accuracy and no freshness metrics at all.

Two hours of samples ending at ``END``, constant rates (preflight only asks what exists).
The ``service_prometheus`` fixture serves it from a real Prometheus (a conftest plugin).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import scenario_fraud as fraud
from tests.support.fixtures_servers import backfilled_prometheus

MODEL = fraud.MODEL
END = fraud.T0 + 3600
START = END - 2 * 3600
STEP = 15
AT = fraud.T0 + 45 * 60
LE = [0.01, 0.05, 0.1, 0.5, 1.0]
SCORE_LE = [round(0.1 * i, 1) for i in range(1, 11)]


def _lab(**kv: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def openmetrics() -> str:
    out: list[str] = []
    times = range(START, END + 1, STEP)
    out.append("# TYPE inference_requests counter")
    for status, rate in (("200", 19.0), ("500", 1.0)):
        lab = _lab(service=MODEL, status=status)
        out.extend(f"inference_requests_total{lab} {rate * (t - START):.1f} {t}" for t in times)
    out.append("# TYPE inference_latency_seconds histogram")
    for i, le in enumerate([*[f"{x:g}" for x in LE], "+Inf"]):
        share = min(1.0, 0.3 + 0.15 * i)
        lab = _lab(service=MODEL, le=le)
        out.extend(
            f"inference_latency_seconds_bucket{lab} {20 * share * (t - START):.1f} {t}"
            for t in times
        )
    lab = _lab(service=MODEL)
    out.extend(
        f"inference_latency_seconds_sum{lab} {0.05 * 20 * (t - START):.1f} {t}" for t in times
    )
    out.extend(f"inference_latency_seconds_count{lab} {20.0 * (t - START):.1f} {t}" for t in times)
    out.append("# TYPE model_prediction_score histogram")
    for i, le in enumerate([*[f"{x:g}" for x in SCORE_LE], "+Inf"]):
        share = min(1.0, 0.1 * (i + 1))
        lab = _lab(model="fraud_detector", le=le)
        out.extend(
            f"model_prediction_score_bucket{lab} {20 * share * (t - START):.1f} {t}" for t in times
        )
    lab = _lab(model="fraud_detector")
    out.extend(f"model_prediction_score_count{lab} {20.0 * (t - START):.1f} {t}" for t in times)
    out.extend(f"model_prediction_score_sum{lab} {10.0 * (t - START):.1f} {t}" for t in times)
    for name, value in (("model_feature_psi", 0.05), ("model_feature_null_ratio", 0.0)):
        out.append(f"# TYPE {name} gauge")
        for feature in fraud.FEATURES:
            lab = _lab(model=MODEL, feature_name=feature)
            out.extend(f"{name}{lab} {value} {t}" for t in times)
    out.append("# EOF")
    return "\n".join(out) + "\n"


@pytest.fixture(scope="session")
def service_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus serving this layout; its URL."""
    with backfilled_prometheus(tmp_path_factory.mktemp("service"), openmetrics()) as url:
        yield url
