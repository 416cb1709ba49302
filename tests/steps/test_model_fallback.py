"""`mlsre model fallback|restore` and the `registry.fallback` step against a real MLflow server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlsre.cli.app import app
from mlsre.integrations.mlflow import MlflowClient
from mlsre.settings import RegistrySettings
from tests.support import scenario_fraud as scenario
from tests.support.fixtures_servers import MODEL, MlflowServer, PromServer

pytestmark = pytest.mark.mlflow


@pytest.fixture
def workspace(registry: MlflowServer, isolated: Path) -> Path:
    (isolated / "mlsre.yaml").write_text(f"registry: {{url: '{registry.url}', timeout_s: 30}}\n")
    return isolated


def alias(server: MlflowServer, name: str = "champion") -> str:
    return MlflowClient(RegistrySettings(url=server.url)).version_by_alias(MODEL, name).version


def live(server: MlflowServer) -> str:
    """How `registry.current` knows since when champion's version is live."""
    from mlsre.settings import Settings
    from mlsre.steps.base import StepContext
    from mlsre.steps.model_registry.kinds import CurrentParams, RegistryCurrent

    settings = Settings.model_validate({"registry": {"url": server.url}})
    result = RegistryCurrent().run(CurrentParams(model=MODEL), StepContext(settings))
    assert result.output["age_s"] < 60, result.output
    return str(result.output["age_source"])


def cli(*args: str) -> Any:
    r = CliRunner().invoke(app, list(args))
    assert "Traceback" not in r.output
    return r


def events(incident: str) -> list[dict[str, Any]]:
    r = cli("incident", "export", incident)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    found: list[dict[str, Any]] = data["events"] if "events" in data else data[0]["events"]
    return found


def test_no_fallback_designated_is_a_clear_refusal(workspace: Path, registry: MlflowServer) -> None:
    r = cli("model", "fallback", MODEL, "--yes")
    assert r.exit_code == 1
    assert "fraud-detector has no fallback designated: no alias 'fallback'" in r.stderr
    assert "aliases: champion=4, previous=3" in r.stderr
    assert f"hint: designate one: `mlsre model fallback {MODEL} --designate VERSION`" in r.stderr
    assert alias(registry) == "4"


