"""Runbooks that compare with "before the deploy" on two metric layouts, with default inputs.

Layout "versioned" is tests/support/scenario_fraud.py (every serving metric has `version`); layout
"unversioned" is tests/support/scenario_fraud_unversioned.py (the request counter has `model` and `code`
but no `version`: only the latency histogram says which version served). The same incident must
read the same on both: the deploy at T0 is the cause, the rollback runs; and at a healthy time
(before the deploy, nothing changed in the lookback) every runbook reads healthy and exits 0.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import scenario_fraud as scenario
from tests.support.fixtures_servers import MlflowServer, PromServer
from tests.support.helpers import ok, run

pytestmark = [pytest.mark.prometheus, pytest.mark.mlflow]

INCIDENT_AT = scenario.T0 + 45 * 60
HEALTHY_AT = scenario.T0 - 30 * 60
CHANGED_AT = datetime.fromtimestamp(scenario.T0, UTC).strftime("%Y-%m-%d %H:%M")
# runbook -> its "now vs. before the deploy" steps
COMPARES = {
    "latency-regression": ["p99-vs-before-deploy"],
    "error-rate": ["errors-vs-before-deploy"],
    "bad-model-deploy": ["errors-vs-before", "latency-vs-before"],
    "training-serving-skew": ["psi-since-deploy"],
}


@pytest.fixture(params=["versioned", "unversioned"])
def layout(request: pytest.FixtureRequest) -> PromServer:
    name = "prometheus_server" if request.param == "versioned" else "prometheus_unversioned"
    server: PromServer = request.getfixturevalue(name)
    return server


def _workspace(root: Path, prom: PromServer, reg: MlflowServer) -> str:
    ok("init", str(root))
    (root / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prom.url}', timeout_s: 10}}\nregistry: {{url: '{reg.url}'}}\n"
    )
    opened = ok("incident", "open", "fraud-detector drill", "--model", scenario.MODEL, "--json")
    return str(json.loads(opened.stdout)["id"])


def _run(runbook: str, ref: str, at: int) -> tuple[int, dict[str, dict[str, Any]]]:
    r = run(
        *("runbook", "run", runbook, "--incident", ref, "--non-interactive", "--yes"),
        *("--at", str(at), "--json"),
    )
    assert "Traceback" not in r.stderr, r.stderr
    report = json.loads(r.stdout)
    return r.exit_code, {s["step"]: s for s in report["steps"]}


def _champion(reg: MlflowServer) -> str:
    resp = requests.get(
        f"{reg.url}/api/2.0/mlflow/registered-models/alias",
        params={"name": scenario.MODEL, "alias": "champion"},
        timeout=10,
    )
    return str(resp.json()["model_version"]["version"])


@pytest.mark.parametrize("runbook", sorted(COMPARES))
def test_the_deploy_is_found_and_rolled_back_on_both_layouts(
    runbook: str, layout: PromServer, registry: MlflowServer, isolated: Path
) -> None:
    ref = _workspace(isolated, layout, registry)
    code, steps = _run(runbook, ref, INCIDENT_AT)
    for sid in COMPARES[runbook]:
        compare = steps[sid]
        assert compare["status"] == "failed", compare["summary"]
        assert compare["output"]["version"] == "4", compare["output"]
        assert compare["output"]["previous_version"] == "3"
        assert compare["output"]["changed_at"].startswith(CHANGED_AT.replace(" ", "T"))
        # the line a person reads says what changed, when, and the values before and after
        assert f"version 4 went live at {CHANGED_AT}" in compare["summary"]
        assert "now " in compare["summary"] and "baseline " in compare["summary"]
    assert steps["rollback"]["status"] == "passed", steps["rollback"]["summary"]
    assert _champion(registry) == "3"
    # the run reads data as of --at; the rollback happened now: verification says it cannot
    # data checks cannot see a change made now; registry reads show the present anyway
    verify = [s for s in steps.values() if s["phase"] == "verify"]
    series = [s for s in verify if not s["kind"].startswith("registry.")]
    assert series and all(s["status"] == "skipped" for s in series)
    assert all("cannot verify here" in s["summary"] for s in series)
    for s in verify:
        if s["kind"] == "registry.current":
            assert s["status"] == "passed" and s["output"]["version_now"] == "3", s
    assert code == 1


@pytest.mark.parametrize("runbook", sorted(COMPARES))
def test_a_healthy_time_reads_healthy_on_both_layouts(
    runbook: str, layout: PromServer, registry: MlflowServer, isolated: Path
) -> None:
    ref = _workspace(isolated, layout, registry)
    code, steps = _run(runbook, ref, HEALTHY_AT)
    for sid in COMPARES[runbook]:
        assert steps[sid]["status"] == "passed", steps[sid]["summary"]
        assert steps[sid]["summary"].startswith("no version change in the last "), steps[sid]
        assert steps[sid]["output"]["versions_seen"] == ["3"]
    assert steps["rollback"]["status"] == "skipped"
    # "not needed", or (skew: it also reads a question nobody answered) honestly undecided
    assert steps["rollback"]["summary"].startswith(("not needed:", "could not decide")), steps
    if "skew-cause" in steps:
        assert "skew-cause has no result" in steps["rollback"]["summary"]
    verify = [s for s in steps.values() if s["phase"] == "verify"]
    assert verify and all(s["summary"].startswith("nothing to verify") for s in verify)
    assert _champion(registry) == "4"
    assert code == 0, {k: (s["status"], s["summary"]) for k, s in steps.items()}


def test_the_version_metric_is_found_from_the_series_that_carry_the_label(
    prometheus_unversioned: PromServer, registry: MlflowServer, isolated: Path
) -> None:
    ref = _workspace(isolated, prometheus_unversioned, registry)
    _, steps = _run("latency-regression", ref, INCIDENT_AT)
    out = steps["p99-vs-before-deploy"]["output"]
    # the request counter has no `version`: never a version of its own, never "changed"
    assert out["version_metric"] == "model_request_duration_seconds_count"
    assert out["versions_seen"] == ["3", "4"]


def test_a_label_no_series_carries_is_a_clear_error(
    prometheus_unversioned: PromServer, registry: MlflowServer, isolated: Path
) -> None:
    ref = _workspace(isolated, prometheus_unversioned, registry)
    r = run(
        *("runbook", "run", "latency-regression", "--incident", ref, "--non-interactive"),
        *("--at", str(INCIDENT_AT), "-i", "version_label=model_version", "--json"),
    )
    steps = {s["step"]: s for s in json.loads(r.stdout)["steps"]}
    compare = steps["p99-vs-before-deploy"]
    assert compare["status"] == "error"
    assert "carries a `model_version` label" in compare["summary"]
    # the rollback depends on it: undecided, never "false"
    rollback = steps["rollback"]
    assert rollback["status"] == "skipped"
    assert rollback["summary"].startswith(
        "could not decide whether to roll the serving alias back to the previous version: "
        "p99-vs-before-deploy could not run"
    )
    assert r.exit_code == 1  # p99 per version failed: unhealthy outranks "could not check"
    assert _champion(registry) == "4"
    assert "rollback: could not decide" in "\n".join(json.loads(r.stdout)["needs_attention"])
