"""The team store at size: PostgreSQL beside SQLite, with baselines measured in the same run.

1. `store copy` of 10,000 incidents / 200,000 events SQLite -> PostgreSQL: counts and event-log
   checksum must match; a second run must copy nothing (both checked, both timed).
2. Cold `mlsre incident list` over those 10,000 incidents on each backend, beside
   `python -c "import typer"` (ratios printed).
3. Notes per second with 16 concurrent writer processes on one incident, per backend.
4. `incident follow --json` latency from a note's commit to its line (aim: < 200 ms on PG).

Starts its own PostgreSQL 15 (initdb + pg_ctl in a temporary directory, as tests do).

Run: .venv/bin/python bench/store.py [--incidents 10000] [--events-per 20] [--writers 16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlsre.incident.model import Event, EventKind, Severity, apply
from mlsre.incident.store import open_event_store, state_to_json
from mlsre.incident.store_base import EventStore
from mlsre.incident.store_copy import copy_store
from mlsre.jsonutil import dumps
from mlsre.timeutil import utcnow


def seed(store: EventStore, incidents: int, per: int) -> None:
    """Fill through the backend's own bulk insert (what `store copy` uses), folded states."""
    now = utcnow()
    sevs = list(Severity)
    batch_inc: list[tuple[object, ...]] = []
    batch_ev: list[tuple[object, ...]] = []
    for i in range(1, incidents + 1):
        opened = Event(
            i,
            1,
            now,
            "seed",
            EventKind.OPENED,
            {"title": f"incident {i}", "severity": sevs[i % 5].value, "model": f"m{i % 7}"},
        )
        evs = [opened] + [
            Event(i, s, now, "seed", EventKind.NOTE, {"text": f"note {s} of {i}"})
            for s in range(2, per + 1)
        ]
        if i % 10:  # 90% resolved, so the default (open only) view lists ~1,000, as in startup.py
            evs[-1] = Event(i, per, now, "seed", EventKind.RESOLVED, {"resolution": "r"})
        state = None
        for ev in evs:
            state = apply(state, ev)
            batch_ev.append((i, ev.seq, ev.at, ev.actor, ev.kind.value, dumps(ev.data)))
        assert state is not None
        batch_inc.append(
            (
                i,
                state.title,
                state.severity.value,
                state.status.value,
                state.model,
                state.service,
                state.opened_at,
                now,
                state.last_seq,
                state_to_json(state),
            )
        )
        if len(batch_inc) == 500 or i == incidents:
            store.insert_rows({"incidents": batch_inc, "events": batch_ev})
            batch_inc, batch_ev = [], []


def cold(argv: list[str], env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


WRITER = """
import sys, time
from mlsre.incident.model import EventKind
from mlsre.incident.service import record
from mlsre.incident.store import open_store
store = open_store(sys.argv[1])
start = float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
for i in range(int(sys.argv[2])):
    record(store, 1, EventKind.NOTE, "w", {"text": str(i)})
print(time.time())
"""


def writers(url: str, env: dict[str, str], n_proc: int, each: int) -> float:
    store = open_event_store(url)
    from mlsre.incident.service import open_incident

    inc = open_incident(store, title="writers", severity=Severity.SEV3, actor="b")
    assert inc.id == 1, "writers need an empty store"
    start = time.time() + 3.0 + 0.3 * n_proc  # every process imported and connected by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(each), str(start)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(n_proc)
    ]
    ends = [float(p.communicate()[0]) for p in procs]
    events = store.events(1)
    assert [e.seq for e in events] == list(range(1, n_proc * each + 2))
    return n_proc * each / (max(ends) - start)


