"""`mlsre readiness` against real Prometheus servers (with loaded SLO rules, and a second layout)
and the real MLflow registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mlsre.cli.app import app
from mlsre.paths import bundled_dir
from mlsre.slo.rules import rule_groups
from mlsre.slo.spec import load_slos
from tests.support import scenario_fraud as fraud
from tests.support.fixtures_servers import MODEL, MlflowServer, backfilled_prometheus

pytestmark = [pytest.mark.prometheus, pytest.mark.mlflow, pytest.mark.slow]

AT = str(fraud.T0 + 45 * 60)
# An alert about the model that no bundled runbook lists in its triggers.
EXTRA_GROUP = {
    "name": "fraud-extra",
    "rules": [
        {
            "alert": "FraudDetectorQueueBacklog",
            "expr": "vector(1) > 2",
            "labels": {"model": MODEL, "severity": "page"},
        }
    ],
}


@pytest.fixture(scope="session")
def ruled_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    groups = rule_groups(load_slos([bundled_dir("slos")]))
    rules = yaml.safe_dump({"groups": [*groups["groups"], EXTRA_GROUP]})
    root = tmp_path_factory.mktemp("ruled")
    with backfilled_prometheus(root, fraud.openmetrics(), rules) as url:
        yield url


def workspace(root: Path, prom: str, reg: str, *, slos: bool) -> None:
    r = CliRunner().invoke(app, ["init", str(root / "ws")])
    assert r.exit_code == 0, r.output
    ws = root / "ws"
    if slos:
        for f in bundled_dir("slos").glob("*.yaml"):
            (ws / "slos" / f.name).write_text(f.read_text())
    (ws / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prom}', retries: 0}}\nregistry: {{url: '{reg}', retries: 0}}\n"
    )
    import os

    os.chdir(ws)


def readiness(*args: str) -> tuple[int, dict[str, Any]]:
    r = CliRunner().invoke(app, ["readiness", MODEL, "--at", AT, "--json", *args])
    assert "Traceback" not in r.output, r.output
    return r.exit_code, json.loads(r.stdout, parse_constant=_refuse)


def _refuse(name: str) -> Any:
    raise AssertionError(f"JSON holds {name}")


def items(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in report["models"][0]["items"]}


def test_a_prepared_model_scores_high_and_says_what_is_unknown(
    isolated: Path, ruled_prometheus: str, registry: MlflowServer
) -> None:
    workspace(isolated, ruled_prometheus, registry.url, slos=True)
    registry.call(
        "POST", "registered-models/alias", {"name": MODEL, "alias": "fallback", "version": "2"}
    )
    code, report = readiness("--min-score", "70")
    assert code == 0, report
    it = items(report)
    for key in ("latency", "errors", "traffic", "predictions", "features"):
        assert it[f"metrics.{key}"]["status"] == "pass", it[f"metrics.{key}"]
    assert it["slo.defined"]["status"] == "pass"
    assert "model-availability" in it["slo.defined"]["reason"]
    assert it["slo.rules_loaded"]["status"] == "pass", it["slo.rules_loaded"]
    alerts = it["alerts.runbooks"]
    assert alerts["status"] == "fail"
    assert "FraudDetectorQueueBacklog" in alerts["reason"]
    assert "ModelAvailabilityErrorBudgetBurn" not in alerts["reason"]
    assert it["runbooks.preflight"]["status"] == "pass", it["runbooks.preflight"]
    assert it["registry.rollback_target"]["status"] == "pass"
    assert "to 3" in it["registry.rollback_target"]["reason"]
    assert it["registry.fallback"]["status"] == "pass"
    assert it["postmortems.repo"]["status"] == "pass"
    assert it["escalation.policy"]["status"] == "fail"
    assert "escalation.policies" in it["escalation.policy"]["fix"]
    assert it["gameday.recent"]["status"] == "fail"
    assert it["gameday.recent"]["reason"] == f"no game day recorded for {MODEL}"
    passed = sum(1 for i in it.values() if i["status"] == "pass")
    assert report["models"][0]["score"] == round(100 * passed / len(it), 1)
    code, report = readiness("--min-score", "95")
    assert code == 1 and report["ok"] is False


def test_an_unprepared_model_on_another_layout_gets_fixes(
    isolated: Path, service_prometheus: str, registry: MlflowServer
) -> None:
    workspace(isolated, service_prometheus, registry.url, slos=False)
    code, report = readiness()
    assert code == 0  # default min score 0: a report, not a gate
    it = items(report)
    lat = it["metrics.latency"]
    assert lat["status"] == "fail"
    assert "model_request_duration_seconds_bucket has no series" in lat["reason"]
    assert "--input latency_metric=inference_latency_seconds" in lat["fix"]
    assert it["slo.defined"]["status"] == "fail"
    assert it["slo.rules_loaded"]["status"] == "unknown"
    assert it["alerts.runbooks"]["status"] == "fail"
    assert "nobody would be paged" in it["alerts.runbooks"]["reason"]
    assert it["runbooks.preflight"]["status"] == "fail"
    fb = it["registry.fallback"]
    assert fb["status"] == "fail" and "no fallback designated" in fb["reason"]
    assert "--designate VERSION" in fb["fix"]

    renamed = ["-i", "latency_metric=inference_latency_seconds", "-i", "model_label=service"]
    code, report = readiness(*renamed, "-i", "requests_metric=inference_requests_total")
    it2 = items(report)
    assert it2["metrics.latency"]["status"] == "pass", it2["metrics.latency"]
    assert it2["metrics.traffic"]["status"] == "pass"
    errs = it2["metrics.errors"]  # the status code is in `status`, not `code`
    assert errs["status"] == "fail" and "--input code_label=status" in errs["fix"]
    assert report["models"][0]["score"] > items_score(it)


def items_score(it: dict[str, dict[str, Any]]) -> float:
    return round(100 * sum(1 for i in it.values() if i["status"] == "pass") / len(it), 1)


def test_table_view_and_exit_code(
    isolated: Path, service_prometheus: str, registry: MlflowServer
) -> None:
    workspace(isolated, service_prometheus, registry.url, slos=False)
    r = CliRunner().invoke(app, ["readiness", MODEL, "--at", AT, "--min-score", "50"])
    assert r.exit_code == 1, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == f"# {MODEL}"
    assert lines[1].split("\t") == ["item", "status", "reason", "fix"]
    rows = {ln.split("\t")[0]: ln.split("\t") for ln in lines[2:] if "\t" in ln}
    assert rows["gameday.recent"][1] == "fail"
    assert rows["registry.fallback"][1] == "fail"
    assert lines[-1].startswith(f"{MODEL}: score ") and lines[-1].endswith(
        "below the minimum score 50"
    )


def test_every_registered_model_by_default(
    isolated: Path, service_prometheus: str, registry: MlflowServer
) -> None:
    workspace(isolated, service_prometheus, registry.url, slos=False)
    r = CliRunner().invoke(app, ["readiness", "--at", AT, "--json"])
    assert r.exit_code == 0, r.output
    models = json.loads(r.stdout)["models"]
    assert [m["model"] for m in models] == ["churn-model", "fraud-detector"]
    churn = {i["id"]: i for i in models[0]["items"]}
    # churn-model: champion=2, no `previous` alias: the newest READY version below it
    assert churn["registry.rollback_target"]["status"] == "pass"
    assert (
        "would roll back to 1 (newest READY version below 2)"
        in (churn["registry.rollback_target"]["reason"])
    )
    assert churn["registry.fallback"]["status"] == "fail"


def test_a_registry_that_cannot_answer_is_unknown_not_fail(
    isolated: Path, service_prometheus: str
) -> None:
    from tests.support.faulty_server import refused_url

    workspace(isolated, service_prometheus, refused_url(), slos=False)
    code, report = readiness()
    assert code == 0
    it = items(report)
    for key in ("registry.rollback_target", "registry.fallback"):
        assert it[key]["status"] == "unknown", it[key]
        assert it[key]["reason"].startswith("could not ask the registry: cannot reach MLflow")
    assert it["metrics.features"]["status"] == "pass"  # Prometheus still answers


def test_terminal_table_shows_names_literally(
    isolated: Path, service_prometheus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.faulty_server import refused_url

    workspace(isolated, service_prometheus, refused_url(), slos=False)
    monkeypatch.setenv("MLSRE_FORCE_TERMINAL", "1")
    monkeypatch.setenv("COLUMNS", "400")
    r = CliRunner().invoke(app, ["readiness", "[red]x[/red]", "--at", AT])
    assert r.exit_code == 0, r.output
    assert 'model_feature_psi series has model="[red]x[/red]"' in r.stdout
    assert "[red]x[/red]: score " in r.stdout


def test_an_input_no_runbook_has_is_a_usage_error(isolated: Path) -> None:
    r = CliRunner().invoke(app, ["readiness", MODEL, "-i", "latency_metirc=x"])
    assert r.exit_code == 2
    assert "error: no runbook has an input latency_metirc" in r.stderr


def test_an_escalation_policy_and_a_recent_game_day_pass(
    isolated: Path, ruled_prometheus: str, registry: MlflowServer
) -> None:
    workspace(isolated, ruled_prometheus, registry.url, slos=False)
    ws = isolated / "ws"
    with (ws / "mlsre.yaml").open("a", encoding="utf-8") as f:
        f.write(
            "notify: {channels: {hook: {type: webhook, url: 'http://127.0.0.1:9/x'}}}\n"
            "escalation: {policies: [{name: ml-critical, match: {model: [fraud-detector]},"
            " levels: [{notify: [hook]}]}]}\n"
        )
    r = CliRunner().invoke(
        app, ["gameday", "run", "feature-pipeline-nulls", "--workdir", str(isolated / "gd")]
    )
    assert r.exit_code == 0, r.output
    now = CliRunner().invoke(app, ["readiness", MODEL, "--json", "--at", "now"])
    it = items(json.loads(now.stdout))
    assert it["escalation.policy"]["status"] == "pass"
    assert it["escalation.policy"]["reason"] == "escalation policy ml-critical"
    assert it["gameday.recent"]["status"] == "pass", it["gameday.recent"]
    before = items(readiness()[1])  # as of the scenario's time: the game day had not happened
    assert before["gameday.recent"]["status"] == "fail"
