"""Workspaces for `mlsre serve` tests: routes, a runbook whose mitigation leaves a mark."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.faulty_server import free_port, refused_url
from tests.support.fixtures_servers import missing, stop, wait_http

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


AM_CONFIG = """\
route:
  receiver: mlsre
  group_by: [alertname, model]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: mlsre
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials: {token}}}
"""


@dataclass
class Alertmanager:
    url: str

    def inject(self, alerts: list[dict[str, Any]]) -> None:
        """POST /api/v2/alerts, as Prometheus does."""
        req = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200


@contextmanager
def alertmanager(root: Path, webhook_url: str, token: str) -> Iterator[Alertmanager]:
    """A real Alertmanager (Debian's prometheus-alertmanager) sending to ``webhook_url``."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if not binary:
        missing("prometheus-alertmanager")
    assert binary
    root.mkdir(parents=True, exist_ok=True)
    config = root / "alertmanager.yml"
    config.write_text(AM_CONFIG.format(url=webhook_url, token=token))
    port = free_port()
    log = root / "alertmanager.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", proc, log, 30)
        yield Alertmanager(f"http://127.0.0.1:{port}")
    finally:
        stop(proc)
