"""Canary scenarios backfilled into a real Prometheus: two versions serving at the same time.

The baseline version 4 serves about 90% of the traffic for the whole 90 minutes; the canary
version 5 takes about 10% for the last 60 minutes. Counts are random (seeded): Poisson
requests per 15 s scrape, multinomial latency and score buckets, binomial errors, so the
judge sees noise like a real canary's. One model per case:

- ``*-worse``: canary p99 about 7x and errors 0.5% -> 5% (fail on critical metrics);
- ``*-same``: canary drawn from the baseline's distributions (pass);
- ``*-shifted``: canary faster, but its prediction scores shift (the distribution fails);
- ``*-idle``: the canary never served (could not judge).

Two layouts of metric and label names: the bundled runbooks' conventions (docs/metrics.md),
and another one a team might have, which the judge reads through ``--input`` overrides.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

END = 1795867200  # 2026-11-28T12:00:00Z
START = END - 90 * 60
CANARY_START = END - 60 * 60
STEP = 15
BASELINE, CANARY = "4", "5"
RATE = {BASELINE: 18.0, CANARY: 2.0}  # requests per second: the canary takes 10%

LATENCY_LE = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]
FAST = [0.05, 0.2, 0.7, 0.95, 0.995, 1.0, 1.0, 1.0, 1.0, 1.0]
SLOW = [0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.985, 0.998, 1.0, 1.0]
FASTER = [0.15, 0.45, 0.9, 0.99, 0.999, 1.0, 1.0, 1.0, 1.0, 1.0]
SCORE_LE = [round(0.1 * i, 1) for i in range(1, 11)]
SCORES = [0.55, 0.75, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 1.0]
SHIFTED_SCORES = [0.3, 0.45, 0.55, 0.62, 0.7, 0.78, 0.85, 0.9, 0.95, 1.0]


@dataclass(frozen=True)
class Behaviour:
    latency: list[float]
    errors: float
    scores: list[float]


BASE = Behaviour(FAST, 0.005, SCORES)
CASES: dict[str, Behaviour | None] = {
    "worse": Behaviour(SLOW, 0.05, SCORES),
    "same": BASE,
    "shifted": Behaviour(FASTER, 0.005, SHIFTED_SCORES),
    "idle": None,  # no canary traffic at all
}


@dataclass(frozen=True)
class Layout:
    """Metric and label names; ``inputs`` are the overrides the default config needs."""

    prefix: str  # model names are PREFIX-CASE
    latency: str
    requests: str
    scores: str
    model_label: str
    version_label: str
    code_label: str
    ok_code: str
    error_code: str
    inputs: dict[str, str]

    def model(self, case: str) -> str:
        return f"{self.prefix}-{case}"


BUNDLED = Layout(
    "fraud",
    "model_request_duration_seconds",
    "model_requests",
    "model_prediction_score",
    "model",
    "version",
    "code",
    "200",
    "503",
    {},
)
OTHER = Layout(
    "risk",
    "inference_latency_seconds",
    "inference_requests",
    "prediction_probability",
    "service",
    "model_version",
    "status",
    "ok",
    "error",
    {
        "latency_metric": "inference_latency_seconds",
        "requests_metric": "inference_requests_total",
        "score_metric": "prediction_probability",
        "model_label": "service",
        "version_label": "model_version",
        "code_label": "status",
        "error_codes": "error",
    },
)
LAYOUTS = (BUNDLED, OTHER)


def _labels(**kv: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def _probs(cum: list[float]) -> np.ndarray:
    c = np.array([*cum, 1.0])
    return np.diff(np.concatenate([[0.0], c]))


@dataclass
class _Serving:
    times: np.ndarray
    requests: np.ndarray  # per step
    errors: np.ndarray
    latency: np.ndarray  # per step x bucket (non-cumulative, last = above the top bound)
    scores: np.ndarray


def _simulate(rng: np.random.Generator, b: Behaviour, version: str) -> _Serving:
    first = START if version == BASELINE else CANARY_START
    times = np.arange(first, END + 1, STEP)
    n = rng.poisson(RATE[version] * STEP, times.size)
    n[0] = 0  # counters start at 0 when the version starts serving
    errors = rng.binomial(n, b.errors)
    latency = np.array([rng.multinomial(k, _probs(b.latency)) for k in n])
    scores = np.array([rng.multinomial(k, _probs(b.scores)) for k in n])
    return _Serving(times, n, errors, latency, scores)


def _histogram(
    layout: Layout, name: str, les: list[float], blocks: list[tuple[dict[str, str], _Serving, str]]
) -> Iterator[str]:
    yield f"# TYPE {name} histogram"
    for labels, s, field in blocks:
        per_bucket = getattr(s, field)
        cumulative = np.cumsum(np.cumsum(per_bucket, axis=1), axis=0)  # over buckets, then time
        bounds = [*[f"{le:g}" for le in les], "+Inf"]
        for i, le in enumerate(bounds):
            lab = _labels(**labels, le=le)
            for t, v in zip(s.times, cumulative[:, i], strict=True):
                yield f"{name}_bucket{lab} {int(v)} {int(t)}"
        total = np.cumsum(s.requests)
        lab = _labels(**labels)
        for t, v in zip(s.times, total, strict=True):
            yield f"{name}_count{lab} {int(v)} {int(t)}"
        for t, v in zip(s.times, total, strict=True):
            yield f"{name}_sum{lab} {v * 0.05:.3f} {int(t)}"


def openmetrics(seed: int = 19) -> str:
    rng = np.random.default_rng(seed)
    out: list[str] = []
    for layout in LAYOUTS:
        blocks: list[tuple[dict[str, str], _Serving]] = []
        for case, behaviour in CASES.items():
            model = layout.model(case)
            for version, b in ((BASELINE, BASE), (CANARY, behaviour)):
                if b is None:
                    continue
                labels = {layout.model_label: model, layout.version_label: version}
                blocks.append((labels, _simulate(rng, b, version)))
        out.extend(
            _histogram(
                layout, layout.latency, LATENCY_LE, [(lab, s, "latency") for lab, s in blocks]
            )
        )
        out.extend(
            _histogram(layout, layout.scores, SCORE_LE, [(lab, s, "scores") for lab, s in blocks])
        )
        out.append(f"# TYPE {layout.requests} counter")
        for labels, s in blocks:
            ok = np.cumsum(s.requests - s.errors)
            bad = np.cumsum(s.errors)
            for code, series in ((layout.ok_code, ok), (layout.error_code, bad)):
                lab = _labels(**labels, **{layout.code_label: code})
                for t, v in zip(s.times, series, strict=True):
                    out.append(f"{layout.requests}_total{lab} {int(v)} {int(t)}")
    out.append("# EOF")
    return "\n".join(out) + "\n"
