"""Many concurrent Alertmanager-like senders (the concurrency test and bench/serve.py)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from tests.support.serve_support import Client, alert, notification


@dataclass
class LoadResult:
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # model label of each 2xx notification
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies_s) / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, q: float) -> float:
        xs = sorted(self.latencies_s)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def bodies(total: int, groups: int, alertname: str = "EchoAlert") -> list[tuple[str, bytes]]:
    """``total`` notifications over ``groups`` groups, interleaved so repeats race each other."""
    import json

    out = []
    for i in range(total):
        model = f"model-{i % groups:04d}"
        out.append((model, json.dumps(notification([alert(alertname, model=model)])).encode()))
    return out


def send(
    port: int,
    token: str | None,
    work: list[tuple[str, bytes]],
    senders: int,
    stop_after_s: float | None = None,
) -> LoadResult:
    result = LoadResult()
    lock = threading.Lock()
    cursor = iter(range(len(work)))
    deadline = None if stop_after_s is None else time.monotonic() + stop_after_s

    def worker() -> None:
        client = Client(port, token, timeout_s=60)
        try:
            while deadline is None or time.monotonic() < deadline:
                with lock:
                    i = next(cursor, None)
                if i is None:
                    return
                model, body = work[i]
                t = time.perf_counter()
                try:
                    answer = client.post(body)
                except OSError as exc:  # server gone (the SIGKILL test): not acknowledged
                    with lock:
                        result.errors.append(f"{type(exc).__name__}: {exc}")
                    client = Client(port, token, timeout_s=60)
                    continue
                took = time.perf_counter() - t
                with lock:
                    result.statuses[answer.status] = result.statuses.get(answer.status, 0) + 1
                    result.latencies_s.append(took)
                    if 200 <= answer.status < 300:
                        result.accepted.append(model)
        finally:
            client.close()

    result.elapsed_s = run_all([threading.Thread(target=worker) for _ in range(senders)])
    return result


def run_all(threads: list[threading.Thread]) -> float:
    """Start every sender at once and wait for all of them: the wall time, in seconds."""
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start
