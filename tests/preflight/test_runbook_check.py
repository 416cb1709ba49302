"""`mlsre runbook check --live` on the fraud layout and on a layout the runbooks were not written for.

Real Prometheus servers (the fraud scenario, and tests/support/scenario_service.py's other conventions)
and the real MLflow registry. Suggestions are tested by applying them and checking again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlsre.cli.app import app
from tests.support import scenario_fraud as fraud
from tests.support.faulty_server import refused_url
from tests.support.fixtures_servers import MODEL, MlflowServer, PromServer

pytestmark = [pytest.mark.prometheus, pytest.mark.mlflow]

AT = str(fraud.T0 + 45 * 60)


def workspace(root: Path, prom: str, reg: str) -> None:
    (root / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prom}', retries: 0}}\nregistry: {{url: '{reg}', retries: 0}}\n"
    )


def check(*args: str) -> tuple[int, dict[str, Any]]:
    r = CliRunner().invoke(app, ["runbook", "check", "--live", "--at", AT, "--json", *args])
    assert "Traceback" not in r.output, r.output
    return r.exit_code, json.loads(r.stdout, parse_constant=_no_constants)


def _no_constants(name: str) -> Any:
    raise AssertionError(f"JSON holds {name}")


def steps(report: dict[str, Any], runbook: str) -> dict[str, dict[str, Any]]:
    rb = next(r for r in report["runbooks"] if r["id"] == runbook)
    return {s["step"]: s for s in rb["steps"]}


def champion(reg: MlflowServer, alias: str = "champion") -> str | None:
    model = reg.call("GET", f"registered-models/get?name={MODEL}")["registered_model"]
    return next((a["version"] for a in model.get("aliases") or [] if a["alias"] == alias), None)


def test_fraud_layout_works_once_a_fallback_is_designated(
    isolated: Path, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    workspace(isolated, prometheus_server.url, registry.url)
    code, report = check("-i", f"model={MODEL}")
    assert code == 1
    broken = {r["id"] for r in report["runbooks"] if not r["works"]}
    assert broken == {"serving-fallback"}
    canary = next(r for r in report["runbooks"] if r["id"] == "canary-rollout")
    assert canary["status"] == "not_run" and "needs canary, baseline" in canary["problem"]
    fb = steps(report, "serving-fallback")["fallback"]
    assert fb["status"] == "registry_missing"
    assert "no fallback designated" in fb["summary"] and "--designate VERSION" in fb["summary"]
    # mutating steps never ran; their targets were read
    rollback = steps(report, "latency-regression")["rollback"]
    assert rollback["status"] == "ok"
    assert champion(registry) == "4" and champion(registry, "fallback") is None
    assert steps(report, "error-rate")["error-ratio"]["status"] == "ok"
    assert steps(report, "error-rate")["errors-recovered"]["status"] == "ok"  # wait: one poll

    registry.call(
        "POST", "registered-models/alias", {"name": MODEL, "alias": "fallback", "version": "2"}
    )
    code, report = check("-i", f"model={MODEL}")
    assert code == 0, [r for r in report["runbooks"] if not r["works"]]
    assert report["counts"]["ok"] >= 40
    assert champion(registry) == "4"


def test_a_misspelt_model_gets_did_you_mean_and_the_override(
    isolated: Path, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    workspace(isolated, prometheus_server.url, registry.url)
    code, report = check("error-rate", "-i", "model=fraud-detectr")
    assert code == 1
    s = steps(report, "error-rate")
    assert s["error-ratio"]["status"] == "unknown_label_value"
    assert "did you mean 'fraud-detector'" in s["error-ratio"]["summary"]
    assert s["error-ratio"]["suggest"] == {"model": "fraud-detector"}
    assert s["live-version"]["status"] == "registry_missing"
    assert s["live-version"]["suggest"] == {"model": "fraud-detector"}
    assert report["suggest"] == {"model": "fraud-detector"}
    code, _ = check("error-rate", "-i", "model=fraud-detector")
    assert code == 0
    code, report = check(
        "error-rate", "-i", "model=fraud-detector", "-i", "requests_metric=model_requets_total"
    )
    assert code == 1
    assert steps(report, "error-rate")["error-ratio"]["suggest"] == {
        "requests_metric": "model_requests_total"
    }


def test_other_layout_suggestions_converge_and_what_cannot_be_fixed_stays_said(
    isolated: Path, service_prometheus: str, registry: MlflowServer
) -> None:
    workspace(isolated, service_prometheus, registry.url)
    given = [f"model={MODEL}"]

    def run_with(extra: dict[str, str]) -> tuple[int, dict[str, dict[str, Any]]]:
        args = [a for kv in [*given, *(f"{k}={v}" for k, v in extra.items())] for a in ("-i", kv)]
        code, report = check("error-rate", "latency-regression", *args)
        return code, {r["id"]: r for r in report["runbooks"]}

    code, first = run_with({})
    assert code == 1
    ratio = {s["step"]: s for s in first["error-rate"]["steps"]}["error-ratio"]
    assert ratio["status"] == "unknown_metric"
    assert "did you mean 'inference_requests_total'" in ratio["summary"]
    assert first["error-rate"]["suggest"]["requests_metric"] == "inference_requests_total"
    assert first["latency-regression"]["suggest"]["latency_metric"] == "inference_latency_seconds"

    fixes = {**first["error-rate"]["suggest"], **first["latency-regression"]["suggest"]}
    code, second = run_with(fixes)
    ratio = {s["step"]: s for s in second["error-rate"]["steps"]}["error-ratio"]
    assert ratio["status"] == "missing_label"
    # the label carrying 'fraud-detector' is `service`; the one matching 5.. is `status`
    assert second["error-rate"]["suggest"]["model_label"] == "service"
    assert second["error-rate"]["suggest"]["code_label"] == "status"

    fixes |= second["error-rate"]["suggest"] | second["latency-regression"]["suggest"]
    code, third = run_with(fixes)
    assert code == 1  # no `version` label exists: nothing to suggest, and we say so
    er = {s["step"]: s for s in third["error-rate"]["steps"]}
    assert er["error-ratio"]["status"] == "ok"
    assert er["errors-by-code"]["status"] == "ok"
    by_version = er["error-ratio-by-version"]
    assert by_version["status"] == "missing_label"
    assert "groups by a label inference_requests_total does not have" in by_version["summary"]
    assert by_version["suggest"] == {}
    lat = {s["step"]: s for s in third["latency-regression"]["steps"]}
    assert lat["p99-by-version"]["status"] == "missing_label"


def test_feature_label_and_model_value_on_the_other_layout(
    isolated: Path, service_prometheus: str, registry: MlflowServer
) -> None:
    workspace(isolated, service_prometheus, registry.url)
    code, report = check("data-drift", "accuracy-decay", "-i", f"model={MODEL}")
    assert code == 1
    psi = [s for s in steps(report, "data-drift").values() if s["kind"] == "prometheus.query"]
    labels = {f["label"]: f for s in psi for f in s["findings"]}
    assert labels["feature"]["did_you_mean"] == ["feature_name"]
    assert steps(report, "data-drift")[psi[0]["step"]]["suggest"].get("feature_label") in (
        "feature_name",
        None,
    )
    scores = [
        f
        for s in steps(report, "accuracy-decay").values()
        for f in s["findings"]
        if f["metric"] == "model_prediction_score_bucket"
    ]
    assert scores and scores[0]["status"] == "unknown_label_value"
    assert scores[0]["did_you_mean"] == ["fraud_detector"]
    accuracy = [
        f
        for s in steps(report, "accuracy-decay").values()
        for f in s["findings"]
        if f["status"] == "unknown_metric"
    ]
    assert any(f["metric"] == "model_delayed_label_accuracy" for f in accuracy)
    # nothing there measures accuracy: no metric is offered in its place
    assert all(f["did_you_mean"] == [] for f in accuracy)
    assert (
        "accuracy_metric"
        not in next(r for r in report["runbooks"] if r["id"] == "accuracy-decay")["suggest"]
    )


def test_human_and_markdown_views(
    isolated: Path, service_prometheus: str, registry: MlflowServer
) -> None:
    workspace(isolated, service_prometheus, registry.url)
    runner = CliRunner()
    args = ["runbook", "check", "error-rate", "--live", "--at", AT, "-i", f"model={MODEL}"]
    r = runner.invoke(app, args)
    assert r.exit_code == 1, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "error-rate: WOULD NOT WORK (2 of 9 steps ok)"
    assert any(
        ln.startswith("  error-ratio: unknown metric: metric model_requests_total has no series")
        for ln in lines
    )
    assert "  try: --input requests_metric=inference_requests_total" in lines
    assert "0 of 1 runbook(s) work, 1 would not, 0 could not be fully checked" in r.stderr
    md = runner.invoke(app, [*args, "--markdown"])
    assert md.exit_code == 1
    assert md.stdout.startswith("# Runbook preflight\n")
    assert "| error-rate | **would not work** (unknown\\_metric) | 2/9 |" in md.stdout
    assert "`--input requests_metric=inference_requests_total`" in md.stdout


def test_a_pattern_matching_nothing_yet_is_no_data_not_broken(
    isolated: Path, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    """No 4xx in the scenario: a counter's 4xx series would appear with the first one."""
    workspace(isolated, prometheus_server.url, registry.url)
    code, report = check("error-rate", "-i", f"model={MODEL}", "-i", "error_codes=4..")
    assert code == 0
    ratio = steps(report, "error-rate")["error-ratio"]
    assert ratio["status"] == "no_data"
    assert 'no model_requests_total series has code=~"4.." (values: 200, 500)' in ratio["summary"]


