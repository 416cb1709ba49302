"""`mlsre triage MODEL` on both metric layouts: what is wrong, and which runbook next."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import scenario_fraud as scenario
from tests.support.fixtures_servers import MlflowServer, PromServer
from tests.support.helpers import ok, run

pytestmark = [pytest.mark.prometheus, pytest.mark.mlflow]

INCIDENT_AT = scenario.T0 + 45 * 60
HEALTHY_AT = scenario.T0 - 30 * 60


def _workspace(root: Path, prom: PromServer, reg: MlflowServer) -> None:
    ok("init", str(root))
    (root / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prom.url}', timeout_s: 10}}\nregistry: {{url: '{reg.url}'}}\n"
    )


def test_triage_during_the_incident_points_at_a_runbook_and_changes_nothing(
    isolated: Path, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    _workspace(isolated, prometheus_server, registry)
    r = run("triage", scenario.MODEL, "--at", str(INCIDENT_AT), "--json")
    assert r.exit_code == 1, r.stdout + r.stderr
    report = json.loads(r.stdout)
    verdicts = {v["runbook"]: v for v in report["verdicts"]}
    assert set(verdicts) >= {"latency-regression", "error-rate", "data-drift", "bad-model-deploy"}
    failed = {v: {f["step"] for f in verdicts[v]["failed"]} for v in verdicts}
    assert "p99-vs-before-deploy" in failed["latency-regression"]
    assert "errors-vs-before-deploy" in failed["error-rate"]
    assert "psi-by-feature" in failed["data-drift"]
    # a runbook tracing a problem to the version change first, then by problems found
    ranks = [(v["cause"] is None, -len(v["failed"])) for v in report["verdicts"]]
    assert ranks == sorted(ranks)
    assert report["next_runbook"] == report["verdicts"][0]["runbook"] == "bad-model-deploy"
    assert report["verdicts"][0]["cause"].startswith("version 4 went live at 2026-11-28T17:29")
    assert report["evaluated_at"].startswith("2026-11-28T18:14")
    # diagnose only: no mitigation, no incident
    assert all(f["step"] != "rollback" for v in report["verdicts"] for f in v["failed"])
    assert json.loads(ok("incident", "list", "--all", "--json").stdout) == []
    champion = registry.call("GET", f"registered-models/alias?name={scenario.MODEL}&alias=champion")
    assert champion["model_version"]["version"] == "4"

    # the human view: one screen, what is wrong and the command to run next
    shown = run("triage", scenario.MODEL, "--at", str(INCIDENT_AT))
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"Triage of {scenario.MODEL} (data as of 2026-11-28T18:14")
    assert f"Next: mlsre runbook run {report['next_runbook']} -i model=fraud-detector --open" in (
        shown.stdout
    )
    assert "Cause to rule out first: version 4 went live at 2026-11-28T17:29" in shown.stdout
    assert len(lines) <= 24


def test_triage_at_a_healthy_time_on_the_unversioned_layout_finds_nothing(
    isolated: Path, prometheus_unversioned: PromServer, registry: MlflowServer
) -> None:
    _workspace(isolated, prometheus_unversioned, registry)
    r = run(
        "triage", scenario.MODEL, "--at", str(HEALTHY_AT), "--alert", "ModelLatencyHigh", "--json"
    )
    report = json.loads(r.stdout)
    # both runbooks this alert triggers: a deploy's regression, and a fallback for what is not one
    verdicts = {v["runbook"]: v["outcome"] for v in report["verdicts"]}
    assert verdicts["latency-regression"] == "healthy", report
    # before the deploy the registry cannot say how long version 4 has been live, and no
    # fallback is designated: the fallback runbook could not check, it did not fail
    assert verdicts["serving-fallback"] == "error", report
    assert "unhealthy" not in verdicts.values()
    assert r.exit_code != 1, r.output


def test_triage_fits_one_80_column_screen(
    isolated: Path, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    from tests.cli.test_prompts_screen import Terminal

    _workspace(isolated, prometheus_server, registry)
    term = Terminal(isolated, "triage", scenario.MODEL, "--at", str(INCIDENT_AT), rows=30)
    screen = term.settled("Next: mlsre runbook run")
    assert term.finish() == 1
    assert screen.splitlines()[0].startswith("Triage of fraud-detector")  # nothing scrolled off
    lines = screen.splitlines()
    for runbook in ("latency-regression", "error-rate", "bad-model-deploy", "data-drift"):
        (row,) = [line for line in lines if line.split()[:1] == [runbook]]  # one line each
        assert "unhealthy" in row
    assert "Cause to rule out first: version 4 went live at 2026-11-28T17:29" in screen
