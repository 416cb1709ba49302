"""Schema versions, migrations, `store copy` and `incident follow`, on both backends."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mlsre.incident import migrations, pg_store, sqlite_store
from mlsre.incident.model import EventKind, Severity
from mlsre.incident.service import open_incident, record
from mlsre.incident.store import IncidentFilter, open_event_store
from mlsre.incident.store_copy import event_log_checksum
from tests.support.fixtures_postgres import Lines, PgServer
from tests.support.helpers import ok, ok_json, run

DATA = Path(__file__).parents[1] / "data"


def _strict(line: str) -> Any:
    def no_constant(name: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(line, parse_constant=no_constant)


def test_every_backend_has_sql_for_every_migration() -> None:
    versions = {m.version for m in migrations.MIGRATIONS}
    assert versions == set(range(1, migrations.LATEST + 1))
    assert set(sqlite_store.SQL) == versions and set(pg_store.SQL) == versions


def _dump(path: Path) -> dict[str, list[Any]]:
    """Every row of every table, read with sqlite3 itself (not our code)."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t in tables
            if t not in ("sqlite_sequence", "schema_migrations")
        }


@pytest.mark.parametrize(
    ("name", "version", "counts"),
    [
        # written by mlsre before migrations existed (this branch's base, 622660f)
        ("store-v1.sqlite", 1, {"incidents": 3, "events": 15}),
        # written by main's code with the change log, escalation and outbox (schema 3)
        (
            "store-v3.sqlite",
            3,
            {"incidents": 2, "events": 6, "escalations": 1, "outbox": 3, "changes": 1},
        ),
    ],
)
def test_a_store_file_from_an_earlier_mlsre_opens_and_migrates_without_loss(
    isolated: Path, name: str, version: int, counts: dict[str, int]
) -> None:
    path = isolated / name
    shutil.copy(DATA / name, path)
    before = _dump(path)
    url = f"sqlite:///{path}"
    st = ok_json("--store", url, "store", "status")
    assert st["schema_version"] == version and st["latest_version"] == migrations.LATEST
    listed = ok_json("--store", url, "incident", "list", "--all")  # opening migrates it
    assert [r["id"] for r in listed] == list(range(counts["incidents"], 0, -1))
    after = _dump(path)
    meta = after.pop("meta")
    assert {t: rows for t, rows in after.items() if t in before} == {
        t: rows for t, rows in before.items() if t != "meta"
    }
    assert set(before["meta"]) - set(meta) <= {("schema_version", str(version))}
    st = ok_json("--store", url, "store", "status")
    assert st["schema_version"] == migrations.LATEST
    assert {t: n for t, n in st["counts"].items() if n} == counts
    assert [m["version"] for m in st["migrations"]] == [m.version for m in migrations.MIGRATIONS]
    ok("--store", url, "incident", "note", "1", "still writable")
    inc1 = [r for r in before["events"] if r[0] == 1]
    assert ok_json("--store", url, "incident", "show", "1")["incident"]["last_seq"] == len(inc1) + 1


def test_the_v1_store_keeps_every_detail(isolated: Path) -> None:
    path = isolated / "old.sqlite"
    shutil.copy(DATA / "store-v1.sqlite", path)
    url = f"sqlite:///{path}"
    show = ok_json("--store", url, "incident", "show", "1")["incident"]
    assert show["status"] == "acknowledged" and show["roles"] == {
        "commander": "alice",
        "scribe": "bob",
    }
    assert [a["done"] for a in show["actions"]] == [True, False]
    notes = [e for e in ok_json("--store", url, "incident", "timeline", "2") if e["kind"] == "note"]
    assert notes[0]["data"]["text"] == 'quotes "x" and \\back\\slash and <b>markup</b> [red]x[/red]'


def _newer(url: str, server: PgServer | None) -> None:
    store = open_event_store(url)
    open_incident(store, title="from the future", severity=Severity.SEV3, actor="a")
    sql = (
        "UPDATE meta SET value = CASE key WHEN 'schema_version' THEN '99' ELSE '9.9.0' END"
        " WHERE key IN ('schema_version', 'written_by')"
    )
    if server is None:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(sql)
    else:
        server.sql(sql, db=url.rsplit("/", 1)[1])


@pytest.mark.usefixtures("store_backend")
def test_a_store_written_by_a_newer_mlsre_is_refused_and_left_alone(
    isolated: Path, request: pytest.FixtureRequest
) -> None:
    from mlsre.config_file import store_url

    url = store_url()
    _newer(url, request.getfixturevalue("postgres") if url.startswith("postgresql") else None)
    for args in (("incident", "list"), ("incident", "note", "1", "x"), ("store", "migrate")):
        r = run(*args)
        assert r.exit_code == 1, r.output
        assert (
            "schema version 99, written by mlsre 9.9.0" in r.stderr and "upgrade mlsre" in r.stderr
        )
    st = ok_json("store", "status")
    assert st["schema_version"] == 99 and st["counts"] == {}
    assert "written by a newer mlsre" in ok("store", "status").stdout


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {t: n for t, n in counts.items() if n}


