"""The bundled runbooks end to end against the real Prometheus scenario and MLflow registry.

Unattended (``--non-interactive --yes``) with ``--at`` inside the scenario; each must reach the
verdict the scenario was built for, and the latency runbook's rollback must move ``champion``
from 4 to 3 in the real registry, recorded on the incident.
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
from tests.fixtures_servers import MODEL, MlflowServer, PromServer

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


def test_latency_regression_points_at_version_4_and_rolls_back(
    oncall: CliRunner, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    code, report, steps = run(oncall, "latency-regression", prometheus_server.times.after)
    assert code == 1 and report["outcome"] == "unhealthy"
    assert steps["p99-by-version"]["status"] == "failed"
    assert steps["p99-by-version"]["samples"][0]["labels"] == {"version": "4"}
    compare = steps["p99-vs-before-deploy"]
    assert compare["status"] == "failed"
    assert compare["output"]["version"] == "4" and compare["output"]["previous_version"] == "3"
    assert compare["output"]["ratio"] == pytest.approx(
        prometheus_server.p99["4"] / prometheus_server.p99["3"]
    )
    assert steps["live-version"]["output"]["version"] == "4"
    rollback = steps["rollback"]
    assert rollback["status"] == "passed"
    assert rollback["changes"][0]["before"] == "4" and rollback["changes"][0]["after"] == "3"
    assert champion(registry) == "3"
    r = oncall.invoke(app, ["incident", "timeline", "INC-1", "--json"])
    assert r.exit_code == 0, r.output
    changed = [e for e in json.loads(r.stdout) if e["kind"] == "model_changed"]
    assert len(changed) == 1 and changed[0]["data"]["to_version"] == "3"


def test_latency_runbook_when_healthy_rolls_nothing_back(
    oncall: CliRunner, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    _, _, steps = run(oncall, "latency-regression", prometheus_server.times.before)
    assert steps["p99-by-version"]["status"] == "passed"
    assert steps["p99-by-version"]["samples"][0]["labels"] == {"version": "3"}
    assert steps["rollback"]["status"] == "skipped"
    assert champion(registry) == "4"


def test_error_rate(
    oncall: CliRunner, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    code, report, steps = run(oncall, "error-rate", prometheus_server.times.after)
    assert code == 1 and report["outcome"] == "unhealthy"
    failed = [
        s for s in steps.values() if s["status"] == "failed" and s["kind"].startswith("prometheus.")
    ]
    assert any(x["value"] == pytest.approx(0.05) for s in failed for x in s["samples"])
    assert champion(registry) == "3"


def test_data_drift_names_the_drifted_feature(
    oncall: CliRunner, prometheus_server: PromServer
) -> None:
    code, _, steps = run(oncall, "data-drift", prometheus_server.times.drifted)
    assert code == 1
    psi = next(
        s for s in steps.values() if s["kind"] == "prometheus.query" and s["status"] == "failed"
    )
    assert [x["labels"]["feature"] for x in psi["samples"] if x["value"] > 0.25] == ["amount"]


def test_feature_pipeline_names_the_null_feature(
    oncall: CliRunner, prometheus_server: PromServer
) -> None:
    code, _, steps = run(oncall, "feature-pipeline", prometheus_server.times.drifted)
    assert code == 1
    nulls = steps["null-ratio-by-feature"]
    assert nulls["status"] == "failed"
    assert [x["labels"]["feature"] for x in nulls["samples"] if x["value"] > 0.1] == ["country"]


def test_bad_model_deploy_rolls_back(
    oncall: CliRunner, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    code, report, steps = run(oncall, "bad-model-deploy", prometheus_server.times.after)
    assert code == 1 and report["outcome"] == "unhealthy"
    rollbacks = [s for s in steps.values() if s["kind"] == "registry.rollback"]
    assert rollbacks and rollbacks[0]["changes"][0]["after"] == "3"
    assert champion(registry) == "3"


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
