"""Helpers for engine tests: write runbooks into the workspace, read recorded step results."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from tests.support.helpers import ok, run


def workspace(root: Path, extra_config: str = "") -> Path:
    ok("init", str(root))
    if extra_config:
        cfg = root / "mlsre.yaml"
        cfg.write_text(cfg.read_text() + "\n" + textwrap.dedent(extra_config))
    return root


def write_runbook(root: Path, rb_id: str, body: str, inputs: str = "") -> Path:
    head = f"""\
        apiVersion: mlsre/v1
        kind: Runbook
        id: {rb_id}
        title: Test runbook {rb_id}
        failure_mode: latency
        """
    text = (
        textwrap.dedent(head)
        + textwrap.dedent(inputs)
        + "steps:\n"
        + textwrap.indent(textwrap.dedent(body), "  ")
    )
    path = root / "runbooks" / f"{rb_id}.yaml"
    path.write_text(text)
    return path


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    r = run(*args, "--json")
    try:
        data = json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"not JSON (exit {r.exit_code}):\n{r.stdout}\n{r.stderr}") from None
    return r.exit_code, data


def step_results(incident: str = "1") -> dict[str, list[dict[str, Any]]]:
    events = json.loads(ok("incident", "timeline", incident, "--json").stdout)
    out: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        if e["kind"] == "step_result":
            out.setdefault(e["data"]["step"], []).append(e["data"])
    return out
