"""Hardening probe, injection (issue 13): no input runs as shell code; unescaped matchers warned.

``argv: ["/bin/sh", "-c", "echo hello {{ inputs.model }}"]`` used to run ``-i 'model=x; touch
FILE'`` as shell code while ``runbook validate --strict`` said OK. The validator now refuses it,
and the engine refuses to run it even when handed such a runbook without validation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsre.runbook.engine import Engine, RunOptions, Unattended
from mlsre.runbook.injection import script_argument_problem, unescaped_matchers
from mlsre.runbook.model import Runbook
from mlsre.settings import Settings
from tests.support.helpers import run

SHELL_C = """\
apiVersion: mlsre/v1
kind: Runbook
id: greet
title: Greet
failure_mode: latency
inputs:
  model: {required: true}
steps:
  - id: hello
    title: hello
    uses: shell
    with: {argv: ["/bin/sh", "-c", "echo hello {{ inputs.model }}"], safe: true}
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["/bin/sh", "-c", "echo {{ inputs.model }}"],
        ["bash", "-lc", "echo {{ inputs.model }}"],
        ["/usr/bin/env", "LANG=C", "zsh", "-e", "-c", "x {{ inputs.model }}"],
        ["sudo", "-u", "ops", "dash", "-c", "x {{ inputs.model }}"],
        ["python3", "-c", "print('{{ inputs.model }}')"],
        ["python3.11", "-c'{{ inputs.model }}'"],
        ["perl", "-e", "print '{{ inputs.model }}'"],
        ["node", "--eval", "console.log('{{ inputs.model }}')"],
    ],
)
def test_templated_code_is_found(argv: list[str]) -> None:
    found = script_argument_problem(argv)
    assert found is not None and "{{" in argv[found[0]]
    assert "argument" in found[1] and "env" in found[1]


@pytest.mark.parametrize(
    "argv",
    [
        ["/bin/sh", "-c", 'echo hello "$1"', "sh", "{{ inputs.model }}"],  # the safe way
        ["kubectl", "get", "pods", "-l", "model={{ inputs.model }}"],
        ["python3", "script.py", "{{ inputs.model }}"],
        ["bash", "deploy.sh", "-c", "{{ inputs.model }}"],  # -c belongs to the script
    ],
)
def test_data_arguments_are_fine(argv: list[str]) -> None:
    assert script_argument_problem(argv) is None


def test_validate_strict_refuses_and_says_how(tmp_path: Path) -> None:
    path = tmp_path / "greet.yaml"
    path.write_text(SHELL_C)
    r = run("runbook", "validate", "--strict", str(path))
    assert r.exit_code == 1
    out = r.stdout + r.stderr
    assert f"{path}:12:" in out and "steps[0].with.argv[2]" in out
    assert "positional" in out or "argument" in out


def test_run_never_executes_the_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    (ws / "runbooks" / "greet.yaml").write_text(SHELL_C)
    monkeypatch.chdir(ws)
    target = tmp_path / "PWNED"
    r = run("runbook", "run", "greet", "--dry-run", "-i", f"model=x; touch {target}")
    r2 = run(
        "runbook",
        "run",
        "greet",
        "--open",
        "--non-interactive",
        "--yes",
        "-i",
        f"model=x; touch {target}",
    )
    assert not target.exists()
    assert r.exit_code != 3 and r2.exit_code not in (0, 3), r2.stderr


def test_engine_refuses_even_unvalidated(tmp_path: Path) -> None:
    import yaml

    target = tmp_path / "PWNED"
    runbook = Runbook.model_validate(yaml.safe_load(SHELL_C))
    report = Engine(None, Settings(), Unattended(yes=True)).run(
        runbook, RunOptions(inputs={"model": f"x; touch {target}"}), None
    )
    assert not target.exists()
    step = report.steps[0]
    assert step.status.value == "error" and step.summary.startswith("refused:")


def test_unescaped_matchers_are_found() -> None:
    query = (
        'rate(x{model="{{ inputs.model }}", v="{{ inputs.v | promql_escape }}"}[5m])'
        ' / on() y{ {{ inputs.label }}=~"{{ inputs.re }}"} and z{{ "{" }}'
    )
    assert unescaped_matchers(query) == ["inputs.model", "inputs.re"]


def test_validator_warns_on_an_unescaped_matcher(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(
        SHELL_C.replace("id: greet", "id: q").split("steps:")[0]
        + "steps:\n  - id: q\n    title: q\n    uses: prometheus.query\n"
        + "    with: {query: 'up{model=\"{{ inputs.model }}\"}'}\n"
    )
    r = run("runbook", "validate", str(path))
    out = r.stdout + r.stderr
    assert "lands inside a PromQL label matcher unescaped" in out and "promql_escape" in out
