"""Work spread over forked workers gives exactly the answers of one process, and loses none."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from mlsre import parallel
from mlsre.runbook.validate import validate_paths
from tests.fixtures_runbooks import minimal_runbook

PARENT = os.getpid()


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


def test_workers_follow_the_cores_the_work_and_mlsre_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "cpu_count", lambda: 4)
    assert parallel.workers_for(1000, 50) == 4
    assert parallel.workers_for(120, 50) == 2  # too little work for four
    assert parallel.workers_for(10, 50) == 1
    monkeypatch.setenv("MLSRE_JOBS", "1")
    assert parallel.workers_for(1000, 50) == 1
    monkeypatch.setenv("MLSRE_JOBS", "3")
    assert parallel.workers_for(1000, 50) == 3


def test_no_fork_while_other_threads_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "cpu_count", lambda: 4)
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert parallel.workers_for(1000, 50) == 1  # forking a threaded process can deadlock
    finally:
        stop.set()
        worker.join()


def _library(folder: Path, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        text = minimal_runbook(f"rb-{i:03d}")
        if i % 7 == 0:
            text = text.replace("uses: prometheus.query", "uses: prometheus.qurey")
        if i % 11 == 0:
            text += "bogus_field: 1\n"
        (folder / f"rb-{i:03d}.yaml").write_text(text, encoding="utf-8")


def test_parallel_validation_gives_the_answers_of_one_process(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = isolated / "many"
    _library(folder, 150)
    monkeypatch.setenv("MLSRE_NO_CACHE", "1")
    monkeypatch.setattr(parallel, "cpu_count", lambda: 3)
    calls: list[int] = []
    real = parallel.fork_map

    def counting(func, chunks):  # type: ignore[no-untyped-def]
        calls.append(len(chunks))
        return real(func, chunks)

    monkeypatch.setattr(parallel, "fork_map", counting)
    spread = validate_paths([folder])
    assert calls == [3]
    monkeypatch.setenv("MLSRE_JOBS", "1")
    alone = validate_paths([folder])
    assert calls == [3, 1]  # the second run did all the work in this process
    assert [f.path for f in spread.files] == [f.path for f in alone.files]
    assert [str(p) for p in spread.problems] == [str(p) for p in alone.problems]
    broken = {f"rb-{i:03d}.yaml" for i in range(150) if i % 7 == 0 or i % 11 == 0}
    assert {Path(p.path).name for p in spread.problems} == broken
    assert [f.runbook for f in spread.files] == [f.runbook for f in alone.files]
    assert sum(f.runbook is not None for f in spread.files) > 100
