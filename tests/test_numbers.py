"""How undefined numbers and ratios against zero read: in text, in tables, in JSON."""

from __future__ import annotations

import io
import json
import math

import pytest
from rich.console import Console

from mlsre.cli.operator import render_outcome
from mlsre.jsonutil import dumps, loads_strict, plain
from mlsre.numbers import fmt, ratio, ratio_text
from mlsre.runbook.run_model import StepOutcome
from mlsre.steps.base import Phase, StepStatus


def test_ratio_against_zero_reads_as_what_it_is() -> None:
    assert ratio_text(0.3, 0.0) == "new: 0 -> 0.3"
    assert ratio_text(0.0, 0.0) == "unchanged: 0"
    assert ratio_text(0.69, 0.094) == "7.34x"
    assert ratio_text(math.nan, 0.1) == "0.1 -> n/a (no ratio)"
    assert ratio(0.3, 0.0) is None and ratio(0.3, 0.1) == pytest.approx(3.0)


def test_fmt_never_prints_nan_or_inf() -> None:
    assert [fmt(math.nan), fmt(None), fmt(math.inf), fmt(-math.inf)] == ["n/a", "n/a", "+∞", "-∞"]
    assert fmt(0.123456) == "0.1235" and fmt(3) == "3" and fmt(True) == "True"


def test_json_nulls_say_why() -> None:
    data = {"ratio": math.inf, "delta": 0.3, "samples": [math.nan, 1.0], "inner": {"v": -math.inf}}
    text = dumps(data)
    back = loads_strict(text)
    assert back["ratio"] is None and back["delta"] == 0.3
    assert "zero baseline" in back["null_reasons"]["ratio"]
    assert back["samples"] == [None, 1.0]
    assert back["inner"] == {"v": None, "null_reasons": {"v": "minus infinity"}}
    with pytest.raises(ValueError, match="not strict JSON"):
        loads_strict(json.dumps({"x": math.nan}))
    assert plain({"null_reasons": {"a": "given"}, "b": math.nan})["null_reasons"] == {
        "a": "given",
        "b": "not a number (no data, or 0/0)",
    }


def test_a_sample_table_shows_n_a_not_nan() -> None:
    buf = io.StringIO()
    outcome = StepOutcome(
        "p99",
        "p99",
        Phase.DIAGNOSE,
        "prometheus.query",
        StepStatus.FAILED,
        "no traffic on version 5",
        samples=[
            {"value": math.nan, "labels": {"version": "5"}},
            {"value": 0.692, "labels": {"version": "4"}},
        ],
    )
    render_outcome(Console(file=buf, width=100, no_color=True), outcome)
    text = buf.getvalue()
    assert "nan" not in text.lower().replace("no traffic", "") and "inf" not in text
    rows = [ln.split() for ln in text.splitlines()]
    assert ["5", "n/a"] in rows and ["4", "0.692"] in rows
