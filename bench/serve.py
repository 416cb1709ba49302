"""`mlsre serve` speed: webhook intake and alert-to-first-verdict, on this machine.

1. Intake: 50 concurrent senders post 5,000 Alertmanager notifications (500 groups) to a real
   `mlsre serve`; notifications per second and p50/p99 latency. Diagnoses are queued, never run
   inside the request: measured with no diagnosis workers (pure intake) and with the default 2
   workers diagnosing in the background. Baseline in the same run: GET /healthz with the same
   50 senders (the HTTP stack alone). Also latency at a paced 250 notifications/s.
   Aim: >= 500/s and p99 < 50 ms.
2. Alert-to-first-verdict: a real Alertmanager (group_wait 1s) sends to `mlsre serve`; time
   from Alertmanager's POST (the incident's `opened` event) to the first diagnose step's
   recorded result, on the real backfilled Prometheus scenario. Needs prometheus, promtool and
   prometheus-alertmanager (scripts/install-test-servers).

Run: .venv/bin/python bench/serve.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlsre.incident.store import open_store  # noqa: E402
from tests.support import scenario_fraud as scenario  # noqa: E402
from tests.support.fixtures_serve import ECHO_RUNBOOK, alertmanager, serve_config  # noqa: E402
from tests.support.fixtures_servers import backfilled_prometheus  # noqa: E402
from tests.support.serve_load import LoadResult, bodies, run_all, send  # noqa: E402
from tests.support.serve_support import Client, serve_env, serving  # noqa: E402

TOKEN = "bench-token"


def _workspace(root: Path, workers: int) -> Path:
    ws = root / f"ws-{workers}-{time.monotonic_ns()}"
    (ws / "runbooks").mkdir(parents=True)
    (ws / "marks").mkdir()
    (ws / "runbooks" / "echo-check.yaml").write_text(ECHO_RUNBOOK)
    (ws / "mlsre.yaml").write_text(
        serve_config(ws / "marks", alerts_extra=f"  workers: {workers}\n")
    )
    return ws


def _healthz(port: int, total: int, senders: int) -> LoadResult:
    result = LoadResult()
    lock = threading.Lock()
    left = [total]

    def worker() -> None:
        c = Client(port, TOKEN)
        while True:
            with lock:
                if left[0] <= 0:
                    break
                left[0] -= 1
            t = time.perf_counter()
            c.get("/healthz")
            with lock:
                result.latencies_s.append(time.perf_counter() - t)
        c.close()

    result.elapsed_s = run_all([threading.Thread(target=worker) for _ in range(senders)])
    return result


def _paced(port: int, work: list[tuple[str, bytes]], rate: float, senders: int) -> LoadResult:
    """Open-loop: each sender posts on its own schedule so the total offered rate is ``rate``."""
    result = LoadResult()
    lock = threading.Lock()
    per = [work[i::senders] for i in range(senders)]
    interval = senders / rate

    def worker(items: list[tuple[str, bytes]]) -> None:
        c = Client(port, TOKEN)
        next_at = time.perf_counter()
        for _, body in items:
            now = time.perf_counter()
            if now < next_at:
                time.sleep(next_at - now)
            next_at += interval
            t = time.perf_counter()
            answer = c.post(body)
            with lock:
                result.statuses[answer.status] = result.statuses.get(answer.status, 0) + 1
                result.latencies_s.append(time.perf_counter() - t)
        c.close()

    result.elapsed_s = run_all([threading.Thread(target=worker, args=(p,)) for p in per])
    return result


def _line(name: str, r: LoadResult, base: LoadResult | None = None) -> str:
    ratio = f"  ({r.rate / base.rate:.2f}x /healthz)" if base else ""
    return (
        f"  {name:<38} {r.rate:7.0f}/s  p50 {r.percentile(0.5) * 1000:6.1f} ms"
        f"  p99 {r.percentile(0.99) * 1000:6.1f} ms{ratio}"
    )


def intake(root: Path, total: int, groups: int) -> None:
    print(f"1. intake: 50 senders, {total} notifications, {groups} groups")
    for workers in (0, 2):
        ws = _workspace(root, workers)
        os.environ["HOME"] = str(ws)
        with serving(ws, token=TOKEN, env=serve_env(TOKEN, HOME=str(ws))) as srv:
            base = _healthz(srv.port, total, 50)
            r = send(srv.port, TOKEN, bodies(total, groups), 50)
            assert r.statuses == {200: total}, r.statuses
            label = "no diagnosis workers" if workers == 0 else "2 workers diagnosing meanwhile"
            print(_line("GET /healthz (baseline)", base))
            print(_line(f"webhook, {label}", r, base))
            if workers == 0:
                paced = _paced(srv.port, bodies(total // 2, groups, "Other"), 250.0, 50)
                print(_line("webhook at a paced 250/s offered", paced))


def first_verdict(root: Path, runs: int) -> None:
    print(
        f"2. alert-to-first-verdict: real Alertmanager -> mlsre serve -> Prometheus ({runs} alerts)"
    )
    (root / "prom").mkdir()
    with backfilled_prometheus(root / "prom", scenario.openmetrics()) as prom_url:
        ws = root / "ws-am"
        ws.mkdir()
        (ws / "mlsre.yaml").write_text(
            f"""\
prometheus: {{url: '{prom_url}'}}
registry: {{url: 'http://127.0.0.1:9', retries: 0}}
alerts:
  routes:
    - match: {{alertname: ModelLatencyHigh}}
      runbook: latency-regression
      inputs: {{model: "{{{{ labels.model }}}}"}}
      group_by: [alertname, model, run]
      evaluate_at: alert_start
"""
        )
        starts = datetime.fromtimestamp(scenario.T0 + 1800, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with (
            serving(ws, token=TOKEN, env=serve_env(TOKEN, HOME=str(ws))) as srv,
            alertmanager(root / "am", f"{srv.url}/api/v1/alerts/alertmanager", TOKEN) as am,
        ):
            injected = {}
            for i in range(runs):
                labels = {"alertname": "ModelLatencyHigh", "model": scenario.MODEL, "run": str(i)}
                injected[i + 1] = time.time()
                am.inject([{"labels": labels, "startsAt": starts}])
                time.sleep(0.3)
            store = open_store(f"sqlite:///{ws / '.mlsre' / 'mlsre.db'}")
            to_open: list[float] = []
            to_verdict: list[float] = []
            deadline = time.monotonic() + 120
            for iid in range(1, runs + 1):
                while True:
                    try:
                        events = store.events(iid)
                    except Exception:
                        events = []
                    results = [e for e in events if e.kind.value == "step_result"]
                    if results or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                if not results:
                    print(f"  INC-{iid}: no verdict within the deadline")
                    continue
                opened = events[0].at.timestamp()
                run = int(events[1].data["alerts"][0]["labels"]["run"])  # Alertmanager's order
                to_open.append(opened - injected[run + 1])
                to_verdict.append(results[0].at.timestamp() - opened)
            store.close()
    if to_verdict:
        print(
            f"  injection -> Alertmanager's POST    median {statistics.median(to_open):6.2f} s"
            " (group_wait 1s is skipped for alerts that started long ago, as these did)"
        )
        print(
            f"  Alertmanager's POST -> first verdict median {statistics.median(to_verdict) * 1000:6.0f} ms"
            f"  max {max(to_verdict) * 1000:6.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1,000 notifications, 3 alerts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlsre-bench-serve-") as tmp:
        root = Path(tmp)
        total, groups, runs = (1000, 100, 3) if args.quick else (5000, 500, 5)
        intake(root, total, groups)
        first_verdict(root, runs)
    print(json.dumps({"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
