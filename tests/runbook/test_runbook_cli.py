"""`mlsre runbook list|show|validate|new|kinds` as a person (or CI) uses them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlsre.cli.app import app
from mlsre.steps.catalog import build_catalog, default_catalog
from tests.support.fixtures_runbooks import minimal_runbook

CORPUS = Path(__file__).parents[1] / "data" / "broken_runbooks"
LIBRARY = {
    "accuracy-decay",
    "bad-model-deploy",
    "data-drift",
    "error-rate",
    "feature-pipeline",
    "latency-regression",
    "stale-model",
    "training-serving-skew",
}


def test_list_shows_the_bundled_library() -> None:
    r = CliRunner().invoke(app, ["runbook", "list", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert {e["id"] for e in data["runbooks"]} >= LIBRARY
    assert all(e["source"] == "bundled" and e["in_force"] for e in data["runbooks"])
    assert data["problems"] == []


def test_list_filters_by_failure_mode() -> None:
    r = CliRunner().invoke(app, ["runbook", "list", "--failure-mode", "latency"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert lines[0].split("\t")[:4] == ["ID", "FAILURE MODE", "SEV", "SOURCE"]
    assert [ln.split("\t")[0] for ln in lines[1:]] == ["latency-regression"]


def test_workspace_runbook_overrides_bundled_one(workspace: Path) -> None:
    mine = workspace / "runbooks" / "latency-regression.yaml"
    mine.write_text(minimal_runbook("latency-regression"), encoding="utf-8")
    (workspace / "runbooks" / "team-only.yaml").write_text(
        minimal_runbook("team-only"), encoding="utf-8"
    )
    r = CliRunner().invoke(app, ["runbook", "list", "--json"])
    assert r.exit_code == 0, r.output
    rows = [
        e
        for e in json.loads(r.stdout)["runbooks"]
        if e["id"] in ("latency-regression", "team-only")
    ]
    by_source = {(e["id"], e["source"]): e for e in rows}
    assert by_source[("latency-regression", "workspace")]["in_force"] is True
    bundled = by_source[("latency-regression", "bundled")]
    assert bundled["in_force"] is False and bundled["overridden_by"].endswith(
        "runbooks/latency-regression.yaml"
    )
    assert by_source[("team-only", "workspace")]["in_force"] is True
    shown = CliRunner().invoke(app, ["runbook", "show", "latency-regression", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["source"] == "workspace"
    assert json.loads(shown.stdout)["title"] == "Minimal runbook"


def test_broken_workspace_runbook_does_not_hide_the_others(workspace: Path) -> None:
    (workspace / "runbooks" / "broken.yaml").write_text("apiVersion: [\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["runbook", "list"])
    assert r.exit_code == 0, r.output
    assert "latency-regression" in r.stdout
    assert "broken runbook: " in r.stderr and "broken.yaml:2:1" in r.stderr


def test_show_is_readable() -> None:
    r = CliRunner().invoke(app, ["runbook", "show", "latency-regression"])
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "Inference latency regression  (latency-regression)" in out
    assert "latency_metric" in out and "model_request_duration_seconds" in out
    assert "1. [diagnose] p99-by-version: Latency quantile per model version" in out
    assert "PromQL instant query: histogram_quantile(" in out
    assert "[mitigate] rollback" in out and "confirm:" in out
    assert "   | The latency quantile for each version" in out


def test_show_json_has_every_step() -> None:
    r = CliRunner().invoke(app, ["runbook", "show", "bad-model-deploy", "--json"])
    assert r.exit_code == 0, r.output
    view = json.loads(r.stdout)
    rollback = next(s for s in view["steps"] if s["id"] == "rollback")
    assert rollback["mutating"] is True and rollback["phase"] == "mitigate" and rollback["confirm"]
    assert view["inputs"]["model"]["required"] is True


def test_show_unknown_runbook_suggests() -> None:
    r = CliRunner().invoke(app, ["runbook", "show", "latency-regresion"])
    assert r.exit_code == 1
    assert "did you mean 'latency-regression'?" in r.stderr
    assert "Traceback" not in r.output


def test_validate_defaults_to_library_and_workspace(workspace: Path) -> None:
    from mlsre.runbook.loader import bundled_dir

    r = CliRunner().invoke(app, ["runbook", "validate"])
    assert r.exit_code == 0, r.output
    n = len(list(bundled_dir().glob("*.yaml")))  # the library grows; workspace runbooks/ is empty
    assert n >= 10 and f"{n} runbook file(s) OK" in r.stderr
    (workspace / "runbooks" / "x.yaml").write_text(
        minimal_runbook("x").replace("uses: prometheus.query", "uses: promql"), encoding="utf-8"
    )
    r = CliRunner().invoke(app, ["runbook", "validate"])
    assert r.exit_code == 1
    assert "x.yaml:11:5: steps[0].uses: unknown step kind 'promql'" in r.stdout


def test_validate_reports_every_problem_in_every_file() -> None:
    r = CliRunner().invoke(app, ["runbook", "validate", str(CORPUS)])
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    named = {Path(line.split(":", 1)[0]).name for line in r.stdout.splitlines() if line}
    assert named == {p.name for p in CORPUS.iterdir()}
    assert "problem(s) in 20 of 20 file(s)" in r.stderr


def test_validate_json() -> None:
    r = CliRunner().invoke(
        app, ["runbook", "validate", "--json", str(CORPUS / "unknown_kind.yaml")]
    )
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["ok"] is False and data["files"] == 1
    assert data["problems"] == [
        {
            "path": str(CORPUS / "unknown_kind.yaml"),
            "line": 9,
            "column": 5,
            "field": "steps[0].uses",
            "message": "unknown step kind 'prometheus.qurey' — did you mean 'prometheus.query'?",
        }
    ]


def test_validate_strict_fails_on_warnings(isolated: Path) -> None:
    path = isolated / "w.yaml"
    path.write_text(
        minimal_runbook("w").replace("    guidance: Latency of the model.\n", ""), encoding="utf-8"
    )
    assert CliRunner().invoke(app, ["runbook", "validate", str(path)]).exit_code == 0
    r = CliRunner().invoke(app, ["runbook", "validate", "--strict", str(path)])
    assert r.exit_code == 1 and "no guidance" in r.stdout


def test_validate_missing_path_is_a_usage_error() -> None:
    r = CliRunner().invoke(app, ["runbook", "validate", "nope.yaml"])
    assert r.exit_code == 2
    assert "no such file or folder: nope.yaml" in r.stderr


def test_new_scaffold_validates(workspace: Path) -> None:
    r = CliRunner().invoke(app, ["runbook", "new", "fraud-latency", "--failure-mode", "latency"])
    assert r.exit_code == 0, r.output
    path = workspace / "runbooks" / "fraud-latency.yaml"
    assert path.is_file()
    v = CliRunner().invoke(app, ["runbook", "validate", "--strict", str(path)])
    assert v.exit_code == 0, v.output
    again = CliRunner().invoke(
        app, ["runbook", "new", "fraud-latency", "--failure-mode", "latency"]
    )
    assert again.exit_code == 2 and "already exists" in again.stderr
    bad = CliRunner().invoke(app, ["runbook", "new", "Fraud Latency", "--failure-mode", "latency"])
    assert bad.exit_code == 2 and "not a valid runbook id" in bad.stderr


def test_new_writes_the_schema_modeline_when_the_schema_exists(workspace: Path) -> None:
    assert (
        CliRunner().invoke(app, ["runbook", "schema", "-o", ".mlsre/runbook.schema.json"]).exit_code
        == 0
    )
    r = CliRunner().invoke(app, ["runbook", "new", "x", "-f", "latency"])
    assert r.exit_code == 0, r.output
    first = (workspace / "runbooks" / "x.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../.mlsre/runbook.schema.json"


def test_kinds_lists_every_builtin() -> None:
    r = CliRunner().invoke(app, ["runbook", "kinds", "--json"])
    assert r.exit_code == 0, r.output
    kinds = {k["name"]: k for k in json.loads(r.stdout)["kinds"]}
    assert {
        "shell",
        "http",
        "manual",
        "wait",
        "note",
        "prometheus.query",
        "registry.rollback",
    } <= set(kinds)
    assert kinds["registry.rollback"]["mutating"] is True
    assert "query" in kinds["prometheus.query"]["params"]


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real installed distribution (dist-info on sys.path) with one good and two broken plugins."""
    site = tmp_path / "site"
    dist = site / "mlsre_test_plugins-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: mlsre-test-plugins\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[mlsre.steps.v1]\n"
        "good = mlsre_test_plugin_good:KINDS\n"
        "missing = mlsre_test_plugin_missing:KINDS\n"
        "noparams = mlsre_test_plugin_good:NotAKind\n"
    )
    (site / "mlsre_test_plugin_good.py").write_text(
        "from pydantic import BaseModel\n"
        "class P(BaseModel):\n"
        "    url: str\n"
        "class Ping:\n"
        "    name = 'team.ping'\n"
        "    Params = P\n"
        "    mutating = False\n"
        "    def describe(self, params): return 'ping'\n"
        "    def run(self, params, ctx): raise NotImplementedError\n"
        "class NotAKind:\n"
        "    name = 'team.bad'\n"
        "KINDS = [Ping]\n"
    )
    monkeypatch.syspath_prepend(str(site))
    default_catalog.cache_clear()
    yield site
    default_catalog.cache_clear()
    sys.modules.pop("mlsre_test_plugin_good", None)