def test_fallback_verify_restore_recorded_and_idempotent(
    workspace: Path, registry: MlflowServer
) -> None:
    r = cli("model", "fallback", MODEL, "--designate", "2")
    assert r.exit_code == 0, r.output
    assert alias(registry, "fallback") == "2" and alias(registry) == "4"
    assert cli("incident", "open", "fraud errors", "--model", MODEL).exit_code == 0

    r = cli("model", "fallback", MODEL, "--incident", "INC-1", "--yes")
    assert r.exit_code == 0, r.output
    assert "fell back fraud-detector@champion: 4 -> 2 (fallback alias 'fallback'), verified" in (
        r.stdout
    )
    assert alias(registry) == "2"
    again = cli("model", "fallback", MODEL, "--incident", "INC-1", "--yes", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["move"]["changed"] is False
    assert alias(registry) == "2"

    assert live(registry) == "mlsre fallback record"  # not version 2's months-old deploy tag

    # restore finds the incident from the fallback's record, and the version from it too
    r = cli("model", "restore", MODEL, "--yes", "--json")
    assert r.exit_code == 0, r.output
    move = json.loads(r.stdout)["move"]
    assert (move["before"], move["after"], move["verified"]) == ("2", "4", True)
    assert alias(registry) == "4"
    assert "no change" in cli("model", "restore", MODEL, "--yes").stdout
    assert alias(registry) == "4"
    assert live(registry) == "mlsre fallback record"  # version 4 is live again since the restore

    changes = [e["data"] for e in events("INC-1") if e["kind"] == "model_changed"]
    assert [(c["action"], c["from_version"], c["to_version"]) for c in changes] == [
        ("fallback", "4", "2"),
        ("restore", "2", "4"),
    ]


def test_restore_refuses_when_the_alias_moved_since(
    workspace: Path, registry: MlflowServer
) -> None:
    assert cli("model", "restore", MODEL, "--yes").exit_code == 1  # nothing recorded yet
    cli("model", "fallback", MODEL, "--designate", "1")
    assert cli("model", "fallback", MODEL, "--yes").exit_code == 0
    registry.call(
        "POST", "registered-models/alias", {"name": MODEL, "alias": "champion", "version": "3"}
    )
    r = cli("model", "restore", MODEL, "--yes")
    assert r.exit_code == 1
    assert "fraud-detector@champion is version 3, not the fallback version 1" in r.stderr
    assert alias(registry) == "3"


def test_fallback_needs_confirmation_when_not_interactive(
    workspace: Path, registry: MlflowServer
) -> None:
    cli("model", "fallback", MODEL, "--designate", "2")
    r = cli("model", "fallback", MODEL)
    assert r.exit_code == 2
    assert "Needs confirmation" in r.stderr and "--yes" in r.stderr
    dry = cli("model", "fallback", MODEL, "--dry-run")
    assert dry.exit_code == 0 and "would move fraud-detector@champion from 4 to 2" in dry.stdout
    assert alias(registry) == "4"


@pytest.mark.prometheus
def test_serving_fallback_runbook_falls_back_only_without_a_recent_deploy(
    isolated: Path, registry: MlflowServer, prometheus_server: PromServer
) -> None:
    (isolated / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prometheus_server.url}'}}\nregistry: {{url: '{registry.url}'}}\n"
    )
    cli("model", "fallback", MODEL, "--designate", "2")
    assert cli("incident", "open", "fraud errors", "--model", MODEL).exit_code == 0
    base = ["runbook", "run", "serving-fallback", "--incident", "INC-1", "--non-interactive"]
    base += ["--yes", "--json", "--at", str(scenario.T0 + 45 * 60), "-i", f"model={MODEL}"]

    # version 4 went live 45 minutes ago: a deploy, so no fallback (bad-model-deploy's job)
    r = cli(*base)
    steps = {s["step"]: s for s in json.loads(r.stdout)["steps"]}
    assert steps["error-ratio"]["status"] == "failed"
    assert steps["live-version"]["status"] == "failed"
    assert steps["fallback"]["status"] == "skipped"
    assert alias(registry) == "4"

    # the same symptoms with the version live "long enough": fall back, recorded
    r = cli(*base, "-i", "min_live_hours=0.5")
    steps = {s["step"]: s for s in json.loads(r.stdout)["steps"]}
    assert steps["fallback"]["status"] == "passed", steps["fallback"]
    assert alias(registry) == "2"
    changes = [e["data"] for e in events("INC-1") if e["kind"] == "model_changed"]
    assert [(c.get("action"), c["from_version"], c["to_version"]) for c in changes] == [
        ("fallback", "4", "2")
    ]
    assert cli("model", "restore", MODEL, "--yes").exit_code == 0
    assert alias(registry) == "4"


def test_fallback_asks_on_a_real_terminal(workspace: Path, registry: MlflowServer) -> None:
    import os
    import sys

    import pexpect

    cli("model", "fallback", MODEL, "--designate", "2")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "120", "TERM": "xterm"}
    env["NO_COLOR"] = "1"
    argv = ["-m", "mlsre", "model", "fallback", MODEL]
    for answer, expected in (("n", "4"), ("y", "2")):
        child = pexpect.spawn(
            sys.executable, argv, cwd=str(workspace), env=env, encoding="utf-8", timeout=60
        )
        child.expect_exact(
            "Serve the fallback: move fraud-detector@champion from version 4 to 2 "
            "(fallback alias 'fallback')? [y/N]"
        )
        child.sendline(answer)
        child.expect(pexpect.EOF)
        child.close()
        assert alias(registry) == expected
    assert "fell back fraud-detector@champion: 4 -> 2" in (child.before or "")


def test_restore_from_the_incident_event_when_the_registry_record_is_gone(
    workspace: Path, registry: MlflowServer
) -> None:
    cli("model", "fallback", MODEL, "--designate", "1")
    assert cli("incident", "open", "fraud errors", "--model", MODEL).exit_code == 0
    assert cli("model", "fallback", MODEL, "--yes", "--incident", "INC-1").exit_code == 0
    registry.call(
        "DELETE", "registered-models/delete-tag", {"name": MODEL, "key": "mlsre.fallback.champion"}
    )
    r = cli("model", "restore", MODEL, "--yes")
    assert r.exit_code == 1 and "no recorded fallback of fraud-detector@champion" in r.stderr
    r = cli("model", "restore", MODEL, "--yes", "--incident", "INC-1")
    assert r.exit_code == 0, r.output
    assert "restored fraud-detector@champion: 1 -> 4" in r.stdout
    assert alias(registry) == "4"
    assert "no change" in cli("model", "restore", MODEL, "--yes", "--incident", "INC-1").stdout
