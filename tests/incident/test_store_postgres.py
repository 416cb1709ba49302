"""The PostgreSQL team store against a real server: many writers, restarts, bad connections."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlsre.incident.migrations import LATEST
from mlsre.incident.model import EventKind, Severity
from mlsre.incident.service import open_incident, record
from mlsre.incident.store import IncidentFilter, open_event_store
from tests.cli.test_cli_surface import HEAVY, _imported_modules
from tests.support.faulty_server import free_port
from tests.support.fixtures_postgres import PASSWORD, Lines, PgServer
from tests.support.helpers import run

WRITER = """
import sys
from mlsre.incident.model import EventKind
from mlsre.incident.service import record
from mlsre.incident.store import open_store
store = open_store(sys.argv[1])
for i in range(int(sys.argv[3])):
    record(store, 1, EventKind.NOTE, sys.argv[2], {"text": f"{sys.argv[2]}-{i}"})
"""

OPENER = """
import sys
from mlsre.incident.model import Severity
from mlsre.incident.service import open_incident
from mlsre.incident.store import open_store
store = open_store(sys.argv[1])
for i in range(int(sys.argv[3])):
    inc = open_incident(store, title=f"{sys.argv[2]}-{i}", severity=Severity.SEV3, actor=sys.argv[2])
    print(inc.id, flush=True)
"""

# One write per loop; a failure is printed as one line and the stream goes on.
STREAM = """
import sys, time
from mlsre.errors import MlsreError
from mlsre.incident.model import EventKind
from mlsre.incident.service import record
from mlsre.incident.store import open_store
store = open_store(sys.argv[1])
for i in range(int(sys.argv[2])):
    try:
        record(store, 1, EventKind.NOTE, "stream", {"text": f"n{i}"})
        print(f"OK n{i}", flush=True)
    except MlsreError as exc:
        print(f"ERR n{i} {exc} | {exc.hint}", flush=True)
    time.sleep(0.01)
