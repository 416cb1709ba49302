"""The fraud-detector incident again, laid out as another team exports it.

Same story and times as :mod:`tests.support.scenario_fraud` (version 4 goes live at ``T0``: p99 about
7x, errors 0.5% -> 5%), but only the latency histogram carries a ``version`` label. The request
counter has ``model`` and ``code`` and no ``version``; so has the prediction-score histogram.
Every counter runs on across the deploy (one process serving whichever version is loaded), so
nothing here restarts at ``T0``.
"""

from __future__ import annotations

from collections.abc import Iterator

from tests.support import scenario_fraud as base
from tests.support.scenario_fraud import MODEL, RATE, STEP, T0, Times

__all__ = ["MODEL", "T0", "Times", "openmetrics"]

GAUGES = {
    "model_feature_psi",
    "model_feature_null_ratio",
    "model_last_trained_timestamp_seconds",
    "model_features_last_updated_timestamp_seconds",
    "model_delayed_label_accuracy",
}


def _cumulative(t: int, share: dict[str, float]) -> float:
    """Requests counted up to ``t`` when version 3's share applies before T0 and 4's after."""
    before = min(t, T0) - base.START
    after = max(0, t - T0)
    return RATE * (before * share["3"] + after * share["4"])


def _histogram_without_version(
    name: str, cum: dict[str, list[float]], les: list[float]
) -> Iterator[str]:
    bounds = [*[f"{le:g}" for le in les], "+Inf"]
    for i, le in enumerate(bounds):
        shares = {v: [*cum[v], 1.0][i] for v in ("3", "4")}
        lab = f'{{model="{MODEL}",le="{le}"}}'
        for t in range(base.START, base.END + 1, STEP):
            yield f"{name}_bucket{lab} {_cumulative(t, shares):.6f} {t}"
    lab = f'{{model="{MODEL}"}}'
    for t in range(base.START, base.END + 1, STEP):
        yield f"{name}_count{lab} {_cumulative(t, {'3': 1.0, '4': 1.0}):.6f} {t}"


def openmetrics() -> str:
    out: list[str] = ["# TYPE model_request_duration_seconds histogram"]
    out.extend(
        base._histogram("model_request_duration_seconds", base.LATENCY_CUM, base.LATENCY_LE, 0.04)
    )
    out.append("# TYPE model_requests counter")
    for code in ("200", "500"):
        share = {v: (1 - e if code == "200" else e) for v, e in base.ERROR_SHARE.items()}
        lab = f'{{model="{MODEL}",code="{code}"}}'
        out.extend(
            f"model_requests_total{lab} {_cumulative(t, share):.6f} {t}"
            for t in range(base.START, base.END + 1, STEP)
        )
    out.append("# TYPE model_prediction_score histogram")
    out.extend(_histogram_without_version("model_prediction_score", base.SCORE_CUM, base.SCORE_LE))
    # Gauges carry no version in either layout: the same series as the other scenario.
    keep = False
    for line in base.openmetrics().splitlines():
        if line.startswith("# TYPE "):
            keep = line.split()[2] in GAUGES
        if keep and line != "# EOF":
            out.append(line)
    out.append("# EOF")
    return "\n".join(out) + "\n"
