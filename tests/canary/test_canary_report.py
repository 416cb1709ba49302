"""Scoring rules, the markdown report and the record kept in a registry tag, on judgements
built from classified metrics (no server needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlsre.canary.classify import Classification, Comparison
from mlsre.canary.config import CanaryConfig
from mlsre.canary.judge import Judgement, MetricResult, Verdict, score_results
from mlsre.canary.promote import TAG_MAX, summary
from mlsre.canary.report import markdown


def _config(pass_: float = 95, marginal: float = 75) -> CanaryConfig:
    return CanaryConfig.model_validate(
        {
            "apiVersion": "mlsre/v1",
            "kind": "CanaryConfig",
            "metrics": [{"name": "a", "query": "q"}],
            "scoring": {"pass": pass_, "marginal": marginal},
        }
    )


def _result(
    name: str,
    cls: str,
    *,
    critical: bool = False,
    weight: float = 1.0,
    must_have_data: bool = False,
) -> MetricResult:
    c = Classification(cls)
    return MetricResult(
        name=name,
        type="series",
        critical=critical,
        weight=weight,
        direction="increase",
        tolerance=0.1,
        threshold=None,
        comparison=Comparison(c, f"{name} is {cls}"),
        queries={"canary": "q", "baseline": "q"},
        counted=c is not Classification.NODATA or must_have_data,
    )


@pytest.mark.parametrize(
    ("results", "score", "verdict"),
    [
        ([_result("a", "Pass"), _result("b", "Pass")], 100.0, Verdict.PASS),
        ([_result("a", "Pass", weight=3), _result("b", "High")], 75.0, Verdict.MARGINAL),
        ([_result("a", "Pass"), _result("b", "Low")], 50.0, Verdict.FAIL),
        ([_result("a", "Pass"), _result("b", "High", critical=True)], 0.0, Verdict.FAIL),
        # NoData is left out of the score, unless the metric must have data
        ([_result("a", "Pass", weight=3), _result("b", "NoData")], 100.0, Verdict.PASS),
        (
            [_result("a", "Pass", weight=3), _result("b", "NoData", must_have_data=True)],
            75.0,
            Verdict.MARGINAL,
        ),
        # could not judge: a critical metric without data, or half the weight without data
        ([_result("a", "Pass"), _result("b", "NoData", critical=True)], None, Verdict.NODATA),
        ([_result("a", "Pass"), _result("b", "NoData")], None, Verdict.NODATA),
    ],
)
def test_scoring(results: list[MetricResult], score: float | None, verdict: Verdict) -> None:
    got_score, got_verdict, reason = score_results(results, _config())
    assert (got_score, got_verdict) == (score, verdict), reason


def _judgement(results: list[MetricResult], model: str = "fraud-detector") -> Judgement:
    score, verdict, reason = score_results(results, _config())
    return Judgement(
        model=model,
        canary="5",
        baseline="4",
        start="2026-11-28T11:15:00Z",
        end="2026-11-28T12:00:00Z",
        step_s=60.0,
        config="default",
        metrics=results,
        score=score,
        verdict=verdict,
        reason=reason,
        scoring={"pass": 95, "marginal": 75},
        timings={},
    )


def test_markdown_escapes_what_people_typed() -> None:
    md = markdown(_judgement([_result("a", "Pass")], model="m|<script>alert(1)</script>*x*"))
    title = md.splitlines()[0]
    assert title.startswith("## ✅ Canary m\\|\\<script\\>alert(1)\\</script\\>\\*x\\* version 5")
    assert "<script>" not in md
    rows = [line for line in md.splitlines() if line.startswith("| a ")]
    assert len(rows) == 1 and rows[0].count(" | ") == 6  # 7 cells: no stray pipe


def test_summary_fits_a_registry_tag_with_many_metrics() -> None:
    many = [_result(f"m{i:03d}", "Pass") for i in range(300)] + [_result("bad", "High")]
    record = summary(_judgement(many))
    assert len(json.dumps(record)) <= TAG_MAX
    assert record["metrics"] == {"bad": "High"} and record["metrics_total"] == 301
    few = summary(_judgement([_result("a", "Pass")]))
    assert few["metrics"] == {"a": "Pass"} and "metrics_total" not in few


def test_exit_codes_per_verdict() -> None:
    j = _judgement([_result("a", "Pass", weight=3), _result("b", "High")])
    assert j.verdict is Verdict.MARGINAL
    assert j.exit_code() == 1 and j.exit_code(Verdict.PASS) == 0
    assert _judgement([_result("a", "NoData", critical=True)]).exit_code(Verdict.PASS) == 4
    assert np.isclose(j.score or 0.0, 75.0)