def test_plugins_load_and_broken_ones_are_warnings(plugins: Path, isolated: Path) -> None:
    reg = build_catalog()
    assert reg.sources["team.ping"].startswith("plugin good")
    assert any("plugin missing" in w and "failed to load" in w for w in reg.warnings), reg.warnings
    assert any("team.bad" in w and "Params" in w for w in reg.warnings), reg.warnings
    path = isolated / "p.yaml"
    path.write_text(
        minimal_runbook("p")
        + "  - id: ping\n    uses: team.ping\n    with: {url: x}\n    guidance: g\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(app, ["runbook", "validate", str(path)])
    assert r.exit_code == 0, r.output
    assert "warning: plugin missing" in r.stderr
    r = CliRunner().invoke(app, ["runbook", "list"])
    assert r.exit_code == 0 and "warning: plugin missing" in r.stderr


def test_show_with_inputs_fills_the_queries_in() -> None:
    r = CliRunner().invoke(
        app, ["runbook", "show", "error-rate", "--json", "-i", "model=fraud-detector"]
    )
    assert r.exit_code == 0, r.output
    steps = {s["id"]: s for s in json.loads(r.stdout)["steps"]}
    assert (
        'model_requests_total{ model="fraud-detector", code=~"5.." }[5m]'
        in steps["error-ratio"]["action"]
    )
    assert "{{" not in steps["error-ratio"]["action"]
    bad = CliRunner().invoke(app, ["runbook", "show", "error-rate", "-i", "modle=x"])
    assert bad.exit_code == 2 and "has no input modle" in bad.stderr


def test_pre_commit_hooks_run_our_validate_command(isolated: Path) -> None:
    import re
    import shlex

    import yaml

    hooks = yaml.safe_load((Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"mlsre-runbook-validate", "mlsre-runbook-validate-strict"}
    good = isolated / "runbooks" / "good.yaml"
    good.parent.mkdir(exist_ok=True)
    good.write_text(minimal_runbook("good"), encoding="utf-8")
    broken = CORPUS / "unknown_kind.yaml"
    for hook in hooks:
        assert re.search(hook["files"], "runbooks/fraud-latency.yaml")
        argv = shlex.split(hook["entry"])
        assert argv[0] == "mlsre"
        ok = CliRunner().invoke(app, [*argv[1:], str(good)])  # pre-commit appends the file names
        assert ok.exit_code == 0, ok.output
        bad = CliRunner().invoke(app, [*argv[1:], str(good), str(broken)])
        assert bad.exit_code == 1 and "unknown step kind 'prometheus.qurey'" in bad.stdout
