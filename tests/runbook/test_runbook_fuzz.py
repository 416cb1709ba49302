"""Random YAML never crashes the validator: it always answers with located problems (or none)."""

from __future__ import annotations

import os
import re
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsre.runbook.validate import validate_text
from tests.support.fixtures_runbooks import minimal_runbook

# MLSRE_FUZZ_EXAMPLES=5000 for a long run; the default keeps the suite quick.
N = int(os.environ.get("MLSRE_FUZZ_EXAMPLES", "300"))

FIELDS = [
    "apiVersion",
    "kind",
    "id",
    "title",
    "failure_mode",
    "severity",
    "inputs",
    "steps",
    "uses",
    "with",
    "expect",
    "on_fail",
    "when",
    "needs",
    "phase",
    "confirm",
    "timeout",
    "retries",
    "guidance",
    "query",
    "model",
    "alias",
    "argv",
    "check",
    "default",
    "type",
    "required",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "mlsre/v1",
            "Runbook",
            "prometheus.query",
            "registry.rollback",
            "shell",
            "wait",
            "goto a",
            "stop",
            "mitigate",
            "{{ inputs.model }}",
            "{{ steps.a.output }}",
            "{{",
            "value < 1",
            "steps['a'].failed",
            "a",
            "b",
            "5m",
            "SEV2",
        ]
    ),
)
VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), children, max_size=5
        ),
    ),
    max_leaves=25,
)


def _assert_located(text: str) -> None:
    report = validate_text(text, "fuzz.yaml")
    # YAML's line breaks; mlsre.yamlfile's tab check counts Python's splitlines() (which also
    # breaks on \x0c, \x1c-\x1e): allow the larger of the two until it counts YAML's way
    lines = max(len(re.split("\r\n|[\r\n\x85\u2028\u2029]", text)), len(text.splitlines()))
    for p in [*report.problems, *report.warnings]:
        assert p.message
        assert 1 <= p.line <= lines + 1, (p, text)
        assert p.column >= 1
    if report.runbook is not None:
        assert report.problems == []


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    _assert_located(text)


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES)
def test_random_yaml_structures(value: Any) -> None:
    _assert_located(yaml.safe_dump(value, allow_unicode=True))


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_valid_runbook(data: st.DataObject) -> None:
    doc = yaml.safe_load(minimal_runbook())
    doc["steps"].append(
        {
            "id": "b",
            "uses": "registry.rollback",
            "phase": "mitigate",
            "with": {"model": "m"},
            "confirm": "ok?",
        }
    )
    for _ in range(data.draw(st.integers(1, 4))):
        target: Any = doc
        path = []
        while isinstance(target, dict | list) and target and data.draw(st.booleans()):
            key = data.draw(
                st.sampled_from(list(target) if isinstance(target, dict) else range(len(target)))
            )
            path.append(key)
            if not isinstance(target[key], dict | list):
                break
            target = target[key]
        if isinstance(target, dict):
            target[data.draw(st.sampled_from(FIELDS))] = data.draw(VALUES)
        elif isinstance(target, list):
            target.append(data.draw(VALUES))
    _assert_located(yaml.safe_dump(doc, allow_unicode=True))


@settings(max_examples=max(1, N * 2 // 3), deadline=None)
@given(st.integers(0, 400), st.text(min_size=1, max_size=5))
def test_valid_runbook_with_junk_spliced_in(pos: int, junk: str) -> None:
    text = minimal_runbook()
    pos = min(pos, len(text))
    _assert_located(text[:pos] + junk + text[pos:])


@settings(max_examples=max(1, N // 10), deadline=None, suppress_health_check=list(HealthCheck))
@given(VALUES)
def test_cli_on_random_yaml_never_shows_a_traceback(value: Any) -> None:
    import tempfile
    from pathlib import Path

    from typer.testing import CliRunner

    from mlsre.cli.app import app

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_text(yaml.safe_dump(value, allow_unicode=True), encoding="utf-8")
        r = CliRunner().invoke(app, ["runbook", "validate", str(path)])
    assert r.exit_code in (0, 1), r.output
    assert "Traceback" not in r.output and "internal error" not in r.output
    if r.exit_code == 1:
        assert r.stdout.startswith(f"{path}:")
