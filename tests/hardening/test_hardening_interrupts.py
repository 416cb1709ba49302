"""Hardening probe, interrupts and time limits (issue 13), through the installed entry point.

A server that drips one byte at a time must cost ``timeout_s``, not forever; Ctrl-C must stop a
run within about a second, exit 130 and leave an "interrupted" event; a second Ctrl-C exits at
once; a wait step whose check cannot run gives up after a few errors in a row; a huge body is
refused without holding it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlsre.integrations.http import FailureKind, HttpFailure
from mlsre.integrations.mlflow import MlflowClient
from mlsre.integrations.prometheus import PrometheusClient
from mlsre.settings import PrometheusSettings, RegistrySettings
from tests.support.faulty_server import refused_url
from tests.support.hostile_server import HostileServer


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer(drip_s=0.2, huge_bytes=300 * 1024 * 1024)
    yield server
    server.stop()


def mlsre(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = dict(os.environ)  # already isolated by the autouse fixture
    return subprocess.Popen(
        [sys.executable, "-m", "mlsre", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def workspace(root: Path, prom_url: str, *, timeout_s: float = 30) -> Path:
    subprocess.run(
        [sys.executable, "-m", "mlsre", "init", str(root)], check=True, capture_output=True
    )
    (root / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prom_url}', timeout_s: {timeout_s}, retries: 0}}\n"
        f"registry: {{url: '{prom_url}', timeout_s: {timeout_s}, retries: 0}}\n"
    )
    return root


QUERY_RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: slow-probe
title: Slow probe
failure_mode: latency
steps:
  - {id: a, title: a, uses: prometheus.query, with: {query: up}}
  - {id: b, title: b, uses: prometheus.query, with: {query: up}}
"""


def _open_incident(ws: Path) -> str:
    p = mlsre("incident", "open", "probe", "--json", cwd=ws)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    return str(json.loads(out)["id"])


def test_drip_costs_the_deadline_not_forever(hostile: HostileServer) -> None:
    client = PrometheusClient(
        PrometheusSettings(url=hostile.url + "/drip", timeout_s=1.0, retries=0)
    )
    started = time.monotonic()
    with pytest.raises(HttpFailure) as exc:
        client.query("up")
    took = time.monotonic() - started
    assert exc.value.kind is FailureKind.TIMEOUT and "total deadline" in str(exc.value)
    assert took < 3.0, took  # one byte every 0.2 s kept a per-read timeout waiting forever


def test_huge_body_refused_in_one_line(hostile: HostileServer) -> None:
    settings = RegistrySettings(url=hostile.url + "/huge-chunked", max_body_mb=1, retries=0)
    with pytest.raises(HttpFailure) as exc:
        MlflowClient(settings).versions("m")
    assert exc.value.kind is FailureKind.TOO_LARGE
    assert "answers over 1.0 MB are refused (max_body_mb)" in str(exc.value)
    assert "kept sending" in str(exc.value) and "\n" not in str(exc.value)
    declared = RegistrySettings(url=hostile.url + "/huge", max_body_mb=1, retries=0)
    with pytest.raises(HttpFailure) as exc2:
        MlflowClient(declared).versions("m")
    assert "announced a 300.0 MB body" in str(exc2.value)


def test_endless_pages_are_bounded(hostile: HostileServer) -> None:
    with pytest.raises(HttpFailure) as exc:
        MlflowClient(RegistrySettings(url=hostile.url + "/pages", retries=0)).versions("m")
    assert "same next_page_token twice" in str(exc.value)
    assert hostile.hits["pages"] <= 4


def test_ctrl_c_stops_a_run_records_it_and_exits_130(
    hostile: HostileServer, tmp_path: Path
) -> None:
    ws = workspace(tmp_path / "ws", hostile.url + "/drip")
    (ws / "runbooks" / "slow-probe.yaml").write_text(QUERY_RUNBOOK)
    ref = _open_incident(ws)
    p = mlsre("runbook", "run", "slow-probe", "--incident", ref, "--non-interactive", cwd=ws)
    assert hostile_wait(hostile, "drip")  # the run is now stuck on the dripping server
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, err = p.communicate(timeout=30)
    took = time.monotonic() - sent
    assert p.returncode == 130, err
    assert took < 1.5, took
    assert "interrupted" in err and "Traceback" not in err
    events = mlsre("incident", "export", ref, cwd=ws)
    out, _ = events.communicate(timeout=60)
    kinds = [e["kind"] for e in json.loads(out)["events"]]
    assert kinds[-1] == "interrupted", kinds
    running = json.loads(out)["events"][-1]["data"]["step"].split(", ")
    assert set(running) == {"a", "b"}  # both diagnose steps were in flight (run concurrently)


def test_second_ctrl_c_exits_at_once(hostile: HostileServer, tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", hostile.url + "/drip")
    p = mlsre("model", "versions", "m", cwd=ws)
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    p.send_signal(signal.SIGINT)
    sent = time.monotonic()
    p.communicate(timeout=30)
    assert p.returncode == 130 and time.monotonic() - sent < 1.5


WAIT_RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: wait-probe
title: Wait probe
failure_mode: latency
steps:
  - id: recovered
    title: wait for recovery
    phase: verify
    uses: wait
    with:
      interval: 200ms
      deadline: 10m
      check: {uses: prometheus.query, with: {query: up}, expect: value > 0}
"""


def test_wait_gives_up_after_errors_in_a_row(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", refused_url())
    (ws / "runbooks" / "wait-probe.yaml").write_text(WAIT_RUNBOOK)
    ref = _open_incident(ws)
    started = time.monotonic()
    p = mlsre(
        "runbook", "run", "wait-probe", "--incident", ref, "--non-interactive", "--json", cwd=ws
    )
    out, err = p.communicate(timeout=120)
    took = time.monotonic() - started
    assert p.returncode == 4, err  # could not run: health unknown
    step = json.loads(out)["steps"][0]
    assert step["status"] == "error"
    assert "4 polls in a row failed to run" in step["summary"]
    assert "cannot reach Prometheus" in step["summary"]
    assert took < 30, took  # was: the whole 10 minute deadline


def hostile_wait(server: HostileServer, mode: str, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.hits.get(mode):
            return True
        time.sleep(0.05)
    return False


ABANDON_RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: abandon
title: Abandon
failure_mode: latency
steps:
  - {id: a, title: a, uses: prometheus.query, with: {query: up}, timeout: 1s}
"""


def test_the_report_is_not_held_open_by_an_abandoned_step(
    hostile: HostileServer, tmp_path: Path
) -> None:
    ws = workspace(tmp_path / "ws", hostile.url + "/drip", timeout_s=60)
    (ws / "runbooks" / "abandon.yaml").write_text(ABANDON_RUNBOOK)
    ref = _open_incident(ws)
    started = time.monotonic()
    p = mlsre("runbook", "run", "abandon", "--incident", ref, "--non-interactive", cwd=ws)
    out, err = p.communicate(timeout=90)
    took = time.monotonic() - started
    assert p.returncode == 4, err
    assert "timed out after 1s" in out + err
    assert took < 20, took  # the step's worker still waits on the server (60 s): not joined
