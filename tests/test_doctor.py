"""`mlsre doctor` against real servers, a dead one, and a broken config."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlsre.cli.app import app
from tests.support.faulty_server import FaultyServer, refused_url
from tests.support.fixtures_servers import MlflowServer, PromServer


def write_config(work: Path, prom: str, registry: str) -> None:
    (work / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prom}', timeout_s: 5, retries: 0}}\n"
        f"registry: {{url: '{registry}', timeout_s: 30, retries: 0}}\n"
        "postmortems: {repo: ./postmortems}\n"
    )
    subprocess.run(["git", "init", "-q", str(work / "postmortems")], check=True)


@pytest.mark.prometheus
@pytest.mark.mlflow
def test_everything_healthy(
    isolated: Path, prometheus_server: PromServer, mlflow_server: MlflowServer
) -> None:
    write_config(isolated, prometheus_server.url, mlflow_server.url)
    r = CliRunner().invoke(app, ["doctor", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["ok"] is True
    by_name = {c["name"]: c for c in data["checks"]}
    assert [c["status"] for c in data["checks"]] == ["ok"] * 5
    assert "Prometheus 2." in by_name["prometheus"]["detail"]
    assert (
        "MLflow 3." in by_name["registry"]["detail"]
        and "2 registered models" in by_name["registry"]["detail"]
    )


def test_dead_servers_and_missing_repo_fail_with_hints(
    isolated: Path, faulty: FaultyServer
) -> None:
    (isolated / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{refused_url()}', retries: 0}}\n"
        f"registry: {{url: '{faulty.url}/forbidden', retries: 0}}\n"
    )
    r = CliRunner().invoke(app, ["doctor"])
    assert r.exit_code == 1, r.output
    rows = {ln.split("\t")[0]: ln.split("\t") for ln in r.stdout.splitlines()[2:]}
    assert rows["config"][1] == "ok" and rows["store"][1] == "ok"
    assert rows["postmortems"][1] == "fail" and "mlsre init" in rows["postmortems"][3]
    assert rows["prometheus"][1] == "fail" and "connection refused" in rows["prometheus"][2]
    assert rows["registry"][1] == "fail" and "HTTP 403" in rows["registry"][2]
    assert "credentials" in rows["registry"][3]


def test_broken_config_is_reported(isolated: Path) -> None:
    (isolated / "mlsre.yaml").write_text("prometheus: {timeout_s: -1}\n")
    r = CliRunner().invoke(app, ["doctor", "--json"])
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["checks"][0]["name"] == "config" and data["checks"][0]["status"] == "fail"
    assert "mlsre.yaml:1" in data["checks"][0]["detail"]


def test_url_without_scheme_is_a_failed_check_with_the_fix(isolated: Path) -> None:
    (isolated / "mlsre.yaml").write_text(
        "prometheus: {url: '127.0.0.1:9090', retries: 0}\n"
        "registry: {url: 'ftp://models.example', retries: 0}\n"
    )
    r = CliRunner().invoke(app, ["doctor"])
    assert r.exit_code == 1, r.output  # a problem found, not a bug in mlsre (3)
    assert "internal error" not in r.stderr and "Traceback" not in r.output
    rows = {ln.split("\t")[0]: ln.split("\t") for ln in r.stdout.splitlines()[2:]}
    # the settings refuse both URLs, each named with its file:line, before any server is asked
    assert rows["config"][1] == "fail"
    detail = rows["config"][2]
    assert (
        "mlsre.yaml:1:14: prometheus.url: '127.0.0.1:9090' has no scheme: write it as"
        " http://127.0.0.1:9090 (or https://127.0.0.1:9090)" in detail
    )
    assert "mlsre.yaml:2:12: registry.url: must be an http:// or https:// URL" in detail
