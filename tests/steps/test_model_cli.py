"""`mlsre model versions|rollback` against a real MLflow server, recorded on a real incident."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlsre.cli.app import app
from mlsre.integrations.mlflow import MlflowClient
from mlsre.settings import RegistrySettings
from tests.support.fixtures_servers import MODEL, MlflowServer

pytestmark = pytest.mark.mlflow


@pytest.fixture
def workspace(registry: MlflowServer, isolated: Path) -> Path:
    (isolated / "mlsre.yaml").write_text(f"registry: {{url: '{registry.url}', timeout_s: 30}}\n")
    return isolated


def champion(server: MlflowServer) -> str:
    return (
        MlflowClient(RegistrySettings(url=server.url)).version_by_alias(MODEL, "champion").version
    )


def test_versions_table_and_json(workspace: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["model", "versions", MODEL])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[1].split("\t")[:3] == ["version", "aliases", "status"]
    assert [ln.split("\t")[:2] for ln in lines[2:]] == [  # newest first, as README says
        ["4", "champion"],
        ["3", "previous"],
        ["2", ""],
        ["1", ""],
    ]
    r = runner.invoke(app, ["model", "versions", MODEL, "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [v["version"] for v in data["versions"]] == ["4", "3", "2", "1"]


def test_piped_versions_keep_long_descriptions_whole(
    workspace: Path, registry: MlflowServer
) -> None:
    long = (
        "larger feature set with merchant_id embeddings, retrained on the November backfill\n"
        "after the country_lookup outage; see the model card for the calibration notes"
    )
    before = registry.call("GET", f"model-versions/get?name={MODEL}&version=4")
    registry.call(
        "PATCH", "model-versions/update", {"name": MODEL, "version": "4", "description": long}
    )
    try:
        r = CliRunner().invoke(app, ["model", "versions", MODEL])
    finally:
        old = before["model_version"].get("description", "")
        registry.call(
            "PATCH", "model-versions/update", {"name": MODEL, "version": "4", "description": old}
        )
    assert r.exit_code == 0, r.output
    row = r.stdout.splitlines()[2].split("\t")
    assert row[0] == "4" and row[5] == " ".join(long.split())  # whole, on one line


def test_versions_of_a_missing_model(workspace: Path) -> None:
    r = CliRunner().invoke(app, ["model", "versions", "no-such-model"])
    assert r.exit_code == 1
    assert "error: registered model 'no-such-model' does not exist" in r.stderr
    assert "Traceback" not in r.output


def test_rollback_needs_confirmation_when_not_interactive(
    workspace: Path, registry: MlflowServer
) -> None:
    r = CliRunner().invoke(app, ["model", "rollback", MODEL])
    assert r.exit_code == 2
    assert "Move fraud-detector@champion from version 4 to 3" in r.stderr and "--yes" in r.stderr
    assert champion(registry) == "4"


def test_rollback_dry_run(workspace: Path, registry: MlflowServer) -> None:
    r = CliRunner().invoke(app, ["model", "rollback", MODEL, "--dry-run"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("would move fraud-detector@champion from 4 to 3")
    assert champion(registry) == "4"


def test_rollback_recorded_on_the_incident(workspace: Path, registry: MlflowServer) -> None:
    runner = CliRunner()
    r = runner.invoke(
        app, ["incident", "open", "fraud p99 up", "--severity", "SEV2", "--model", MODEL]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["model", "rollback", MODEL, "--incident", "INC-1", "--yes"])
    assert r.exit_code == 0, r.output
    assert "fraud-detector@champion: 4 -> 3 (alias 'previous'), verified" in r.stdout
    assert champion(registry) == "3"
    r = runner.invoke(app, ["incident", "timeline", "INC-1", "--json"])
    assert r.exit_code == 0, r.output
    assert "model_changed" in r.stdout and '"to_version": "3"' in r.stdout
    again = runner.invoke(
        app, ["model", "rollback", MODEL, "--incident", "INC-1", "--yes", "--json"]
    )
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["move"]["changed"] is False and data["event"] is None
    assert champion(registry) == "3"


def test_rollback_on_missing_incident_changes_nothing(
    workspace: Path, registry: MlflowServer
) -> None:
    r = CliRunner().invoke(app, ["model", "rollback", MODEL, "--incident", "INC-42", "--yes"])
    assert r.exit_code == 1
    assert "INC-42" in r.stderr
    assert champion(registry) == "4"


def test_rollback_asks_a_person_at_a_terminal(workspace: Path, registry: MlflowServer) -> None:
    """A real pseudo-terminal: 'n' leaves the registry alone, 'y' moves champion 4 -> 3."""
    import os
    import sys

    import pexpect

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "COLUMNS": "120",
        "TERM": "xterm",
        "NO_COLOR": "1",
    }
    argv = ["-m", "mlsre", "model", "rollback", MODEL]
    for answer, expected in (("n", "4"), ("y", "3")):
        child = pexpect.spawn(
            sys.executable, argv, cwd=str(workspace), env=env, encoding="utf-8", timeout=60
        )
        child.expect_exact(
            "Move fraud-detector@champion from version 4 to 3 (alias 'previous')? [y/N]"
        )
        child.sendline(answer)
        child.expect(pexpect.EOF)
        child.close()
        assert champion(registry) == expected
    assert "4 -> 3 (alias 'previous'), verified" in (child.before or "")