def test_copy_moves_outbox_escalations_and_the_change_log(isolated: Path, pg_url: str) -> None:
    src = isolated / "v3.sqlite"
    shutil.copy(DATA / "store-v3.sqlite", src)
    first = ok_json("store", "copy", f"sqlite:///{src}", pg_url)
    assert first["verified"] and _nonzero(first["copied"]) == {
        "incidents": 2,
        "events": 6,
        "escalations": 1,
        "outbox": 3,
        "changes": 1,
    }
    assert first["target_counts"] == first["source_counts"]
    assert open_event_store(pg_url).store_id() == "c42737779d1a"  # dedup keys stay stable
    assert _nonzero(ok_json("store", "copy", f"sqlite:///{src}", pg_url)["copied"]) == {}
    with sqlite3.connect(src) as db:  # a delivery happened in the source since: state moves
        db.execute("UPDATE outbox SET status = 'sent', attempts = 1 WHERE id = 2")
    assert _nonzero(ok_json("store", "copy", f"sqlite:///{src}", pg_url)["copied"]) == {"outbox": 1}
    back = isolated / "back.sqlite"
    ok_json("store", "copy", pg_url, f"sqlite:///{back}")
    assert _dump(back) == _dump(src) | {"meta": _dump(back)["meta"]}
    assert ("store_id", "c42737779d1a") in _dump(back)["meta"]


def _fill(url: str, n: int) -> None:
    store = open_event_store(url)
    for i in range(n):
        inc = open_incident(store, title=f"i{i}", severity=Severity.SEV3, actor="a")
        record(store, inc.id, EventKind.NOTE, "b", {"text": f"note {i} ✓", "x": [1.5, None]})
        if i % 3 == 0:
            record(store, inc.id, EventKind.ACTION_ADDED, "c", {"title": "fix", "type": "prevent"})
            record(store, inc.id, EventKind.RESOLVED, "c", {"resolution": "done"})


def test_copy_sqlite_to_postgres_and_back_is_verified_idempotent_and_catches_up(
    isolated: Path, pg_url: str
) -> None:
    src = f"sqlite:///{isolated / 'src.db'}"
    _fill(src, 60)
    first = ok_json("store", "copy", src, pg_url, "--batch", "7")
    assert first["verified"] is True
    assert _nonzero(first["copied"]) == {"incidents": 60, "events": 60 + 60 + 20 + 20}
    assert first["source_checksum"] == first["target_checksum"]
    again = ok_json("store", "copy", src, pg_url)
    assert _nonzero(again["copied"]) == {} and again["verified"] is True
    record(open_event_store(src), 5, EventKind.NOTE, "late", {"text": "after the first copy"})
    caught_up = ok_json("store", "copy", src, pg_url)
    assert _nonzero(caught_up["copied"]) == {"incidents": 1, "events": 1} and caught_up["verified"]
    assert open_event_store(pg_url).get(5).last_seq == 3
    back = f"sqlite:///{isolated / 'back.db'}"
    home = ok_json("store", "copy", pg_url, back)
    assert home["verified"] and home["source_checksum"] == caught_up["source_checksum"]
    assert event_log_checksum(open_event_store(back)) == event_log_checksum(open_event_store(src))
    inc = open_incident(open_event_store(back), title="new", severity=Severity.SEV1, actor="a")
    assert inc.id == 61  # ids carry on after the copied ones


def test_an_interrupted_copy_resumes_and_never_mixes_two_histories(
    isolated: Path, pg_url: str
) -> None:
    src = f"sqlite:///{isolated / 'src.db'}"
    _fill(src, 300)
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlsre", "store", "copy", src, pg_url, "--batch", "3"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().startswith("copied up to INC-")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = open_event_store(pg_url).counts()
    assert 0 < partial["incidents"] < 300
    target = open_event_store(pg_url)
    for row in target.rows(IncidentFilter()):  # whole incidents only: each batch commits as one
        assert len(target.events(row.id)) == target.get(row.id).last_seq
    done = ok_json("store", "copy", src, pg_url)
    assert done["verified"] and done["copied"]["incidents"] == 300 - partial["incidents"]
    other = f"sqlite:///{isolated / 'other.db'}"
    _fill(other, 2)
    r = run("store", "copy", other, pg_url)
    assert r.exit_code == 1 and "already holds a different history" in r.stderr, r.output
    assert "(INC-1)" in r.stderr


def _follower(*extra: str) -> tuple[subprocess.Popen[bytes], Lines]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlsre", "incident", "follow", "INC-1", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    return proc, Lines(proc.stdout)


def _readline(lines: Lines) -> str:
    line = lines.next(30)
    assert line is not None, "no line from incident follow"
    return line


@pytest.mark.usefixtures("store_backend")
def test_follow_prints_each_new_entry_as_one_json_line(isolated: Path) -> None:
    from mlsre.config_file import store_url

    store = open_event_store(store_url())
    open_incident(store, title="followed", severity=Severity.SEV2, actor="a")
    record(store, 1, EventKind.NOTE, "a", {"text": "before"})
    proc, lines = _follower("--json", "--last", "1")
    try:
        first = _strict(_readline(lines))
        assert first["seq"] == 2 and first["data"] == {"text": "before"}
        for i in range(3):
            record(store, 1, EventKind.NOTE, "scribe", {"text": f"live {i}"})
            started = time.monotonic()
            line = _strict(_readline(lines))
            assert line["seq"] == 3 + i and line["data"]["text"] == f"live {i}"
            assert line["actor"] == "scribe" and time.monotonic() - started < 10
        record(store, 1, EventKind.ACKNOWLEDGED, "b", {})
        assert _strict(_readline(lines))["kind"] == "acknowledged"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err.decode().strip() == "interrupted"


def test_follow_shows_timeline_lines_a_person_reads(isolated: Path) -> None:
    ok("incident", "open", "followed", "-s", "SEV2")
    proc, lines = _follower()
    try:
        first = _readline(lines).split("\t")
        assert first[0] == "1" and first[2] == "tester" and "followed" in first[3]
        ok("incident", "note", "1", "[red]not markup[/red]", "--as", "sam")
        line = _readline(lines)
        assert line.split("\t")[0] == "2" and line.split("\t")[2] == "sam"
        assert "[red]not markup[/red]" in line
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    r = run("incident", "follow", "INC-9")
    assert r.exit_code == 1 and "no incident INC-9" in r.stderr
