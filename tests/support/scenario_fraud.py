"""The fraud-detector scenario the integration tests backfill into a real Prometheus.

Version 3 serves until ``T0``; version 4 goes live at ``T0``: p99 latency jumps about 7x and the
error ratio rises from 0.5% to 5%. Feature ``amount`` drifts (PSI ramps to 0.35 from T0+10m to
T0+40m), ``merchant_id`` moves to a moderate 0.12 at T0, and the ``country`` feature pipeline
breaks at T0+30m (null ratio 0 -> 0.42) because its upstream table ``country_lookup`` stopped
refreshing at T0-90m. Delayed-label accuracy drops from 0.95 to 0.91 at T0+15m. Every value is
known, so tests can assert exact answers. Metric names follow ``docs/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

MODEL = "fraud-detector"
T0 = 1795886940  # 2026-11-28T17:29:00Z: version 4 goes live
START = T0 - 3 * 3600
END = T0 + 3600
STEP = 15  # seconds between samples, like a scrape interval
RATE = 20.0  # requests per second served by the live version

LATENCY_LE = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]
# Cumulative share of requests at or below each bucket bound.
LATENCY_CUM = {
    "3": [0.05, 0.2, 0.7, 0.95, 0.995, 1.0, 1.0, 1.0, 1.0, 1.0],
    "4": [0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.985, 0.998, 1.0, 1.0],
}
ERROR_SHARE = {"3": 0.005, "4": 0.05}
SCORE_LE = [round(0.1 * i, 1) for i in range(1, 11)]
SCORE_CUM = {
    "3": [0.55, 0.75, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 1.0],
    "4": [0.3, 0.45, 0.55, 0.62, 0.7, 0.78, 0.85, 0.9, 0.95, 1.0],
}
FEATURES = ["amount", "country", "merchant_id", "hour"]
TRAINED = {"3": T0 - 30 * 86400, "4": T0 - 2 * 86400}
TABLES = {"txn_features": 600, "country_lookup": 3600}  # refresh period, seconds
COUNTRY_LOOKUP_STALLED = T0 - 5400  # its last refresh; the null ratio rises two hours later


def table_updated(table: str, t: int) -> int:
    """Unix time the feature table was last refreshed, as of ``t``."""
    period = TABLES[table]
    last = t - t % period
    return min(last, COUNTRY_LOOKUP_STALLED) if table == "country_lookup" else last


def accuracy(t: int) -> float:
    return 0.95 if t < T0 + 900 else 0.91


def quantile(q: float, cum: list[float], les: list[float]) -> float:
    """What PromQL's histogram_quantile gives for these cumulative shares (linear in a bucket)."""
    prev_le, prev_c = 0.0, 0.0
    for le, c in zip(les, cum, strict=True):
        if c >= q:
            return prev_le + (le - prev_le) * (q - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    return les[-1]


P99 = {v: quantile(0.99, LATENCY_CUM[v], LATENCY_LE) for v in LATENCY_CUM}


def psi(feature: str, t: int) -> float:
    if feature == "amount":
        if t < T0 + 600:
            return 0.03
        if t >= T0 + 2400:
            return 0.35
        return 0.03 + (0.35 - 0.03) * (t - T0 - 600) / 1800
    if feature == "merchant_id":
        return 0.12 if t >= T0 else 0.02
    return 0.02 if feature == "country" else 0.01


def null_ratio(feature: str, t: int) -> float:
    if feature == "country" and t >= T0 + 1800:
        return 0.42
    return 0.001 if feature == "amount" else 0.0


@dataclass(frozen=True)
class Times:
    """Key instants (unix seconds) for tests and runbook runs with ``--at``."""

    start: int = START
    t0: int = T0
    end: int = END
    before: int = T0 - 1800  # v3 healthy
    after: int = T0 + 1800  # v4 live for 30 min, latency and errors up
    drifted: int = T0 + 2700  # amount PSI at 0.35, country nulls at 0.42


def _labels(**kv: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def _serving(t: int) -> str:
    return "3" if t < T0 else "4"


def _times() -> range:
    return range(START, END + 1, STEP)


def _histogram(
    name: str, cum: dict[str, list[float]], les: list[float], mid: float
) -> Iterator[str]:
    """Cumulative counters of a histogram per version; a version only grows while it serves."""
    for version in ("3", "4"):
        active = [t for t in _times() if _serving(t) == version]
        first, last = active[0], active[-1]
        bounds = [*[f"{le:g}" for le in les], "+Inf"]
        shares = [*cum[version], 1.0]
        for le, share in zip(bounds, shares, strict=True):
            lab = _labels(model=MODEL, version=version, le=le)
            for t in range(first, last + 1, STEP):
                n = RATE * (t - first)
                yield f"{name}_bucket{lab} {n * share:.6f} {t}"
        lab = _labels(model=MODEL, version=version)
        for t in range(first, last + 1, STEP):
            yield f"{name}_sum{lab} {RATE * (t - first) * mid:.6f} {t}"
        for t in range(first, last + 1, STEP):
            yield f"{name}_count{lab} {RATE * (t - first):.6f} {t}"


def openmetrics() -> str:
    """The whole scenario as OpenMetrics text (timestamps in seconds, ending ``# EOF``)."""
    out: list[str] = []
    out.append("# TYPE model_request_duration_seconds histogram")
    out.extend(_histogram("model_request_duration_seconds", LATENCY_CUM, LATENCY_LE, 0.04))
    out.append("# TYPE model_requests counter")
    for version in ("3", "4"):
        active = [t for t in _times() if _serving(t) == version]
        for code, share in (("200", 1 - ERROR_SHARE[version]), ("500", ERROR_SHARE[version])):
            lab = _labels(model=MODEL, version=version, code=code)
            for t in active:
                out.append(f"model_requests_total{lab} {RATE * (t - active[0]) * share:.6f} {t}")
    out.append("# TYPE model_prediction_score histogram")
    out.extend(_histogram("model_prediction_score", SCORE_CUM, SCORE_LE, 0.3))
    out.append("# TYPE model_feature_psi gauge")
    for feature in FEATURES:
        lab = _labels(model=MODEL, feature=feature)
        out.extend(f"model_feature_psi{lab} {psi(feature, t):.6f} {t}" for t in _times())
    out.append("# TYPE model_feature_null_ratio gauge")
    for feature in FEATURES:
        lab = _labels(model=MODEL, feature=feature)
        out.extend(
            f"model_feature_null_ratio{lab} {null_ratio(feature, t):.6f} {t}" for t in _times()
        )
    out.append("# TYPE model_last_trained_timestamp_seconds gauge")
    lab = _labels(model=MODEL)
    out.extend(
        f"model_last_trained_timestamp_seconds{lab} {TRAINED[_serving(t)]} {t}" for t in _times()
    )
    out.append("# TYPE model_features_last_updated_timestamp_seconds gauge")
    for table in TABLES:
        lab = _labels(model=MODEL, table=table)
        name = "model_features_last_updated_timestamp_seconds"
        out.extend(f"{name}{lab} {table_updated(table, t)} {t}" for t in _times())
    out.append("# TYPE model_delayed_label_accuracy gauge")
    lab = _labels(model=MODEL)
    out.extend(f"model_delayed_label_accuracy{lab} {accuracy(t)} {t}" for t in _times())
    out.append("# EOF")
    return "\n".join(out) + "\n"
