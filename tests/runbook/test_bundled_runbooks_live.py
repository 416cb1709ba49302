"""The latency runbook on the real scenario: healthy before the deploy, and replayable offline.

The unhealthy verdicts of every bundled runbook are in tests/runbook/test_runbooks_e2e.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlsre.cli.app import app
from mlsre.integrations.mlflow import MlflowClient
from mlsre.settings import RegistrySettings
from tests.support.fixtures_servers import MODEL, MlflowServer, PromServer

pytestmark = [pytest.mark.prometheus, pytest.mark.mlflow, pytest.mark.slow]


@pytest.fixture
def oncall(isolated: Path, prometheus_server: PromServer, registry: MlflowServer) -> CliRunner:
    (isolated / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prometheus_server.url}'}}\n"
        f"registry: {{url: '{registry.url}', timeout_s: 30}}\n"
    )
    runner = CliRunner()
    r = runner.invoke(
        app,
        ["incident", "open", "fraud-detector unhealthy", "--severity", "SEV2", "--model", MODEL],
    )
    assert r.exit_code == 0, r.output
    return runner


def run(
    runner: CliRunner, runbook: str, at: int
) -> tuple[int, dict[str, Any], dict[str, dict[str, Any]]]:
    args = ["runbook", "run", runbook, "--incident", "INC-1", "-i", f"model={MODEL}"]
    r = runner.invoke(app, [*args, "--at", str(at), "--non-interactive", "--yes", "--json"])
    report = json.loads(r.stdout)
    return r.exit_code, report, {s["step"]: s for s in report["steps"]}


def champion(server: MlflowServer) -> str:
    return (
        MlflowClient(RegistrySettings(url=server.url)).version_by_alias(MODEL, "champion").version
    )


def test_latency_runbook_when_healthy_rolls_nothing_back(
    oncall: CliRunner, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    _, _, steps = run(oncall, "latency-regression", prometheus_server.times.before)
    assert steps["p99-by-version"]["status"] == "passed"
    assert steps["p99-by-version"]["samples"][0]["labels"] == {"version": "3"}
    assert steps["rollback"]["status"] == "skipped"
    assert champion(registry) == "4"


def test_a_live_run_replays_with_no_server(
    oncall: CliRunner, prometheus_server: PromServer, registry: MlflowServer, isolated: Path
) -> None:
    """Record against the real servers, export the incident, replay it as a runbook test."""
    at = prometheus_server.times.after
    run(oncall, "latency-regression", at)
    exported = oncall.invoke(app, ["incident", "export", "INC-1"])
    assert exported.exit_code == 0, exported.output
    (isolated / "inc-1.json").write_text(exported.stdout)
    registry.reset_aliases()
    (isolated / "mlsre.yaml").write_text(
        "prometheus: {url: 'http://127.0.0.1:9', retries: 0}\nregistry: {url: 'http://127.0.0.1:9', retries: 0}\n"
    )
    args = [
        "runbook",
        "test",
        "latency-regression",
        "--replay",
        "inc-1.json",
        "-i",
        f"model={MODEL}",
    ]
    expect = ["--expect-status", "failed", "--expect-step", "p99-vs-before-deploy=failed"]
    r = oncall.invoke(app, [*args, "--at", str(at), *expect, "--expect-step", "rollback=passed"])
    assert r.exit_code == 0, r.output
    assert champion(registry) == "4"  # the replayed rollback touched no registry
