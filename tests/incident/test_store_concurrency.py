"""Two people (or eight) writing at once never lose, duplicate or reorder an event."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from mlsre.incident.model import EventKind, Severity
from mlsre.incident.service import open_incident, record
from mlsre.incident.sqlite_store import SqliteStore

WRITER = """
import sys
from mlsre.incident.model import EventKind
from mlsre.incident.service import record
from mlsre.incident.sqlite_store import SqliteStore
store = SqliteStore(sys.argv[1])
for i in range(int(sys.argv[3])):
    record(store, 1, EventKind.NOTE, sys.argv[2], {"text": f"{sys.argv[2]}-{i}"})
    print(f"{sys.argv[2]}-{i}", flush=True)
"""

OPENER = """
import sys
from mlsre.incident.model import Severity
from mlsre.incident.service import open_incident
from mlsre.incident.sqlite_store import SqliteStore
store = SqliteStore(sys.argv[1])
for i in range(int(sys.argv[3])):
    inc = open_incident(store, title=f"{sys.argv[2]}-{i}", severity=Severity.SEV3, actor=sys.argv[2])
    print(inc.id, flush=True)
"""


def _spawn(code: str, url: str, name: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, url, name, str(n)], stdout=subprocess.PIPE, text=True
    )


def test_eight_writers_fifty_notes_each(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = SqliteStore(url)
    open_incident(store, title="shared", severity=Severity.SEV2, actor="a")
    procs = [_spawn(WRITER, url, f"w{k}", 50) for k in range(8)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    events = store.events(1)
    notes = [e for e in events if e.kind is EventKind.NOTE]
    assert len(notes) == 400
    assert sorted(e.data["text"] for e in notes) == sorted(
        f"w{k}-{i}" for k in range(8) for i in range(50)
    )
    assert [e.seq for e in events] == list(range(1, 402))
    for k in range(8):  # each writer's own notes stay in the order it wrote them
        mine = [int(e.data["text"].split("-")[1]) for e in notes if e.actor == f"w{k}"]
        assert mine == list(range(50))
    assert store.get(1).last_seq == 401


def test_eight_processes_opening_incidents_get_distinct_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    SqliteStore(url)
    procs = [_spawn(OPENER, url, f"o{k}", 10) for k in range(8)]
    ids: list[int] = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        ids += [int(x) for x in out.split()]
    assert sorted(ids) == list(range(1, 81))
    store = SqliteStore(url)
    assert sum(1 for _ in store.all_events()) == 80


def test_sigkill_mid_stream_loses_no_acknowledged_event(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = SqliteStore(url)
    open_incident(store, title="crash", severity=Severity.SEV2, actor="a")
    for victim_round in range(3):
        p = _spawn(WRITER, url, f"k{victim_round}", 100000)
        assert p.stdout is not None
        acked: list[str] = []
        deadline = time.monotonic() + 30
        while len(acked) < 40 + 17 * victim_round and time.monotonic() < deadline:
            acked.append(p.stdout.readline().strip())
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        rest = p.stdout.read().split()  # lines printed before the kill but not yet read
        acked += [x for x in rest if x]
        check = sqlite3.connect(tmp_path / "db.sqlite")
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        check.close()
        texts = {e.data.get("text") for e in SqliteStore(url).events(1)}
        missing = [a for a in acked if a not in texts]
        assert not missing, f"acknowledged events lost: {missing[:5]}"
    events = SqliteStore(url).events(1)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    record(SqliteStore(url), 1, EventKind.NOTE, "after", {"text": "still writable"})
