"""Hardening probe, misbehaving servers and wrong results (issue 13), as a person sees them.

Each fault from the hostile server ends in one line that names what happened, with exit 1 (or
4 for a runbook check that could not run), never exit 3, a hang or a misleading name.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlsre.slo.examples import example_files
from tests.support.helpers import run
from tests.support.hostile_server import HostileServer


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer(huge_bytes=300 * 1024 * 1024)
    yield server
    server.stop()


def workspace(tmp: Path, url: str, monkeypatch: pytest.MonkeyPatch, extra: str = "") -> Path:
    ws = tmp / "ws"
    assert run("init", str(ws)).exit_code == 0
    (ws / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{url}', retries: 0, timeout_s: 5{extra}}}\n"
        f"registry: {{url: '{url}', retries: 0, timeout_s: 5{extra}}}\n"
    )
    for name, text in example_files().items():
        if name.startswith("model-latency"):
            (ws / "slos" / name).write_text(text)
    monkeypatch.chdir(ws)
    return ws


def one_line_error(r: object, *expected: str) -> str:
    err: str = r.stderr  # type: ignore[attr-defined]
    code: int = r.exit_code  # type: ignore[attr-defined]
    assert code in (1, 4), (code, err)
    first = err.splitlines()[0] if err else ""
    assert first.startswith("error: ") and "Traceback" not in err, err
    for text in expected:
        assert text in first, (text, first)
    return first


CASES = [
    ("redirect", ("doctor",), "redirected too many times"),
    ("redirect", ("model", "versions", "m"), "redirected too many times"),
    ("redirect", ("slo", "status"), "redirected too many times"),
    ("wrongshape", ("model", "versions", "m"), "unexpected shape"),
    ("wrongshape", ("slo", "status"), "unexpected shape"),
    ("text500", ("model", "versions", "m"), "answered HTTP 500: upstream exploded"),
    ("forbidden-json", ("slo", "status"), "refused access: HTTP 403"),
    ("notmlflow", ("model", "versions", "m"), "not an MLflow registry answer"),
    ("pages", ("model", "versions", "m"), "same next_page_token twice"),
    ("huge", ("model", "versions", "m"), "answers over 1.0 MB are refused"),
    ("huge-chunked", ("slo", "status"), "answers over 1.0 MB are refused"),
]


@pytest.mark.parametrize("mode,args,expected", CASES, ids=[f"{c[0]}-{c[1][0]}" for c in CASES])
def test_fault_is_one_true_line(
    mode: str,
    args: tuple[str, ...],
    expected: str,
    hostile: HostileServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workspace(tmp_path, f"{hostile.url}/{mode}", monkeypatch, ", max_body_mb: 1")
    started = time.monotonic()
    r = run(*args)
    assert time.monotonic() - started < 15
    if args[0] == "doctor":
        assert r.exit_code == 1 and expected in r.stdout, r.stdout
        return
    if args[:2] == ("slo", "status") and r.exit_code in (0, 1) and not r.stderr:
        assert expected in r.stdout, r.stdout  # shown per SLO
        return
    one_line_error(r, expected)


def test_doctor_recognises_a_server_that_is_not_mlflow(
    hostile: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace(tmp_path, f"{hostile.url}/notmlflow", monkeypatch)
    r = run("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["registry"]["status"] == "fail"
    assert "is not an MLflow server" in checks["registry"]["detail"]


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite:///:memory:", ":memory:"])
def test_a_store_that_keeps_nothing_is_refused(url: str) -> None:
    r = run("--store", url, "incident", "open", "lost")
    one_line_error(r, "keeps nothing")


def test_an_event_from_a_newer_mlsre_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    monkeypatch.chdir(ws)
    assert run("incident", "open", "x").exit_code == 0
    db = sqlite3.connect(ws / ".mlsre" / "mlsre.db")
    db.execute(
        "INSERT INTO events (incident_id, seq, at, actor, kind, data) "
        "VALUES (1, 2, '2026-11-29T00:00:00+00:00', 'x', 'teleported', '{}')"
    )
    db.commit()
    db.close()
    one_line_error(run("incident", "show", "1"), "'teleported'", "newer mlsre")


def _publishable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    monkeypatch.chdir(ws)
    assert run("incident", "open", "x").exit_code == 0
    assert run("incident", "resolve", "1", "-r", "done").exit_code == 0
    return ws / "postmortems"


def test_a_failing_git_hook_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _publishable(tmp_path, monkeypatch)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'policy: no postmortems on Sundays' >&2\nexit 1\n")
    hook.chmod(0o755)
    one_line_error(run("postmortem", "publish", "1"), "hook", "no postmortems on Sundays")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_a_read_only_repo_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _publishable(tmp_path, monkeypatch)
    git_dir = repo / ".git"
    for path in [git_dir, *git_dir.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        one_line_error(run("postmortem", "publish", "1"))
    finally:
        for path in [git_dir, *git_dir.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_postmortem_lint_of_a_binary_file(tmp_path: Path) -> None:
    binary = tmp_path / "x.md"
    binary.write_bytes(bytes(range(256)))
    r = run("postmortem", "lint", str(binary))
    one_line_error(r, "not UTF-8 text")


def test_drift_counts_infinities(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(7)
    ref = rng.normal(10, 1, 2000)
    cur = rng.normal(10, 1, 2000)
    cur[::2] = np.inf  # half the column is +inf
    (tmp_path / "ref.csv").write_text("amount\n" + "\n".join(f"{v:.6f}" for v in ref) + "\n")
    (tmp_path / "cur.csv").write_text("amount\n" + "\n".join(str(v) for v in cur) + "\n")
    r = run("drift", "compare", str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv"), "--json")
    assert r.exit_code in (0, 1), r.stderr
    column = json.loads(r.stdout)["columns"][0]
    assert column["status"] == "drift" and "infinite share 0.0% -> 50.0%" in column["note"]


@pytest.mark.parametrize(
    "mode,outcome", [("rollback-hang", "unknown"), ("rollback-mismatch", "mismatch")]
)
def test_a_rollback_that_did_not_verify_is_recorded(
    mode: str,
    outcome: str,
    hostile: HostileServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = workspace(tmp_path, f"{hostile.url}/{mode}", monkeypatch)
    (ws / "mlsre.yaml").write_text(
        f"registry: {{url: '{hostile.url}/{mode}', retries: 0, timeout_s: 1}}\n"
    )
    assert run("incident", "open", "x").exit_code == 0
    r = run("model", "rollback", "m", "--incident", "1", "--yes")
    one_line_error(r, "m@champion", "to 3")
    events = json.loads(run("incident", "export", "1").stdout)["events"]
    changed = [e["data"] for e in events if e["kind"] == "model_changed"]
    assert len(changed) == 1 and changed[0]["outcome"] == outcome
    assert changed[0]["from_version"] == "4" and changed[0]["to_version"] == "3"
    timeline = run("incident", "timeline", "1").stdout
    assert f"moving alias champion from version 4 to 3 {outcome}" in timeline