def test_prometheus_down_is_unknown_not_broken(isolated: Path, registry: MlflowServer) -> None:
    workspace(isolated, refused_url(), registry.url)
    code, report = check("latency-regression", "-i", f"model={MODEL}")
    assert code == 4
    s = steps(report, "latency-regression")
    assert s["p99-by-version"]["status"] == "unreachable"
    assert s["live-version"]["status"] == "ok"


def test_usage_errors(isolated: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["runbook", "check"])
    assert r.exit_code == 2 and "needs --live" in r.stderr
    r = runner.invoke(app, ["runbook", "check", "--live", "-i", "modle=x"])
    assert r.exit_code == 2 and "no runbook checked has an input modle" in r.stderr


@pytest.mark.parametrize("mode", ["html200", "truncated", "unavailable"])
def test_garbage_from_prometheus_is_unknown_with_one_line_each(
    isolated: Path, registry: MlflowServer, faulty: Any, mode: str
) -> None:
    workspace(isolated, f"{faulty.url}/{mode}", registry.url)
    args = ["runbook", "check", "latency-regression", "--live", "--at", AT, "-i", f"model={MODEL}"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 4, r.output
    assert "Traceback" not in r.output
    lines = r.stdout.splitlines()
    assert (
        lines[0] == "latency-regression: UNKNOWN: some steps could not be checked (3 of 8 steps ok)"
    )
    p99 = next(ln for ln in lines if ln.startswith("  p99-by-version: "))
    assert p99.startswith("  p99-by-version: unreachable: ") and "\n" not in p99


def test_a_runbook_file_that_does_not_load_fails_the_check(
    isolated: Path, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    workspace(isolated, prometheus_server.url, registry.url)
    (isolated / "runbooks").mkdir()
    (isolated / "runbooks" / "broken.yaml").write_text("apiVersion: mlsre/v1\nkind: Runbook\n")
    registry.call(
        "POST", "registered-models/alias", {"name": MODEL, "alias": "fallback", "version": "2"}
    )
    code, report = check("-i", f"model={MODEL}")
    assert code == 1 and report["ok"] is False
    assert all(r["works"] for r in report["runbooks"])
    assert len(report["invalid"]) >= 1 and "broken.yaml" in report["invalid"][0]


READS_INCIDENT = """\
apiVersion: mlsre/v1
kind: Runbook
id: reads-incident
title: Requests now vs when the incident started
failure_mode: errors
triggers: {alerts: [FraudTraffic]}
inputs:
  model: {required: true}
steps:
  - id: traffic-since-start
    uses: prometheus.compare
    with:
      query: sum(rate(model_requests_total{model="{{ incident.model }}"}[5m]))
      baseline: incident
    expect: ratio < 10
"""


def test_steps_that_read_the_incident_see_a_stand_in(
    isolated: Path, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    workspace(isolated, prometheus_server.url, registry.url)
    (isolated / "reads-incident.yaml").write_text(READS_INCIDENT)
    code, report = check("reads-incident.yaml", "-i", f"model={MODEL}")
    assert code == 0, report
    step = steps(report, "reads-incident")["traffic-since-start"]
    assert step["status"] == "ok"
    assert step["queries"] == ['sum(rate(model_requests_total{model="fraud-detector"}[5m]))']
