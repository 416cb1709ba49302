"""Workspaces for `mlsre serve` tests: routes, a runbook whose mitigation leaves a mark."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faulty_server import refused_url

ECHO_RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: echo-check
title: Echo check
failure_mode: latency
triggers: {alerts: [EchoAlert, EchoFallback]}
inputs:
  model: {description: Model name, required: true}
  marker: {description: File the mitigation creates, default: /nonexistent/marker}
steps:
  - id: look
    title: Look at the model
    uses: note
    with: {text: "looking at {{ inputs.model }}"}
    guidance: A diagnose step that needs no server.
  - id: restart
    title: Restart serving
    phase: mitigate
    uses: shell
    with: {argv: [touch, "{{ inputs.marker }}"]}
    confirm: Restart {{ inputs.model }}?
    guidance: Leaves a file behind, so tests see whether it ran.
  - id: check-again
    title: Check again
    phase: verify
    uses: note
    with: {text: checked}
    guidance: Runs only after a mitigation.
"""


def serve_config(
    marks: Path, extra_routes: str = "", alerts_extra: str = "", every: str = "1h"
) -> str:
    dead = refused_url()
    return f"""\
prometheus: {{url: {dead}, retries: 0, timeout_s: 2}}
registry: {{url: {dead}, retries: 0, timeout_s: 2}}
runbook_paths: [./runbooks]
alerts:
  still_firing_every: {every}
{alerts_extra}  routes:
{extra_routes}    - name: echo
      match: {{alertname: EchoAlert}}
      runbook: echo-check
      severity: SEV2
      title: "Echo: {{{{ labels.model }}}} {{{{ annotations.summary | default('') }}}}"
      inputs: {{model: "{{{{ labels.model }}}}", marker: "{marks}/{{{{ labels.model }}}}.restarted"}}
      group_by: [alertname, model]
      auto_mitigate: [restart]
      auto_mitigate_on_resolve: true
"""


@pytest.fixture
def serve_ws(isolated: Path) -> Path:
    """A workspace with the echo route and runbook; mitigations leave files in marks/."""
    marks = isolated / "marks"
    marks.mkdir()
    (isolated / "runbooks").mkdir()
    (isolated / "runbooks" / "echo-check.yaml").write_text(ECHO_RUNBOOK, encoding="utf-8")
    (isolated / "mlsre.yaml").write_text(serve_config(marks), encoding="utf-8")
    return isolated
