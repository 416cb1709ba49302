"""`mlsre serve` when things go wrong: locked store, SIGTERM, SIGKILL under load, restarts,
and payloads nobody meant to send (fuzzed). A real server process each time."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsre.incident.store import IncidentFilter, open_store
from tests.support.fixtures_serve import serve_config
from tests.support.serve_load import bodies, send
from tests.support.serve_support import Answer, alert, notification, serving, start, stop, wait_for

SLOW_RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: slow-check
title: Slow check
failure_mode: latency
triggers: {alerts: [SlowAlert]}
inputs:
  model: {description: Model name, required: true}
steps:
  - id: slow
    title: A check that takes a while
    uses: shell
    with: {argv: [sleep, "1"], safe: true}
    guidance: Long enough to kill the server in the middle of it.
  - id: after
    title: After
    uses: note
    with: {text: done}
    guidance: Runs after the slow one.
"""


def _db(ws: Path) -> Path:
    return ws / ".mlsre" / "mlsre.db"


def _store(ws: Path) -> Any:
    return open_store(f"sqlite:///{_db(ws)}")


def test_locked_store_answers_503_with_retry_after_and_the_retry_succeeds(serve_ws: Path) -> None:
    (serve_ws / "mlsre.yaml").write_text(
        serve_config(serve_ws / "marks", alerts_extra="  busy_timeout_s: 1\n")
    )
    body = notification([alert("EchoAlert", model="locked")])
    with serving(serve_ws, "--dry-run") as srv:
        c = srv.client()
        assert c.get("/readyz").status == 200  # creates the store
        holder = sqlite3.connect(_db(serve_ws), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            busy = c.post(body)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert busy.status == 503, busy.body
        assert busy.headers["retry-after"] == "5"
        assert "busy" in busy.body["error"]
        retry = c.post(body)
        assert retry.status == 200 and retry.body["groups"][0]["opened"] is True
    store = _store(serve_ws)
    try:
        assert len(store.incidents(IncidentFilter())) == 1
    finally:
        store.close()


def test_sigterm_finishes_the_request_in_flight_then_stops_cleanly(serve_ws: Path) -> None:
    srv = start(serve_ws, "--dry-run")
    try:
        c = srv.client()
        assert c.get("/readyz").status == 200
        holder = sqlite3.connect(_db(serve_ws), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the next webhook waits on the store...
        answers: list[Answer] = []
        poster = threading.Thread(
            target=lambda: answers.append(c.post(notification([alert("EchoAlert", model="t")])))
        )
        poster.start()
        time.sleep(0.5)
        srv.proc.send_signal(signal.SIGTERM)  # ...while the server is told to stop
        time.sleep(0.5)
        holder.execute("ROLLBACK")
        holder.close()
        poster.join(timeout=20)
        # uvicorn re-raises the signal after its graceful shutdown, as servers conventionally do
        assert srv.proc.wait(timeout=20) in (0, -signal.SIGTERM), srv.output()
    finally:
        stop(srv)
    assert [a.status for a in answers] == [200]
    assert "Traceback" not in srv.output()
    store = _store(serve_ws)
    try:
        assert [i.model for i in store.incidents(IncidentFilter())] == ["t"]
    finally:
        store.close()


def test_sigkill_under_load_loses_no_notification_that_got_a_2xx(serve_ws: Path) -> None:
    (serve_ws / "mlsre.yaml").write_text(
        serve_config(serve_ws / "marks", alerts_extra="  workers: 0\n")
    )
    work = bodies(total=6000, groups=100)  # more than it can take before the kill
    srv = start(serve_ws)
    killer = threading.Timer(1.0, lambda: srv.proc.send_signal(signal.SIGKILL))
    killer.start()
    try:
        result = send(srv.port, "t0ken", work, senders=20, stop_after_s=20)
    finally:
        killer.cancel()
        stop(srv)
    assert srv.proc.returncode == -signal.SIGKILL
    assert result.accepted, "the server was killed before answering anything"
    assert result.errors, "the server answered everything before it was killed"
    assert 500 not in result.statuses and 503 not in result.statuses
    store = _store(serve_ws)
    try:
        models = {i.model for i in store.incidents(IncidentFilter())}
    finally:
        store.close()
    assert set(result.accepted) <= models
    # Alertmanager retries whatever was not acknowledged: after a restart, still one per group
    with serving(serve_ws) as again:
        retried = send(again.port, "t0ken", work[:100], senders=20)  # one of each group
    assert retried.statuses == {200: 100}
    store = _store(serve_ws)
    try:
        incidents = store.incidents(IncidentFilter())
        assert len(incidents) == 100 and len({i.model for i in incidents}) == 100
    finally:
        store.close()


def test_a_restart_resumes_diagnoses_that_were_queued_or_running(serve_ws: Path) -> None:
    (serve_ws / "runbooks" / "slow-check.yaml").write_text(SLOW_RUNBOOK)
    (serve_ws / "mlsre.yaml").write_text(
        serve_config(serve_ws / "marks", alerts_extra="  workers: 1\n")
    )
    srv = start(serve_ws, "--dry-run")
    try:
        c = srv.client()
        assert c.post(notification([alert("SlowAlert", model="s1")])).status == 200
        assert c.post(notification([alert("SlowAlert", model="s2")])).status == 200

        def slow_started() -> bool:
            store = _store(serve_ws)
            try:
                return any(e.kind.value == "step_started" for e in store.events(1))
            finally:
                store.close()

        assert wait_for(slow_started, timeout_s=20)
        srv.proc.send_signal(signal.SIGKILL)  # INC-1 mid-step, INC-2 still queued
        srv.proc.wait(timeout=10)
    finally:
        stop(srv)
    store = _store(serve_ws)
    try:
        assert [j.state for j in store.jobs()] == ["running", "queued"]
    finally:
        store.close()

    def all_done() -> bool:
        store = _store(serve_ws)
        try:
            return [j.state for j in store.jobs()] == ["done", "done"]
        finally:
            store.close()

    with serving(serve_ws, "--dry-run"):
        assert wait_for(all_done, timeout_s=30)
    store = _store(serve_ws)
    try:
        first = [(e.kind.value, e.data.get("step")) for e in store.events(1)]
        second = [(e.kind.value, e.data.get("step")) for e in store.events(2)]
    finally:
        store.close()
    # INC-1: the interrupted run was resumed (one run, the slow step started twice)
    assert first.count(("runbook_started", None)) == 1
    assert first.count(("step_started", "slow")) == 2
    assert first.count(("runbook_finished", None)) == 1
    assert ("step_result", "after") in first
    assert second.count(("runbook_finished", None)) == 1


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
_valid = notification([alert("EchoAlert", model="fz")])


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    """A real payload with one field replaced, dropped or nested wrongly, or raw junk."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.binary(max_size=200))
    if choice == 1:
        return json.dumps(draw(_json_values)).encode()
    body = json.loads(json.dumps(_valid))
    target = body if choice == 2 else body["alerts"][0]
    key = draw(st.sampled_from(sorted(target)))
    if draw(st.booleans()):
        del target[key]
    else:
        target[key] = draw(_json_values)
    return json.dumps(body).encode()


@pytest.mark.slow
def test_fuzzed_payloads_never_get_a_500(serve_ws: Path) -> None:
    (serve_ws / "mlsre.yaml").write_text(
        serve_config(serve_ws / "marks", alerts_extra="  workers: 0\n")
    )
    with serving(serve_ws) as srv:
        c = srv.client()
        seen: set[int] = set()

        @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
        @given(_mutated())
        def check(body: bytes) -> None:
            answer = c.post(body)
            assert answer.status in (200, 400, 413), (body[:200], answer.status, answer.body)
            if answer.status != 200:
                assert answer.body["error"] and "\n" not in answer.body["error"]
            seen.add(answer.status)

        check()
        assert c.get("/healthz").status == 200
    assert seen >= {200, 400}


def test_a_payload_error_on_an_odd_key_is_one_line() -> None:
    """Hypothesis found it once: a null under the key "\\n" made a two-line error."""
    from mlsre.serve.payload import PayloadError, parse

    body = notification([alert("DriftHigh")])
    body["commonAnnotations"] = {"\n": None}
    with pytest.raises(PayloadError) as err:
        parse(json.dumps(body).encode())
    assert "\n" not in str(err.value) and 'commonAnnotations."\\n"' in str(err.value)
