"""Runbook engine speed: concurrency of independent diagnose steps, and per-step overhead.

1. Ten independent diagnose `http` steps against a local server that answers in 300 ms:
   the engine's concurrent run vs the same runbook forced sequential (max_parallel=1), same run.
   Aim: concurrent under 2x the time of one step.
2. Engine overhead per step with no I/O (200 `note` steps, recorded on an in-memory incident).
   Aim: under 2 ms per step.

Run: .venv/bin/python bench/engine.py
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mlsre.incident.model import Severity
from mlsre.incident.service import open_incident
from mlsre.incident.sqlite_store import SqliteStore
from mlsre.runbook.engine import MAX_PARALLEL, Engine, RunOptions, Unattended
from mlsre.runbook.model import Runbook
from mlsre.settings import Settings

DELAY_S = 0.3


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(DELAY_S)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _runbook(steps: list[dict[str, Any]]) -> Runbook:
    return Runbook.model_validate(
        {
            "apiVersion": "mlsre/v1",
            "kind": "Runbook",
            "id": "bench",
            "title": "bench",
            "failure_mode": "latency",
            "steps": steps,
        }
    )


def _time_run(rb: Runbook, max_parallel: int) -> float:
    store = SqliteStore(":memory:")
    inc = open_incident(store, title="bench", severity=Severity.SEV5, actor="bench")
    engine = Engine(store, Settings(), Unattended(yes=True))
    t0 = time.perf_counter()
    report = engine.run(rb, RunOptions(max_parallel=max_parallel), inc)
    elapsed = time.perf_counter() - t0
    assert report.outcome.value == "healthy", [(s.step, s.status, s.summary) for s in report.steps]
    return elapsed


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/health"
    http_steps = [{"id": f"h{i}", "uses": "http", "with": {"url": url}} for i in range(10)]
    rb = _runbook(http_steps)
    _time_run(_runbook(http_steps[:1]), 1)  # warm imports (requests, jinja2) outside the timings
    one = min(_time_run(_runbook(http_steps[:1]), 1) for _ in range(3))
    sequential = _time_run(rb, 1)
    concurrent = min(_time_run(rb, MAX_PARALLEL) for _ in range(3))
    print(f"one step (300 ms server)       {one * 1000:8.0f} ms")
    print(f"10 steps sequential            {sequential * 1000:8.0f} ms")
    print(f"10 steps concurrent (pool {MAX_PARALLEL})  {concurrent * 1000:8.0f} ms")
    print(f"concurrent / one step          {concurrent / one:8.2f} x   (aim < 2)")
    print(f"sequential / concurrent        {sequential / concurrent:8.2f} x")
    notes = _runbook(
        [
            {
                "id": f"n{i}",
                "uses": "note",
                "phase": "verify",
                "with": {"text": "n {{ inputs | length }}"},
            }
            for i in range(200)
        ]
    )
    _time_run(notes, 8)
    per_step = min(_time_run(notes, 8) for _ in range(3)) / 200
    print(
        f"engine overhead per step       {per_step * 1000:8.2f} ms  (200 note steps, recorded; aim < 2)"
    )
    server.shutdown()


if __name__ == "__main__":
    main()
