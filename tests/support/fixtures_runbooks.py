"""Shared runbook fixtures: a minimal valid runbook, and a workspace that has runbooks of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

MINIMAL = """\
apiVersion: mlsre/v1
kind: Runbook
id: @ID@
title: Minimal runbook
failure_mode: latency
inputs:
  model: {description: Model name, required: true}
steps:
  - id: p99
    title: p99 latency
    uses: prometheus.query
    with:
      query: >-
        histogram_quantile(0.99, sum by (le) (rate(x_bucket{model="{{ inputs.model | promql_escape }}"}[5m])))
    expect: value < 0.3
    guidance: Latency of the model.
"""


def minimal_runbook(runbook_id: str = "minimal") -> str:
    return MINIMAL.replace("@ID@", runbook_id)


@pytest.fixture
def workspace(isolated: Path) -> Path:
    """A workspace (mlsre.yaml + runbooks/) in the test's working directory."""
    (isolated / "mlsre.yaml").write_text("runbook_paths: [./runbooks]\n", encoding="utf-8")
    (isolated / "runbooks").mkdir()
    return isolated
