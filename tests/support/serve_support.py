"""`mlsre serve` as a real process for tests and bench: start, post webhooks, read answers."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.faulty_server import free_port

MLSRE = Path(sys.executable).parent / "mlsre"
WEBHOOK = "/api/v1/alerts/alertmanager"


def alert(
    alertname: str = "ModelLatencyHigh",
    status: str = "firing",
    annotations: dict[str, str] | None = None,
    fingerprint: str | None = None,
    starts_at: str = "2026-11-28T17:59:00Z",
    **labels: str,
) -> dict[str, Any]:
    all_labels = {"alertname": alertname, **labels}
    return {
        "status": status,
        "labels": all_labels,
        "annotations": annotations or {},
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-28T19:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": fingerprint
        if fingerprint is not None
        else hashlib.sha256(json.dumps(sorted(all_labels.items())).encode()).hexdigest()[:16],
    }


def notification(
    alerts: list[dict[str, Any]], group_by: tuple[str, ...] = ("alertname", "model")
) -> dict[str, Any]:
    """A webhook body shaped exactly like Alertmanager 0.25 sends it."""
    first = alerts[0]["labels"]
    group = {k: first[k] for k in group_by if k in first}
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(group.items()))
    return {
        "receiver": "mlsre",
        "status": status,
        "alerts": alerts,
        "groupLabels": group,
        "commonLabels": group,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example",
        "version": "4",
        "groupKey": "{}:{" + inner + "}",
        "truncatedAlerts": 0,
    }


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


class Client:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, port: int, token: str | None = None, timeout_s: float = 30) -> None:
        self.port = port
        self.token = token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        h = {"Content-Type": "application/json", **(headers or {})}
        if self.token is not None and "Authorization" not in h:
            h["Authorization"] = f"Bearer {self.token}"
        try:
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse()
            raw = r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            raise
        ctype = r.getheader("content-type", "")
        data: Any = json.loads(raw) if "json" in ctype and raw else raw.decode("utf-8", "replace")
        return Answer(r.status, data, {k.lower(): v for k, v in r.getheaders()})

    def post(self, payload: dict[str, Any] | bytes, **headers: str) -> Answer:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.request("POST", WEBHOOK, body, headers)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def close(self) -> None:
        self.conn.close()


@dataclass
class Served:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    token: str | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, token: str | None = "default") -> Client:
        return Client(self.port, self.token if token == "default" else token)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def serve_env(token: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a served process, built from the test's (isolated) environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLSRE_", "MLFLOW_"))}
    env["MLSRE_USER"] = "tester"
    if os.environ.get("MLSRE_STORE_URL"):  # the test's backend (store_backend: PostgreSQL too)
        env["MLSRE_STORE_URL"] = os.environ["MLSRE_STORE_URL"]
    if token is not None:
        env["MLSRE_SERVE_TOKEN"] = token
    env.update(extra)
    return env


def start(
    workspace: Path,
    *args: str,
    token: str | None = "t0ken",
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> Served:
    port = port or free_port()
    log = workspace / f"serve-{port}.log"
    out = log.open("ab")
    proc = subprocess.Popen(
        [str(MLSRE), "serve", "--port", str(port), *args],
        cwd=workspace,
        env=env or serve_env(token),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    served = Served(port, proc, log, token)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlsre serve exited {proc.returncode}: {served.output()[-3000:]}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            c = Client(port, timeout_s=2)
            try:
                if c.get("/healthz").status == 200:
                    return served
            finally:
                c.close()
        time.sleep(0.1)
    stop(served)
    raise RuntimeError(f"mlsre serve not ready after 30 s: {served.output()[-3000:]}")


def stop(served: Served, sig: int = signal.SIGTERM, timeout_s: float = 20) -> int:
    if served.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(served.proc.pid, sig)
        try:
            served.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(served.proc.pid, signal.SIGKILL)
            served.proc.wait(timeout=5)
    return served.proc.returncode


@contextmanager
def serving(
    workspace: Path, *args: str, token: str | None = "t0ken", env: dict[str, str] | None = None
) -> Iterator[Served]:
    served = start(workspace, *args, token=token, env=env)
    try:
        yield served
    finally:
        stop(served)


def wait_for(check: Any, timeout_s: float = 30, every_s: float = 0.1) -> Any:
    """Poll ``check()`` until it returns something truthy; its last value otherwise."""
    deadline = time.monotonic() + timeout_s
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(every_s)
        value = check()
    return value
