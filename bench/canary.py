"""Canary judge speed: 20 metrics over a 2-hour window at a 15 s step (481 points a side).

A real Prometheus (backfilled with promtool) holds 20 noisy gauges for a baseline and a canary
version. We time the whole judgement and split it into waiting on Prometheus (40 range queries,
8 at a time) and computing (Mann-Whitney, Hodges-Lehmann interval, classification, score).
Baseline measured in the same run: the same 40 range queries sent one after another with our
Prometheus client and nothing else. Aim: statistics well under 10% of the total.

Run: .venv/bin/python bench/canary.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlsre.canary.config import parse_config
from mlsre.canary.judge import Request, judge
from mlsre.integrations.prometheus import PrometheusClient
from mlsre.settings import Settings
from tests.support.fixtures_servers import backfilled_prometheus

METRICS = 20
END = 1795867200
WINDOW_S = 2 * 3600
STEP = 15
RUNS = 7


def scenario() -> str:
    rng = np.random.default_rng(7)
    times = np.arange(END - WINDOW_S - 600, END + 1, STEP)
    out = []
    for i in range(METRICS):
        out.append(f"# TYPE bench_metric_{i} gauge")
        for version, shift in (("4", 0.0), ("5", 0.02 * (i % 3))):
            values = rng.normal(1.0 + shift, 0.1, times.size)
            lab = f'{{model="m",version="{version}"}}'
            out.extend(
                f"bench_metric_{i}{lab} {v:.6f} {t}" for t, v in zip(times, values, strict=True)
            )
    out.append("# EOF")
    return "\n".join(out) + "\n"


def config_text() -> str:
    lines = ["apiVersion: mlsre/v1", "kind: CanaryConfig", "metrics:"]
    for i in range(METRICS):
        lines += [
            f"  - name: metric-{i}",
            f'    query: bench_metric_{i}{{model="{{{{ model }}}}", version="{{{{ version }}}}"}}',
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    config = parse_config(config_text(), "bench.yaml")
    start = datetime.fromtimestamp(END - WINDOW_S, UTC)
    end = datetime.fromtimestamp(END, UTC)
    with tempfile.TemporaryDirectory() as tmp, backfilled_prometheus(Path(tmp), scenario()) as url:
        settings = Settings.model_validate({"prometheus": {"url": url}})
        client = PrometheusClient(settings.prometheus)
        request = Request("m", "5", "4", start, end, float(STEP))
        judge(config, request, client)  # warm up: imports, first connections
        totals, waits, stats_s, raw = [], [], [], []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            for metric in config.metrics:
                for version in ("5", "4"):
                    q = metric.query.replace("{{ model }}", "m").replace("{{ version }}", version)
                    client.query_range(q, start, end, float(STEP))
            raw.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            j = judge(config, request, client)
            totals.append(time.perf_counter() - t0)
            waits.append(j.timings["prometheus_s"])
            stats_s.append(j.timings["statistics_s"])
        points = j.metrics[0].comparison.canary.points
        total, wait, comp = (statistics.median(x) for x in (totals, waits, stats_s))
        share = statistics.median(c / (w + c) for w, c in zip(waits, stats_s, strict=True))
        base = statistics.median(raw)
        print(
            f"{METRICS} metrics, {WINDOW_S // 3600} h window, step {STEP} s: {points} points a side"
        )
        print(f"judge total      {total * 1000:8.1f} ms  (median of {RUNS})")
        print(f"  Prometheus     {wait * 1000:8.1f} ms  (median of the waits)")
        print(f"  statistics     {comp * 1000:8.1f} ms  (median; {share:.1%} of each run, median)")
        print(f"  per metric     {comp / METRICS * 1000:8.2f} ms of statistics")
        print(
            f"baseline: the same {2 * METRICS} range queries one by one, nothing else: "
            f"{base * 1000:.1f} ms; judge / baseline = {total / base:.2f}x"
        )
        print(f"verdict {j.verdict.value}, score {j.score}")


if __name__ == "__main__":
    main()
