"""Notification delivery: 1,000 lifecycle events' notifications flushed through a local receiver
(PagerDuty, Slack and webhook shapes), and what a channel that is down adds to `incident open`.

Figures, not assertions; ratios against a baseline in the same run:
- flush rate: notifications per second through `mlsre notify flush` (one process);
- `incident open` wall time with every channel refusing connections, against the same command
  with the channels up (aim: the difference under 50 ms), and with no notify config at all
  (what configuring notifications costs: settings validation and the HTTP client's imports).

Run: .venv/bin/python bench/notify.py [--incidents 250]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIG = """\
notify:
  channels:
    pd: {{type: pagerduty, routing_key_env: BENCH_PD_KEY, url: "{url}/pagerduty"}}
    chat: {{type: slack, url: "{url}/slack"}}
    hook: {{type: webhook, url: "{url}/hook"}}
escalation:
  policies:
    - name: all
      levels: [{{notify: [pd, chat, hook], wait: 1h}}]
"""


def _wall(cmd: list[str], cwd: Path, env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    from mlsre.incident.model import EventKind
    from mlsre.incident.sqlite_store import SqliteStore
    from mlsre.notify.plan import Level, Snapshot
    from mlsre.timeutil import utcnow
    from tests.support.faulty_server import refused_url
    from tests.support.notify_receivers import Receiver

    rec = Receiver().start()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "HOME": tmp, "MLSRE_USER": "bench", "BENCH_PD_KEY": "K" * 32}
        ws = root / "ws"
        ws.mkdir()
        (ws / "mlsre.yaml").write_text(CONFIG.format(url=rec.url), encoding="utf-8")
        store = SqliteStore(f"sqlite:///{ws / '.mlsre' / 'mlsre.db'}")
        snap = Snapshot(
            "all",
            (Level(("pd", "chat", "hook"), 3600.0),),
            0,
            {"pd": "pagerduty", "chat": "slack", "hook": "webhook"},
        )
        store.db.execute("PRAGMA synchronous = OFF")
        for i in range(args.incidents):  # open, ack, resolve, + severity: 4 events x 3 channels
            state, _ = store.open_incident(
                {"title": f"i{i}", "severity": "SEV2"}, "bench", utcnow(), snap
            )
            store.append(state.id, EventKind.ACKNOWLEDGED, {}, "bench", utcnow())
            store.append(
                state.id, EventKind.SEVERITY_CHANGED, {"severity": "SEV1"}, "bench", utcnow()
            )
            store.append(state.id, EventKind.RESOLVED, {"resolution": "x"}, "bench", utcnow())
        queued = store.pending_outbox()
        store.close()
        (ws / "mlsre.yaml").write_text(
            CONFIG.format(url=rec.url)
            + f"store: {{url: 'sqlite:///{ws / '.mlsre' / 'mlsre.db'}'}}\n",
            encoding="utf-8",
        )
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "mlsre", "notify", "flush"],
            cwd=ws,
            env=env,
            check=True,
            capture_output=True,
        )
        took = time.perf_counter() - t0
        events = args.incidents * 4
        print(
            f"{events} lifecycle events -> {queued} notifications flushed in {took:.2f} s: {queued / took:.0f}/s"
        )
        print(
            f"  (the receiver got {len(rec.arrivals)}; PagerDuty has nothing to send for 0 of them)"
        )

        down = root / "down"
        down.mkdir()
        (down / "mlsre.yaml").write_text(CONFIG.format(url=refused_url()), encoding="utf-8")
        quiet = root / "quiet"
        quiet.mkdir()
        (quiet / "mlsre.yaml").write_text("{}\n", encoding="utf-8")
        up = root / "up"
        up.mkdir()
        (up / "mlsre.yaml").write_text(CONFIG.format(url=rec.url), encoding="utf-8")
        cmd = [sys.executable, "-m", "mlsre", "incident", "open", "p99", "-s", "SEV2"]
        with_down = _wall(cmd, down, env, args.repeat)
        with_up = _wall(cmd, up, env, args.repeat)
        without = _wall(cmd, quiet, env, args.repeat)
        print(
            f"incident open, median of {args.repeat}: channels down {with_down * 1000:.0f} ms, "
            f"channels up {with_up * 1000:.0f} ms (down adds {1000 * (with_down - with_up):+.0f} "
            f"ms, {with_down / with_up:.2f}x); no notify config {without * 1000:.0f} ms"
        )
    rec.stop()


if __name__ == "__main__":
    main()
