"""Work spread over forked workers gives exactly the answers of one process, and loses none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlsre import parallel
from tests.fixtures_runbooks import minimal_runbook

PARENT = os.getpid()
REPO = Path(__file__).resolve().parent.parent


def _square_with_pid(chunk: Sequence[int]) -> list[tuple[int, int]]:
    return [(x * x, os.getpid()) for x in chunk]


def test_fork_map_runs_chunks_in_other_processes_and_keeps_order() -> None:
    chunks = [[1, 2], [3, 4], [5]]
    results = parallel.fork_map(_square_with_pid, chunks)
    assert [[v for v, _ in r] for r in results] == [[1, 4], [9, 16], [25]]
    pids = {pid for r in results for _, pid in r}
    assert results[0][0][1] == PARENT
    assert len(pids) == 3  # the parent did the first chunk, two children the others


def _dies_in_children(chunk: Sequence[int]) -> list[int]:
    if os.getpid() != PARENT and chunk[0] == 3:
        os._exit(9)  # a worker killed half-way (OOM killer, a bug in C code)
    if os.getpid() != PARENT and chunk[0] == 5:
        raise RuntimeError("a worker that fails")
    return [x + 1 for x in chunk]


def test_a_failed_worker_costs_time_not_results() -> None:
    assert parallel.fork_map(_dies_in_children, [[1], [3, 4], [5]]) == [[2], [4, 5], [6]]


def _probe(*args: str, jobs: str = "") -> Any:
    env = {**os.environ, "MLSRE_JOBS": jobs, "MLSRE_NO_CACHE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "tests.parallel_probe", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(run.stdout)


def test_workers_follow_the_cores_the_work_and_mlsre_jobs() -> None:
    cores = parallel.cpu_count()
    assert _probe("workers", "1000", "120", "10") == [min(cores, 20), min(cores, 2), 1]
    assert _probe("workers", "1000", "120", "10", jobs="4") == [4, 2, 1]
    assert _probe("workers", "1000", jobs="1") == [1]


def test_no_fork_while_other_threads_run() -> None:
    # forking a process with other threads can deadlock the child on a lock they held
    assert _probe("workers-with-a-thread", jobs="4") == [1]


def _library(folder: Path, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        text = minimal_runbook(f"rb-{i:03d}")
        if i % 7 == 0:
            text = text.replace("uses: prometheus.query", "uses: prometheus.qurey")
        if i % 11 == 0:
            text += "bogus_field: 1\n"
        (folder / f"rb-{i:03d}.yaml").write_text(text, encoding="utf-8")


def test_parallel_validation_gives_the_answers_of_one_process(isolated: Path) -> None:
    folder = isolated / "many"
    _library(folder, 150)
    spread = _probe("validate", str(folder), jobs="3")
    alone = _probe("validate", str(folder), jobs="1")
    assert (spread["workers"], alone["workers"]) == (3, 1)
    assert spread["paths"] == alone["paths"]
    assert spread["problems"] == alone["problems"]
    assert spread["runbooks"] == alone["runbooks"]
    broken = {f"rb-{i:03d}.yaml" for i in range(150) if i % 7 == 0 or i % 11 == 0}
    assert {Path(p.split(":")[0]).name for p in spread["problems"]} == broken
    assert sum(r is not None for r in spread["runbooks"]) > 100
