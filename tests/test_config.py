"""Config discovery, precedence and validation with file:line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.helpers import ok, run


def _show(*args: str) -> dict[str, tuple[str, str]]:
    data = json.loads(ok(*args, "config", "show", "--json").stdout)
    return {row["key"]: (row["value"], row["source"]) for row in data["settings"]}


def test_discovery_walks_up_and_env_and_flag_override(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok("init", ".")
    sub = isolated / "deep" / "er"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    rows = _show()
    assert rows["prometheus.url"] == ("http://127.0.0.1:9090", f"{isolated / 'mlsre.yaml'}:8")
    assert rows["store.url"][0] == f"sqlite:///{isolated / '.mlsre' / 'mlsre.db'}"
    monkeypatch.setenv("MLSRE_PROMETHEUS_URL", "http://127.0.0.1:19090")
    assert _show()["prometheus.url"] == ("http://127.0.0.1:19090", "env MLSRE_PROMETHEUS_URL")
    assert _show("--store", "sqlite:///x.db")["store.url"] == (
        "sqlite:///" + str(isolated / "x.db"),
        "flag",
    )


def test_mlsre_config_env_then_user_dir(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert _show()["prometheus.url"][1] == "default"
    user = tmp_path / "xdg-config" / "mlsre"
    user.mkdir(parents=True)
    (user / "mlsre.yaml").write_text("prometheus:\n  url: http://127.0.0.1:1111\n")
    assert _show()["prometheus.url"][0] == "http://127.0.0.1:1111"
    other = tmp_path / "other.yaml"
    other.write_text("prometheus:\n  url: http://127.0.0.1:2222\n")
    monkeypatch.setenv("MLSRE_CONFIG", str(other))
    assert _show()["prometheus.url"][0] == "http://127.0.0.1:2222"


def test_validation_errors_name_file_line_and_field(isolated: Path) -> None:
    Path("mlsre.yaml").write_text(
        "prometheus:\n  url: http://x\n  timeout_s: fast\n  colour: red\n"
    )
    r = run("config", "show")
    assert r.exit_code == 1
    assert "mlsre.yaml:3:3: prometheus.timeout_s:" in r.stderr
    assert "mlsre.yaml:4:3: prometheus.colour: unknown setting" in r.stderr
    assert "Traceback" not in r.stderr


def test_broken_yaml_is_located(isolated: Path) -> None:
    Path("mlsre.yaml").write_text("prometheus:\n  url: [unclosed\n")
    r = run("incident", "list")
    assert r.exit_code == 1 and "mlsre.yaml:3:1: invalid YAML" in r.stderr


def test_secrets_are_redacted(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLSRE_PROMETHEUS_TOKEN", "s3cr3t-token-value")
    r = ok("config", "show")
    assert "s3cr3t-token-value" not in r.stdout and "MLSRE_PROMETHEUS_TOKEN" in r.stdout


def test_init_never_overwrites(isolated: Path) -> None:
    ok("init", "ws")
    cfg = isolated / "ws" / "mlsre.yaml"
    cfg.write_text("# mine\n")
    r = ok("init", "ws")
    assert "kept     mlsre.yaml" in r.stdout
    assert cfg.read_text() == "# mine\n"
    assert (isolated / "ws" / "postmortems" / ".git").is_dir()
    assert (isolated / "ws" / "runbooks").is_dir() and (isolated / "ws" / "slos").is_dir()


def test_init_wires_the_runbook_schema_for_editors(isolated: Path) -> None:
    ok("init", ".")
    schema = json.loads((isolated / ".mlsre" / "runbook.schema.json").read_text())
    assert "properties" in schema and "steps" in schema["properties"]
    ok("runbook", "new", "my-check", "--failure-mode", "latency")
    first = next((isolated / "runbooks").glob("my-check.y*ml")).read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../.mlsre/runbook.schema.json"


def test_store_url_cache_follows_edits_of_mlsre_yaml(isolated: Path) -> None:
    ok("init", ".")
    ok("incident", "open", "in the first store")
    assert (isolated / ".mlsre" / "store-url.json").is_file()  # remembered for fast starts
    assert len(json.loads(ok("incident", "list", "--json").stdout)) == 1
    cfg = isolated / "mlsre.yaml"
    cfg.write_text(
        cfg.read_text().replace("sqlite:///.mlsre/mlsre.db", "sqlite:///.mlsre/other.db")
    )
    assert json.loads(ok("incident", "list", "--json").stdout) == []
    cfg.write_text("store:\n  url: 42\n")
    r = run("incident", "list")
    assert r.exit_code == 1 and "mlsre.yaml:2:3: store.url must be a URL" in r.stderr
