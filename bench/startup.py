"""Cold-start cost of the commands an on-call engineer types first.

Measures whole-process wall time of `mlsre --help` and `mlsre incident list` (over a store of
10,000 incidents) beside `python -c "import typer"` in the same run, and prints the ratios.
Aim: `incident list` within 2x of the typer baseline.

Run: .venv/bin/python bench/startup.py [--incidents 10000] [--repeat 15]

An editable install adds its import finder to every start (~30 ms here). To measure what
users get, install a wheel beside the tree and put it first on the path:

    .venv/bin/pip wheel --no-deps --no-build-isolation -w /tmp/whl . &&
    .venv/bin/pip install --no-deps --target /tmp/site /tmp/whl/mlsre-*.whl &&
    PYTHONPATH=/tmp/site .venv/bin/python bench/startup.py
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


def _seed(db: Path, n: int) -> None:
    from mlsre.incident.model import EventKind, Severity
    from mlsre.incident.sqlite_store import SqliteStore
    from mlsre.timeutil import utcnow

    store = SqliteStore(f"sqlite:///{db}")
    sevs = list(Severity)
    store.db.execute("PRAGMA synchronous = OFF")  # seeding only; the store itself uses FULL
    for i in range(n):
        state, _ = store.open_incident(
            {
                "title": f"incident {i}",
                "severity": sevs[i % 5].value,
                "model": f"model-{i % 7}",
                "started_at": None,
            },
            "bench",
            utcnow(),
        )
        if i % 10:  # 90% resolved, so the default (open only) view lists ~1,000
            store.append(state.id, EventKind.RESOLVED, {"resolution": "r"}, "bench", utcnow())


def _time(cmd: list[str], cwd: Path, env: dict[str, str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(
            cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--incidents", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / ".mlsre").mkdir()
        db = work / ".mlsre" / "mlsre.db"
        (work / "mlsre.yaml").write_text("store:\n  url: sqlite:///.mlsre/mlsre.db\n")
        t0 = time.perf_counter()
        _seed(db, args.incidents)
        print(f"seeded {args.incidents} incidents in {time.perf_counter() - t0:.1f} s")
        env = {**os.environ, "NO_COLOR": "1"}
        py = sys.executable
        base = _time([py, "-c", "import typer"], work, env, args.repeat)
        help_ = _time([py, "-m", "mlsre", "--help"], work, env, args.repeat)
        lst = _time([py, "-m", "mlsre", "incident", "list"], work, env, args.repeat)
        lst_all = _time([py, "-m", "mlsre", "incident", "list", "--all"], work, env, args.repeat)
        print(f"{'command':34} {'median ms':>10} {'x import typer':>15}")
        for name, t in (
            ('python -c "import typer"', base),
            ("mlsre --help", help_),
            ("mlsre incident list", lst),
            (f"mlsre incident list --all ({args.incidents})", lst_all),
        ):
            print(f"{name:34} {t * 1000:10.0f} {t / base:15.2f}")


if __name__ == "__main__":
    main()
