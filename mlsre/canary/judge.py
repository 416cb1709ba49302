"""The canary judge: query both versions, classify each metric, score, decide.

Score (Kayenta's WeightedSumScorer, with per-metric weights instead of groups): 100 x weight
of Pass / weight of the metrics that count (Pass, High, Low, and NoData of a
``must_have_data`` metric). A critical metric that is High or Low makes the score 0 (fail).
We could not judge — exit 4 — when Prometheus fails, a critical metric has no data, or half
or more of the weight has no data (Kayenta scores those 0 and fails: an idle canary is not a
bad canary, and a gate should say "unknown" rather than "bad").
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mlsre.canary.classify import Classification, Comparison
from mlsre.canary.config import CanaryConfig, CanaryMetric, MetricType
from mlsre.errors import ExitCode, MlsreError
from mlsre.timeutil import iso

MAX_SPARK = 40


class CannotJudge(MlsreError):
    """The judge could not reach a verdict (Prometheus down, bad query): health unknown."""

    exit_code = ExitCode.CHECK_ERROR


class Verdict(StrEnum):
    PASS = "pass"
    MARGINAL = "marginal"
    FAIL = "fail"
    NODATA = "nodata"  # could not judge


@dataclass
class MetricResult:
    name: str
    type: str
    critical: bool
    weight: float
    direction: str
    tolerance: float
    threshold: float | None
    comparison: Comparison
    queries: dict[str, str]
    sparklines: dict[str, str] = field(default_factory=dict)
    counted: bool = True  # part of the score

    @property
    def classification(self) -> Classification:
        return self.comparison.classification


@dataclass
class Judgement:
    model: str
    canary: str
    baseline: str
    start: str
    end: str
    step_s: float
    config: str
    metrics: list[MetricResult]
    score: float | None
    verdict: Verdict
    reason: str
    scoring: dict[str, float]
    timings: dict[str, float]

    def exit_code(self, marginal_is: Verdict = Verdict.FAIL) -> int:
        verdict = marginal_is if self.verdict is Verdict.MARGINAL else self.verdict
        return {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.NODATA: 4}[verdict]


@dataclass
class Request:
    model: str
    canary: str
    baseline: str
    start: datetime
    end: datetime
    step_s: float
    inputs: dict[str, str] = field(default_factory=dict)
    config_name: str = "default"


def judge(config: CanaryConfig, request: Request, client: Any) -> Judgement:
    """Judge ``request`` against ``config`` with ``client`` (a PrometheusClient)."""
    inputs = config.input_values(request.inputs)
    t0 = time.perf_counter()
    fetched = _fetch_all(config, request, inputs, client)
    t1 = time.perf_counter()
    results = [_classify(config, m, fetched[m.name]) for m in config.metrics]
    score, verdict, reason = score_results(results, config)
    t2 = time.perf_counter()
    return Judgement(
        model=request.model,
        canary=request.canary,
        baseline=request.baseline,
        start=iso(request.start),
        end=iso(request.end),
        step_s=request.step_s,
        config=request.config_name,
        metrics=results,
        score=score,
        verdict=verdict,
        reason=reason,
        scoring={"pass": config.scoring.pass_, "marginal": config.scoring.marginal},
        timings={
            "prometheus_s": round(t1 - t0, 6),
            "statistics_s": round(t2 - t1, 6),
            "total_s": round(t2 - t0, 6),
            "queries": 2 * len(config.metrics),
        },
    )


@dataclass
class _Fetched:
    queries: dict[str, str]
    values: dict[str, list[float]] = field(default_factory=dict)  # series: role -> values
    buckets: dict[str, dict[float, float]] = field(default_factory=dict)  # distribution


def _window_text(request: Request) -> str:
    from mlsre.runbook.sandbox import _duration

    return _duration(request.end - request.start)


def _fetch_all(
    config: CanaryConfig, request: Request, inputs: dict[str, str], client: Any
) -> dict[str, _Fetched]:
    from mlsre.runbook.sandbox import TemplateError, render

    window = _window_text(request)
    jobs: list[tuple[CanaryMetric, str, str]] = []
    out: dict[str, _Fetched] = {}
    for metric in config.metrics:
        queries = {}
        for role, version in (("canary", request.canary), ("baseline", request.baseline)):
            context = {
                "model": request.model,
                "version": version,
                "role": role,
                "window": window,
                "inputs": inputs,
            }
            try:
                queries[role] = " ".join(render(metric.query, context, what="query").split())
            except TemplateError as exc:
                raise CannotJudge(f"metric {metric.name}: {exc.message}") from None
            jobs.append((metric, role, queries[role]))
        out[metric.name] = _Fetched(queries)

    def run(job: tuple[CanaryMetric, str, str]) -> None:
        metric, role, promql = job
        target = out[metric.name]
        try:
            if metric.type is MetricType.DISTRIBUTION:
                from mlsre.steps.drift.run import bucket_counts

                result = client.query(promql, request.end)
                target.buckets[role] = bucket_counts(result.samples)
            else:
                result = client.query_range(promql, request.start, request.end, request.step_s)
                target.values[role] = [v for s in result.series for _, v in s.points]
        except CannotJudge:
            raise
        except MlsreError as exc:
            raise CannotJudge(
                f"metric {metric.name} ({role}): {exc.message}", hint=exc.hint
            ) from None

    with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
        for future in [pool.submit(run, job) for job in jobs]:
            future.result()
    return out


def _classify(config: CanaryConfig, metric: CanaryMetric, data: _Fetched) -> MetricResult:
    import numpy as np

    from mlsre.canary.classify import compare_distribution, compare_series

    sparks: dict[str, str] = {}
    if metric.type is MetricType.DISTRIBUTION:
        comparison = compare_distribution(
            metric, data.buckets.get("canary", {}), data.buckets.get("baseline", {})
        )
        for role, shares in (
            ("canary", comparison.canary_shares),
            ("baseline", comparison.baseline_shares),
        ):
            sparks[role] = _bars(shares)
    else:
        canary = np.asarray(data.values.get("canary", []), dtype=np.float64)
        baseline = np.asarray(data.values.get("baseline", []), dtype=np.float64)
        comparison = compare_series(
            metric,
            canary,
            baseline,
            confidence=config.confidence,
            fraction=config.effect_fraction,
        )
        both = np.concatenate([canary, baseline])
        both = both[np.isfinite(both)]
        for role, values in (("canary", canary), ("baseline", baseline)):
            lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 0.0)
            sparks[role] = _spark(values.tolist(), lo, hi) if both.size else ""
    counted = comparison.classification is not Classification.NODATA or metric.must_have_data
    return MetricResult(
        name=metric.name,
        type=metric.type.value,
        critical=metric.critical,
        weight=metric.weight,
        direction=metric.direction.value,
        tolerance=metric.tolerance,
        threshold=metric.limit if metric.type is MetricType.DISTRIBUTION else None,
        comparison=comparison,
        queries=data.queries,
        sparklines=sparks,
        counted=counted,
    )


def _spark(values: list[float], lo: float, hi: float, width: int = MAX_SPARK) -> str:
    """A sparkline on a given scale (both versions share one, so they compare by eye)."""
    import math

    from mlsre.steps.prometheus.run import SPARK

    if len(values) > width:
        values = [values[int(i * len(values) / width)] for i in range(width)]
    span = hi - lo or 1.0
    top = len(SPARK) - 1
    return "".join(
        SPARK[min(max(int((v - lo) / span * top), 0), top)] if math.isfinite(v) else " "
        for v in values
    )


def _bars(shares: list[float]) -> str:
    from mlsre.steps.prometheus.run import SPARK

    if not shares:
        return ""
    top = max(shares) or 1.0
    return "".join(SPARK[min(int(s / top * (len(SPARK) - 1)), len(SPARK) - 1)] for s in shares)


def score_results(
    results: list[MetricResult], config: CanaryConfig
) -> tuple[float | None, Verdict, str]:
    """Kayenta's weighted score, critical override and thresholds; see the module docstring."""
    why_no_data = _too_little_data(results)
    if why_no_data:
        return None, Verdict.NODATA, why_no_data
    counted = [r for r in results if r.counted]
    passed = sum(r.weight for r in counted if r.classification == "Pass")
    score = round(100.0 * passed / sum(r.weight for r in counted), 2)
    critical = [r.name for r in results if r.critical and r.classification in ("High", "Low")]
    if critical:
        return 0.0, Verdict.FAIL, f"critical metric {', '.join(critical)} failed"
    failing = [f"{r.name} {r.classification}" for r in counted if r.classification != "Pass"]
    verdict, reason = _by_score(score, config)
    return score, verdict, reason + (f" ({', '.join(failing)})" if failing else "")


def _too_little_data(results: list[MetricResult]) -> str | None:
    """Why there is no verdict: a critical metric without data, or half the weight missing."""
    critical_nodata = [r.name for r in results if r.critical and r.classification == "NoData"]
    if critical_nodata:
        return f"no data for critical metric {', '.join(critical_nodata)}"
    total = sum(r.weight for r in results)
    missing = sum(r.weight for r in results if r.classification == "NoData" and not r.counted)
    if total <= 0 or missing / total >= 0.5:
        return "no data for half or more of the metrics (by weight)"
    return None


def _by_score(score: float, config: CanaryConfig) -> tuple[Verdict, str]:
    pass_, marginal = config.scoring.pass_, config.scoring.marginal
    if score >= pass_:
        return Verdict.PASS, f"score {score:g} >= {pass_:g}"
    if score >= marginal:
        return Verdict.MARGINAL, f"score {score:g} between {marginal:g} and {pass_:g}"
    return Verdict.FAIL, f"score {score:g} < {marginal:g}"
