"""The exported JSON Schema: valid, accepts the library, rejects what the validator rejects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from typer.testing import CliRunner

from mlsre.cli.app import app
from mlsre.runbook.loader import bundled_dir
from mlsre.runbook.schema import modeline, runbook_schema, schema_path
from tests.support.fixtures_runbooks import minimal_runbook


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = runbook_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_cli_schema_output_is_a_valid_json_schema() -> None:
    r = CliRunner().invoke(app, ["runbook", "schema"])
    assert r.exit_code == 0, r.output
    schema = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")


@pytest.mark.parametrize("path", sorted(bundled_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_schema_accepts_bundled_runbooks(validator: Any, path: Path) -> None:
    errors = list(validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert errors == [], [e.message for e in errors]


BROKEN = {
    "unknown top-level field": ("title: Minimal runbook", "titel: Minimal runbook"),
    "unknown step kind": ("uses: prometheus.query", "uses: prometheus.qurey"),
    "unknown param": ("      query: >-", "      qeury: >-"),
    "wrong severity": ("failure_mode: latency", "failure_mode: latency\nseverity: SEV9"),
    "bad on_fail": ("    expect: value < 0.3", "    expect: value < 0.3\n    on_fail: retry"),
    "wrong api version": ("apiVersion: mlsre/v1", "apiVersion: mlsre/v2"),
    "retries not a number": (
        "    expect: value < 0.3",
        "    expect: value < 0.3\n    retries: many",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_schema_rejects_broken_runbooks(validator: Any, case: str) -> None:
    old, new = BROKEN[case]
    text = minimal_runbook()
    assert old in text
    assert list(validator.iter_errors(yaml.safe_load(text))) == []
    assert list(validator.iter_errors(yaml.safe_load(text.replace(old, new)))) != []


def test_templates_allowed_where_numbers_go(validator: Any) -> None:
    doc = yaml.safe_load(minimal_runbook())
    doc["steps"].append(
        {"id": "v", "uses": "registry.versions", "with": {"model": "m", "limit": "{{ inputs.n }}"}}
    )
    assert list(validator.iter_errors(doc)) == []
    doc["steps"][-1]["with"]["limit"] = "three"
    assert list(validator.iter_errors(doc)) != []


def test_schema_file_and_modeline(isolated: Path) -> None:
    r = CliRunner().invoke(app, ["runbook", "schema", "-o", ".mlsre/runbook.schema.json"])
    assert r.exit_code == 0, r.output
    target = schema_path(isolated)
    assert json.loads(target.read_text(encoding="utf-8"))["$id"] == "urn:mlsre:runbook:v1"
    line = modeline(isolated / "runbooks" / "x.yaml", target)
    assert line == "# yaml-language-server: $schema=../.mlsre/runbook.schema.json"
