"""The preflight's Markdown report keeps server and runbook text literal (no markup, no HTML)."""

from __future__ import annotations

from mlsre.preflight.markdown import render
from mlsre.preflight.report import CheckStatus, Finding, PreflightReport, RunbookCheck, StepCheck


def test_text_from_servers_cannot_become_markup() -> None:
    finding = Finding(
        CheckStatus.UNKNOWN_LABEL_VALUE,
        'no m series has model="a|b" (values: <script>x</script>, *bold*)',
        suggest={"model": "a|b"},
    )
    step = StepCheck(
        "s1", "t", "prometheus.query", finding.status, finding.message, [finding], ["m"]
    )
    rb = RunbookCheck("rb", "Title [link](http://x)", CheckStatus.UNKNOWN_LABEL_VALUE, steps=[step])
    rb.suggest = dict(step.suggest)
    text = render(PreflightReport([rb], "2026-11-28T18:14:00Z", 0.5))
    assert "<script>" not in text and "\\<script\\>" in text
    assert "\\*bold\\*" in text
    assert "## rb: Title \\[link\\]\\(http://x\\)" in text
    table = [ln for ln in text.splitlines() if ln.startswith("| rb |")]
    assert len(table) == 1 and table[0].count(" | ") == 4  # a | in a value splits no cell
    assert "`--input model=a\\|b`" in table[0]
