"""Gated promotion and the canary-rollout runbook against a real MLflow server and a real
Prometheus holding the canary scenarios: promote only on pass, record it, idempotent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import scenario_canary as sc
from tests.support.fixtures_servers import MlflowServer
from tests.support.helpers import run

pytestmark = [pytest.mark.mlflow, pytest.mark.prometheus]
CASES = ("same", "worse", "idle")


def _aliases(server: MlflowServer, model: str) -> dict[str, str]:
    got = server.call("GET", f"registered-models/get?name={model}")["registered_model"]
    return {a["alias"]: a["version"] for a in got.get("aliases") or []}


def _tags(server: MlflowServer, model: str) -> dict[str, Any]:
    got = server.call("GET", f"registered-models/get?name={model}")["registered_model"]
    return {t["key"]: json.loads(t["value"]) for t in got.get("tags") or []}


@pytest.fixture(scope="module")
def seeded(mlflow_server: MlflowServer) -> Iterator[MlflowServer]:
    """fraud-same, fraud-worse, fraud-idle with versions 1..5 on the session's MLflow server,
    deleted again at the end: other tests count the registered models."""
    run_id = mlflow_server.run_ids["4"]
    names = [sc.BUNDLED.model(case) for case in CASES]
    for name in names:
        mlflow_server.call("POST", "registered-models/create", {"name": name})
        for _ in range(5):
            body = {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id}
            mlflow_server.call("POST", "model-versions/create", body)
    try:
        yield mlflow_server
    finally:
        for name in names:
            mlflow_server.call("DELETE", "registered-models/delete", {"name": name})


@pytest.fixture
def models(seeded: MlflowServer) -> MlflowServer:
    """champion=4, canary=5, nothing of ours recorded (the tests' own REST setup)."""
    for case in CASES:
        name = sc.BUNDLED.model(case)
        for alias in set(_aliases(seeded, name)) - {"champion", "canary"}:
            seeded.call("DELETE", "registered-models/alias", {"name": name, "alias": alias})
        for alias, version in (("champion", sc.BASELINE), ("canary", sc.CANARY)):
            body = {"name": name, "alias": alias, "version": version}
            seeded.call("POST", "registered-models/alias", body)
        for key in _tags(seeded, name):
            seeded.call("DELETE", "registered-models/delete-tag", {"name": name, "key": key})
    return seeded


@pytest.fixture
def env(models: MlflowServer, canary_prometheus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLSRE_PROMETHEUS_URL", canary_prometheus)
    monkeypatch.setenv("MLSRE_REGISTRY_URL", models.url)


WINDOW = ("--at", str(sc.END), "--lookback", "45m")


def promote(case: str, *extra: str) -> Any:
    return run(
        "model", "promote", sc.BUNDLED.model(case), "5", "--gate", "default", *WINDOW, *extra
    )


def test_passing_canary_is_promoted_recorded_and_idempotent(
    env: None, models: MlflowServer
) -> None:
    model = sc.BUNDLED.model("same")
    r = promote("same", "--yes", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)["promotion"]
    assert data["promoted"] is True and data["judgement"]["verdict"] == "pass"
    assert _aliases(models, model) == {"champion": "5", "previous": "4", "canary": "5"}
    tags = _tags(models, model)
    assert tags["mlsre.canary.5"]["verdict"] == "pass"
    assert tags["mlsre.canary.5"]["baseline"] == "4"  # judged against champion's version
    moved = tags["mlsre.promote.champion"]
    assert (moved["from"], moved["to"], moved["gate"]["score"]) == ("4", "5", 100)
    again = promote("same", "--yes")
    assert again.exit_code == 0, again.output
    assert "already points at version 5" in again.stdout
    assert "canary fraud-same" not in again.stdout  # nothing judged the second time
    assert _tags(models, model) == tags


def test_failing_canary_is_not_promoted_but_the_judgement_is_recorded(
    env: None, models: MlflowServer
) -> None:
    model = sc.BUNDLED.model("worse")
    r = promote("worse", "--yes")
    assert r.exit_code == 1, r.output
    assert "FAIL: score 0 (critical metric p99-latency, error-ratio failed)" in r.stdout
    assert "not promoted: the canary judgement is fail" in r.stdout
    assert _aliases(models, model)["champion"] == "4"
    tags = _tags(models, model)
    assert tags["mlsre.canary.5"]["metrics"]["p99-latency"] == "High"
    assert "mlsre.promote.champion" not in tags


def test_idle_canary_could_not_be_judged(env: None, models: MlflowServer) -> None:
    r = promote("idle", "--yes")
    assert r.exit_code == 4, r.output
    assert _aliases(models, sc.BUNDLED.model("idle"))["champion"] == "4"


def test_promotion_and_refusal_on_an_incident(env: None, models: MlflowServer) -> None:
    assert run("incident", "open", "rollout of fraud v5", "-s", "SEV4").exit_code == 0
    assert promote("worse", "--yes", "--incident", "INC-1").exit_code == 1
    r = promote("same", "--yes", "--incident", "INC-1")
    assert r.exit_code == 0, r.output
    assert "recorded on INC-1" in r.stdout
    events = json.loads(run("incident", "export", "INC-1").stdout)
    events = events[0]["events"] if isinstance(events, list) else events["events"]
    kinds = [(e["kind"], e["data"]) for e in events]
    note = next(d for k, d in kinds if k == "note")
    assert "canary gate refused promoting fraud-worse 5" in note["text"]
    changed = next(d for k, d in kinds if k == "model_changed")
    assert (changed["from_version"], changed["to_version"]) == ("4", "5")
    assert changed["gate"]["verdict"] == "pass"


def test_promotion_needs_confirmation_unattended(env: None, models: MlflowServer) -> None:
    r = promote("same")
    assert r.exit_code == 2
    assert "needs confirmation" in r.stderr
    assert _aliases(models, sc.BUNDLED.model("same"))["champion"] == "4"


def test_canary_rollout_runbook_moves_a_failed_canary_back(
    env: None, models: MlflowServer, tmp_path: Path
) -> None:
    model = sc.BUNDLED.model("worse")
    r = run(
        "runbook", "run", "canary-rollout", "-i", f"model={model}", "-i", "canary=5",
        "-i", "baseline=4", "-i", "lookback=45m", "--at", str(sc.END),
        "--open", "--non-interactive", "--yes", "--json",
    )  # fmt: skip
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)
    steps = {s["step"]: s for s in report["steps"]}
    assert steps["judge"]["status"] == "failed"
    assert steps["judge"]["output"]["verdict"] == "fail"
    assert steps["promote"]["status"] == "skipped"
    assert steps["rollback-canary"]["status"] == "passed"
    assert _aliases(models, model) == {"champion": "4", "canary": "4"}


def test_canary_rollout_runbook_promotes_a_passing_canary(env: None, models: MlflowServer) -> None:
    model = sc.BUNDLED.model("same")
    r = run(
        "runbook", "run", "canary-rollout", "-i", f"model={model}", "-i", "canary=5",
        "-i", "baseline=4", "-i", "lookback=45m", "--at", str(sc.END),
        "--open", "--non-interactive", "--yes", "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    steps = {s["step"]: s for s in json.loads(r.stdout)["steps"]}
    assert steps["judge"]["status"] == "passed"
    assert steps["promote"]["status"] == "passed"
    assert steps["rollback-canary"]["status"] == "skipped"
    assert steps["production-alias"]["status"] == "passed"
    assert _aliases(models, model) == {"champion": "5", "previous": "4", "canary": "5"}


def test_dry_run_judges_but_changes_and_records_nothing(env: None, models: MlflowServer) -> None:
    model = sc.BUNDLED.model("same")
    r = promote("same", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "PASS: score 100" in r.stdout and "would promote" in r.stdout
    assert _aliases(models, model)["champion"] == "4"
    assert _tags(models, model) == {}


def test_promotion_asks_a_person_at_a_terminal(
    models: MlflowServer, canary_prometheus: str, isolated: Path
) -> None:
    """A real pseudo-terminal: 'n' changes nothing and judges nothing; 'y' judges, promotes."""
    import os
    import sys

    import pexpect

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "COLUMNS": "140",
        "TERM": "xterm",
        "NO_COLOR": "1",
        "MLSRE_PROMETHEUS_URL": canary_prometheus,
        "MLSRE_REGISTRY_URL": models.url,
    }
    model = sc.BUNDLED.model("same")
    argv = ["-m", "mlsre", "model", "promote", model, "5", "--gate", "default", *WINDOW]
    for answer, expected in (("n", "4"), ("y", "5")):
        child = pexpect.spawn(
            sys.executable, argv, cwd=str(isolated), env=env, encoding="utf-8", timeout=90
        )
        child.expect_exact(f"Point {model}@champion at version 5 if the canary judgement passes?")
        child.sendline(answer)
        child.expect(pexpect.EOF)
        child.close()
        assert _aliases(models, model)["champion"] == expected
    screen = child.before or ""
    assert "PASS: score 100" in screen and "champion -> 5: promoted" in screen
