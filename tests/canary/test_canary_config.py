"""The CanaryConfig format: every problem at file:line:column, its JSON Schema, the default."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from mlsre.canary.config import config_schema, parse_config
from mlsre.canary.defaults import DEFAULT_CONFIG
from mlsre.errors import UsageError
from mlsre.yamlfile import YamlProblems
from tests.support.helpers import run

GOOD = """\
apiVersion: mlsre/v1
kind: CanaryConfig
inputs:
  metric: {default: model_request_duration_seconds}
metrics:
  - name: p99-latency
    query: histogram_quantile(0.99, sum by (le) (rate({{ inputs.metric }}_bucket{model="{{ model }}", version="{{ version }}"}[5m])))
    direction: increase
    tolerance: 0.10
    critical: true
    weight: 2
  - name: scores
    type: distribution
    query: sum by (le) (increase(s_bucket{version="{{ version }}"}[{{ window }}]))
    method: js
scoring: {pass: 95, marginal: 75}
"""


def problems(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "canary.yaml"
    path.write_text(text)
    r = run("canary", "validate", str(path))
    assert r.exit_code == 1, r.output
    assert r.stdout == ""
    return [line.replace(str(path), "F") for line in r.stderr.splitlines()]


def test_good_config_reads() -> None:
    config = parse_config(GOOD, "good.yaml")
    assert [m.name for m in config.metrics] == ["p99-latency", "scores"]
    assert config.metrics[1].limit == 0.1  # the default threshold
    assert config.input_values({}) == {"metric": "model_request_duration_seconds"}
    assert config.input_values({"metric": "x"}) == {"metric": "x"}
    with pytest.raises(UsageError, match="has no input nope"):
        config.input_values({"nope": "1"})


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    tolerance: 0.10\n",
            "    tolerence: 0.10\n",
            "F:9:5: metrics[0].tolerence: unknown field 'tolerence' — did you mean 'tolerance'?",
        ),
        (
            "direction: increase",
            "direction: up",
            "F:8:5: metrics[0].direction: Input should be 'increase', 'decrease' or 'either', got 'up'",
        ),
        (
            'version="{{ version }}"}[5m]',
            'version="{{ verison }}"}[5m]',
            "F:7:5: metrics[0].query: query",
        ),
        ("  - name: scores", "  - name: p99-latency", "F:12:5: metrics[1].name: metric 'p99-latency' is repeated"),
        ("    method: js\n", "    method: js\n    tolerance: 2\n    weight: 0\n", "F:17:5: metrics[1].weight: Input should be greater than 0"),
        (
            "scoring: {pass: 95, marginal: 75}",
            "scoring: {pass: 70, marginal: 75}",
            "F:16:1: scoring: marginal (75) is above pass (70)",
        ),
        ("kind: CanaryConfig", "kind: Runbook", "F:2:1: kind: kind is 'Runbook', expected CanaryConfig"),
        ("metrics:\n", "metrics: [\n", "F:6:3: invalid YAML"),
    ],
)  # fmt: skip
def test_problems_are_located(old: str, new: str, expected: str, tmp_path: Path) -> None:
    assert old in GOOD
    found = problems(GOOD.replace(old, new, 1), tmp_path)
    assert any(line.startswith(expected) for line in found), found


def test_template_problem_names_what_templates_may_use(tmp_path: Path) -> None:
    found = problems(GOOD.replace('{{ version }}"}[5m]', '{{ verison }}"}[5m]'), tmp_path)
    assert "'verison' is undefined" in found[0]
    assert "templates may use model, version, role, window, inputs" in found[0]


def test_method_is_only_for_distributions(tmp_path: Path) -> None:
    text = GOOD.replace("    weight: 2\n", "    weight: 2\n    method: psi\n")
    found = problems(text, tmp_path)
    assert found[0].startswith("F:6:5: metrics[0]: method and threshold are for type: distribution")


def test_every_problem_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("direction: increase", "direction: up").replace("weight: 2", "weight: -1")
    assert len(problems(text, tmp_path)) == 2


def test_default_config_is_valid_and_matches_the_schema() -> None:
    schema = config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load(DEFAULT_CONFIG), schema)
    jsonschema.validate(yaml.safe_load(GOOD), schema)
    bad = yaml.safe_load(GOOD.replace("direction: increase", "direction: up"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    config = parse_config(DEFAULT_CONFIG, "default")
    assert [m.name for m in config.metrics] == ["p99-latency", "error-ratio", "prediction-scores"]


def test_schema_and_default_commands(tmp_path: Path) -> None:
    r = run("canary", "schema")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["title"].startswith("mlsre canary config")
    out = tmp_path / "s.json"
    assert run("canary", "schema", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text()) == json.loads(r.stdout)
    r = run("canary", "default")
    assert r.exit_code == 0 and r.stdout == DEFAULT_CONFIG
    path = tmp_path / "mine.yaml"
    path.write_text(r.stdout)
    ok = run("canary", "validate", str(path))
    assert ok.exit_code == 0 and "1 canary config(s) valid" in ok.stdout


def test_judge_with_a_broken_config_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD.replace("direction: increase", "direction: up"))
    r = run("canary", "judge", "m", "--canary", "2", "--baseline", "1", "--config", str(path))
    assert r.exit_code == 1
    assert r.stderr.startswith(f"error: {path}:8:5: metrics[0].direction:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lookback", "30m", "--start", "-1h", "--end", "now"], "not both"),
        (["--start", "-1h"], "give both --start and --end"),
        (["--step", "1h", "--lookback", "30m"], "fewer than 2 points"),
        (["--step", "1s", "--lookback", "1d"], "Prometheus allows 11000"),
        (["--baseline", "2"], "same version"),
    ],
)
def test_bad_windows_are_usage_errors(args: list[str], message: str) -> None:
    base = ["canary", "judge", "m", "--canary", "2"]
    if "--baseline" not in args:
        base += ["--baseline", "1"]
    r = run(*base, *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr


def test_parse_config_raises_every_problem() -> None:
    with pytest.raises(YamlProblems) as info:
        parse_config(GOOD.replace("weight: 2", "weight: 0"), "c.yaml")
    assert str(info.value.problems[0]).startswith("c.yaml:11:5: metrics[0].weight")
