"""Hardening probe, secrets (issue 13): no form of a secret reaches any output channel.

A hostile server echoes the request's Authorization header into answers and error messages.
Every command that talks to it is run; then stdout, stderr, the incident's events, its export,
the postmortem files and the postmortem repo's git history are searched for every form of
every secret: raw, base64 ``user:password``, URL-embedded and URL-encoded.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from mlsre.redaction import RedactingStream, redact
from tests.support.helpers import run
from tests.support.hostile_server import HostileServer

TOKEN = "tok-Zq81/x+y=secret"  # characters that URL-encoding and JSON change
USER, PASSWORD = "alice", 'p@ss:w0rd/"quoted"'
MLFLOW_TOKEN = "mlf-9137-token-xyz"


def forms() -> dict[str, str]:
    """Every shape a secret of this test can take on its way out."""
    pair = f"{USER}:{PASSWORD}"
    out = {
        "token": TOKEN,
        "token url-encoded": quote(TOKEN, safe=""),
        "token json-escaped": json.dumps(TOKEN)[1:-1],
        "password": PASSWORD,
        "password url-encoded": quote(PASSWORD, safe=""),
        "password json-escaped": json.dumps(PASSWORD)[1:-1],
        "basic pair base64": base64.b64encode(pair.encode()).decode(),
        "url-embedded": f"{USER}:{quote(PASSWORD, safe='')}@",
        "mlflow token": MLFLOW_TOKEN,
    }
    return out


def leaks(text: str) -> list[str]:
    return [name for name, form in forms().items() if form in text]


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.stop()


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLSRE_PROMETHEUS_USERNAME", USER)
    monkeypatch.setenv("MLSRE_PROMETHEUS_PASSWORD", PASSWORD)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", MLFLOW_TOKEN)


def test_redact_hides_every_derived_form(secret_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLSRE_PROMETHEUS_TOKEN", TOKEN)
    text = " | ".join(forms().values())
    assert len(leaks(text)) == len(forms())  # the probe itself can see every leak
    assert leaks(redact(text)) == []
    assert leaks(redact(f"Authorization: Bearer {TOKEN} and {quote(TOKEN, safe='')}")) == []
    # credentials in any URL, and echoed auth headers, even for secrets we were not told about
    assert redact("https://bob:hunter22@host/x") == "https://bob:***@host/x"
    other = base64.b64encode(b"carol:s3cret-other").decode()
    assert other not in redact(f"Authorization: Basic {other}")
    # prose is left alone
    assert redact("Basic authentication failed") == "Basic authentication failed"


def test_a_secret_split_across_writes_is_still_caught(secret_env: None) -> None:
    class Sink:
        def __init__(self) -> None:
            self.text = ""

        def write(self, s: str) -> int:
            self.text += s
            return len(s)

        def flush(self) -> None:
            return None

        def isatty(self) -> bool:
            return False

    sink = Sink()
    stream = RedactingStream(sink)  # type: ignore[arg-type]
    half = len(MLFLOW_TOKEN) // 2
    stream.write(f"token {MLFLOW_TOKEN[:half]}")
    stream.write(f"{MLFLOW_TOKEN[half:]} end\nprompt> ")
    stream.flush()
    assert MLFLOW_TOKEN not in sink.text and "prompt> " in sink.text


RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: echo-probe
title: Echo probe
failure_mode: latency
inputs:
  model: {default: m}
steps:
  - id: q
    title: query
    uses: prometheus.query
    with: {query: 'up{model="{{ inputs.model }}"}'}
    expect: value < 5
  - id: v
    title: versions
    uses: registry.versions
    with: {model: "{{ inputs.model }}"}
"""


def _workspace(root: Path, url: str, mode: str) -> None:
    out = run("init", str(root))
    assert out.exit_code == 0, out.stderr
    (root / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{url}/{mode}', timeout_s: 5, retries: 0}}\n"
        f"registry: {{url: '{url}/{mode}', timeout_s: 5, retries: 0}}\n"
    )
    (root / "runbooks" / "echo-probe.yaml").write_text(RUNBOOK)


@pytest.mark.parametrize("mode", ["echo", "echo-error"])
def test_no_channel_leaks_any_form(
    mode: str,
    hostile: HostileServer,
    secret_env: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = tmp_path / "ws"
    _workspace(ws, hostile.url, mode)
    monkeypatch.chdir(ws)
    seen: dict[str, str] = {}

    def call(*args: str) -> None:
        r = run(*args)
        assert r.exit_code != 3, f"{args}: {r.stderr}"
        seen[" ".join(args)] = r.stdout + r.stderr

    call("config", "show")
    call("doctor")
    call("doctor", "--json")
    call("model", "versions", "m")
    call("model", "versions", "m", "--json")
    opened = run("incident", "open", "probe", "--json")
    ref = json.loads(opened.stdout)["id"]
    call("runbook", "run", "echo-probe", "--incident", str(ref), "--non-interactive", "--json")
    call("runbook", "run", "echo-probe", "--incident", str(ref), "--non-interactive")
    call("incident", "show", str(ref))
    call("incident", "export", str(ref))
    call("incident", "resolve", str(ref), "-r", "probe done")
    call("postmortem", "render", str(ref))
    call("postmortem", "publish", str(ref))
    assert hostile.hits.get(mode, 0) >= 4  # the server really was asked, and echoed
    repo = ws / "postmortems"
    history = subprocess.run(
        ["git", "-C", str(repo), "log", "-p", "--all"], capture_output=True, text=True, check=False
    ).stdout
    seen["git log -p"] = history
    for path in repo.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            seen[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    found = {channel: leaks(text) for channel, text in seen.items() if leaks(text)}
    assert found == {}
    # the echo did reach us, redacted: the evidence keeps the shape, not the secret
    assert "***" in seen[f"incident export {ref}"]


def test_config_show_hides_a_password_in_a_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSRE_PROMETHEUS_URL", "https://ops:Hunter2-pw@prom.example:9090")
    r = run("config", "show")
    assert r.exit_code == 0, r.stderr
    assert "Hunter2-pw" not in r.stdout and "https://ops:***@prom.example:9090" in r.stdout
