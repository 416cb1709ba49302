"""What a person sees after a step: verdict, a table for many samples, sparklines for series."""

from __future__ import annotations

import io

from rich.console import Console

from mlsre.cli.operator import render_outcome
from mlsre.runbook.run_model import StepOutcome
from mlsre.steps.base import Phase, StepStatus


def _render(outcome: StepOutcome) -> str:
    buf = io.StringIO()
    render_outcome(Console(file=buf, width=100, no_color=True), outcome)
    return buf.getvalue()


def test_vector_result_is_a_label_table() -> None:
    out = _render(
        StepOutcome(
            "p99",
            "p99",
            Phase.DIAGNOSE,
            "prometheus.query",
            StepStatus.FAILED,
            "broken by {version=4} 0.69",
            samples=[
                {"value": 0.094, "labels": {"version": "3"}},
                {"value": 0.692, "labels": {"version": "4"}},
            ],
        )
    )
    lines = out.splitlines()
    assert lines[0].strip().startswith("FAILED broken by")
    assert lines[1].split() == ["version", "value"]
    assert lines[2].split() == ["3", "0.094"] and lines[3].split() == ["4", "0.692"]


def test_range_result_shows_a_sparkline_per_series() -> None:
    out = _render(
        StepOutcome(
            "trend",
            "trend",
            Phase.DIAGNOSE,
            "prometheus.range",
            StepStatus.PASSED,
            "2 series",
            samples=[
                {
                    "value": 0.35,
                    "last": 0.35,
                    "labels": {"feature": "amount"},
                    "sparkline": "▁▁▂▄▆█",
                },
                {"value": 0.02, "last": 0.02, "labels": {"feature": "hour"}, "sparkline": "▁▁▁▁▁▁"},
            ],
        )
    )
    assert "feature=amount  ▁▁▂▄▆█  last 0.35" in out
    assert "feature=hour  ▁▁▁▁▁▁  last 0.02" in out