"""


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def test_sixteen_writers_hundred_notes_each_stay_contiguous(pg_url: str) -> None:
    store = open_event_store(pg_url)
    open_incident(store, title="shared", severity=Severity.SEV2, actor="a")
    procs = [_spawn(WRITER, pg_url, f"w{k}", "100") for k in range(16)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    events = store.events(1)
    notes = [e for e in events if e.kind is EventKind.NOTE]
    assert len(notes) == 1600
    assert sorted(e.data["text"] for e in notes) == sorted(
        f"w{k}-{i}" for k in range(16) for i in range(100)
    )
    assert [e.seq for e in events] == list(range(1, 1602))
    for k in range(16):  # each writer's notes keep the order it wrote them in
        mine = [int(e.data["text"].split("-")[1]) for e in notes if e.actor == f"w{k}"]
        assert mine == list(range(100))
    assert store.get(1).last_seq == 1601
    assert {t: n for t, n in store.counts().items() if n} == {"incidents": 1, "events": 1601}


def test_sixteen_openers_on_an_empty_database_get_distinct_gap_free_ids(
    postgres: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    url = postgres.empty_database()  # the first openers also race to create the schema
    procs = [_spawn(OPENER, url, f"o{k}", "5") for k in range(16)]
    ids: list[int] = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        ids += [int(x) for x in out.split()]
    assert sorted(ids) == list(range(1, 81))
    store = open_event_store(url)
    assert store.schema_version()[0] == LATEST
    assert [r.id for r in store.rows(IncidentFilter())] == list(range(80, 0, -1))


def test_postgres_restart_mid_stream_commits_or_fails_each_write_in_one_line(
    postgres: PgServer, pg_url: str
) -> None:
    store = open_event_store(pg_url)
    open_incident(store, title="restart", severity=Severity.SEV2, actor="a")
    store.close()
    follower = subprocess.Popen(
        # every entry from the first: a follower slow to start must not begin at "the last 10"
        [sys.executable, "-m", "mlsre", "--store", pg_url, "incident", "follow", "1", "--json",
         "--last", "100000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )  # fmt: skip
    proc = _spawn(STREAM, pg_url, "400")
    assert proc.stdout is not None
    lines: list[str] = []
    while len(lines) < 40:
        lines.append(proc.stdout.readline().strip())
    reader = open_event_store(pg_url)
    reader.get(1)
    postgres.restart()
    assert reader.get(1).title == "restart"  # a read on a connection from before: reopened
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    lines += [x for x in out.splitlines() if x]
    assert len(lines) == 400
    ok = [x.split()[1] for x in lines if x.startswith("OK ")]
    failed = [x for x in lines if x.startswith("ERR ")]
    assert failed, "the restart should have failed at least one write"
    for line in failed:
        assert "incident store" in line and PASSWORD not in line
    last_failure = max(i for i, x in enumerate(lines) if x.startswith("ERR "))
    assert any(x.startswith("OK ") for x in lines[last_failure:]), "the stream never recovered"
    events = open_event_store(pg_url).events(1)
    texts = [e.data["text"] for e in events if e.kind is EventKind.NOTE]
    assert len(texts) == len(set(texts))  # nothing written twice
    assert set(ok) <= set(texts)  # every acknowledged write is there
    unsure = [x.split()[1] for x in failed if "may or may not" in x]
    assert set(texts) - set(ok) <= set(unsure)  # a failed write is absent unless it said "maybe"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert open_event_store(pg_url).get(1).last_seq == len(events)
    # The follower rode out the restart: it printed every event, once, in order.
    seen: list[int] = []
    assert follower.stdout is not None
    lines_out = Lines(follower.stdout)
    while not seen or seen[-1] < len(events):
        printed = lines_out.next(60)
        assert printed, f"follow stopped printing after seq {seen[-1:]}"
        seen.append(json.loads(printed)["seq"])
    follower.terminate()
    follower.communicate(timeout=30)
    assert seen == list(range(1, len(events) + 1))


@pytest.mark.usefixtures("store_backend")
def test_two_resolvers_at_once_one_wins_the_other_is_refused(isolated: Path) -> None:
    from mlsre.config_file import store_url

    url = store_url()
    store = open_event_store(url)
    open_incident(store, title="race", severity=Severity.SEV2, actor="a")
    env = dict(os.environ)
    argv = [sys.executable, "-m", "mlsre", "incident", "resolve", "INC-1", "-r"]
    # Hold the incident's lock so both resolvers are waiting on it when it is released.
    hold = open_event_store(url)
    with hold._write():
        hold._load(1, for_update=True)
        procs = [
            subprocess.Popen(
                [*argv, f"fix {k}"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for k in range(2)
        ]
        time.sleep(2.0)
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 1], results
    loser = next(r for r in results if r[0] == 1)
    error_lines = [x for x in loser[2].splitlines() if x.startswith("error:")]
    assert error_lines == ["error: INC-1 is resolved; it cannot be resolved now"], loser[2]
    assert "Traceback" not in loser[2]
    kinds = [e.kind for e in open_event_store(url).events(1)]
    assert kinds.count(EventKind.RESOLVED) == 1


def _one_line_failure(*args: str) -> str:
    r = run(*args)
    assert r.exit_code == 1, r.output
    lines = r.stderr.splitlines()
    assert len([x for x in lines if x.startswith("error:")]) == 1 and len(lines) <= 2, r.stderr
    assert "Traceback" not in r.stderr and PASSWORD not in r.stderr + r.stdout
    return str(lines[0])


def test_refused_wrong_password_and_missing_database_are_one_line(
    postgres: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port()}/mlsre"
    assert "Connection refused" in _one_line_failure("--store", refused, "incident", "list")
    monkeypatch.setenv("PGPASSWORD", "not-the-password")
    line = _one_line_failure("--store", postgres.url("postgres"), "incident", "list")
    assert "password authentication failed" in line
    wrong_in_url = postgres.url("postgres").replace("postgres@", "postgres:hunter2-wrong@")
    line = _one_line_failure("--store", wrong_in_url, "incident", "list")
    assert "hunter2-wrong" not in line and "postgres:***@" in line
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    line = _one_line_failure("--store", postgres.url("no_such_db"), "incident", "list")
    assert 'database "no_such_db" does not exist' in line


def test_incident_list_on_postgres_imports_psycopg_and_nothing_else_heavy(
    isolated: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSRE_STORE_URL", pg_url)
    store = open_event_store(pg_url)
    open_incident(store, title="x", severity=Severity.SEV3, actor="a")
    mods = _imported_modules("incident", "list", cwd=isolated)
    assert "psycopg" in mods
    assert not (mods & (HEAVY - {"psycopg"})), sorted(mods & HEAVY)
    assert "pydantic" not in mods


def test_a_shared_store_is_migrated_only_when_asked(postgres: PgServer, pg_url: str) -> None:
    store = open_event_store(pg_url)
    open_incident(store, title="kept", severity=Severity.SEV3, actor="a")
    store.close()
    db = pg_url.rsplit("/", 1)[1]
    postgres.sql(  # make it look like a store one version behind (before serve's tables)
        "DROP TABLE serve_alert_groups, serve_jobs, serve_auto_actions, serve_flags;"
        f" DELETE FROM schema_migrations WHERE version = {LATEST};"
        f" UPDATE meta SET value = '{LATEST - 1}' WHERE key = 'schema_version'",
        db=db,
    )
    r = run("--store", pg_url, "incident", "list")
    assert r.exit_code == 1 and f"schema version {LATEST - 1};" in r.stderr
    assert "mlsre store migrate" in r.stderr
    r = run("--store", pg_url, "store", "migrate")
    assert r.exit_code == 0 and f"applied migration {LATEST}:" in r.stdout, r.output
    r = run("--store", pg_url, "store", "migrate")
    assert r.exit_code == 0 and f"already at schema version {LATEST}" in r.stdout
    r = run("--store", pg_url, "incident", "list")
    assert r.exit_code == 0 and "kept" in r.stdout
    record(open_event_store(pg_url), 1, EventKind.NOTE, "a", {"text": "after"})