def follow_latency(url: str, env: dict[str, str], notes: int) -> list[float]:
    from mlsre.incident.service import record
    from tests.support.fixtures_postgres import Lines

    store = open_event_store(url)
    proc = subprocess.Popen(
        [*FOLLOW, url, "incident", "follow", "1", "--json", "--last", "0"],
        env=env,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    lines = Lines(proc.stdout)
    try:
        while True:  # until the follower is up: it prints a note written after it started
            record(store, 1, EventKind.NOTE, "f", {"text": "ready?"})
            if lines.next(2.0) is not None:
                break
        while lines.next(0.5) is not None:
            pass
        out = []
        for i in range(notes):
            record(store, 1, EventKind.NOTE, "f", {"text": f"f{i}"})
            committed = time.perf_counter()
            line = lines.next(10.0)
            out.append(time.perf_counter() - committed)
            assert line is not None and f'"f{i}"' in line, line
            time.sleep(0.05)
        return out
    finally:
        proc.terminate()
        proc.wait()


FOLLOW = [sys.executable, "-m", "mlsre", "--store"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--incidents", type=int, default=10_000)
    ap.add_argument("--events-per", type=int, default=20)
    ap.add_argument("--writers", type=int, default=16)
    ap.add_argument("--notes-each", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    from tests.support.fixtures_postgres import PASSWORD, pg_bindir, start_postgres

    bindir = pg_bindir()
    if bindir is None:
        sys.exit("PostgreSQL server binaries not found: scripts/install-test-servers")
    server = start_postgres(bindir)
    tmp = Path(tempfile.mkdtemp(prefix="mlsre-bench-store-"))
    os.environ["PGPASSWORD"] = PASSWORD
    env = {**os.environ, "HOME": str(tmp), "MLSRE_USER": "bench"}
    try:
        server.sql("CREATE DATABASE big")
        pg, lite = server.url("big"), f"sqlite:///{tmp / 'big.db'}"
        t = time.perf_counter()
        seed(open_event_store(lite), args.incidents, args.events_per)
        print(
            f"seed SQLite: {args.incidents} incidents x {args.events_per} events"
            f" in {time.perf_counter() - t:.1f} s"
        )

        t = time.perf_counter()
        first = copy_store(open_event_store(lite), open_event_store(pg))
        t_first = time.perf_counter() - t
        t = time.perf_counter()
        again = copy_store(open_event_store(lite), open_event_store(pg))
        t_again = time.perf_counter() - t
        print(
            f"store copy SQLite -> PostgreSQL: {first.copied} in {t_first:.1f} s;"
            f" verified={first.verified} ({first.target_counts})"
        )
        print(f"  second run: copied {again.copied} in {t_again:.1f} s; verified={again.verified}")
        assert first.verified and again.verified and not any(again.copied.values())

        typer_s = cold([sys.executable, "-c", "import typer"], env, args.repeat)
        cli = [sys.executable, "-m", "mlsre", "--store"]
        lite_s = cold([*cli, lite, "incident", "list"], env, args.repeat)
        pg_s = cold([*cli, pg, "incident", "list"], env, args.repeat)
        print(
            f"cold start (median of {args.repeat}): import typer {typer_s * 1000:.0f} ms;"
            f" incident list SQLite {lite_s * 1000:.0f} ms ({lite_s / typer_s:.2f}x typer);"
            f" PostgreSQL {pg_s * 1000:.0f} ms ({pg_s / typer_s:.2f}x typer,"
            f" {pg_s / lite_s:.2f}x SQLite)"
        )

        server.sql("CREATE DATABASE writers")
        rates = {}
        for name, url in (
            ("SQLite", f"sqlite:///{tmp / 'w.db'}"),
            ("PostgreSQL", server.url("writers")),
        ):
            rates[name] = writers(url, env, args.writers, args.notes_each)
        print(
            f"{args.writers} writers x {args.notes_each} notes on one incident:"
            f" SQLite {rates['SQLite']:.0f} notes/s, PostgreSQL {rates['PostgreSQL']:.0f}"
            f" notes/s ({rates['PostgreSQL'] / rates['SQLite']:.2f}x SQLite)"
        )

        for name, url in (
            ("SQLite", f"sqlite:///{tmp / 'w.db'}"),
            ("PostgreSQL", server.url("writers")),
        ):
            lat = sorted(follow_latency(url, env, 20))
            print(
                f"follow latency {name}: median {statistics.median(lat) * 1000:.0f} ms,"
                f" max {lat[-1] * 1000:.0f} ms over {len(lat)} notes"
            )
    finally:
        server.stop()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
