"""Spread CPU-bound work over the machine's cores by forking worker processes (Linux only).

Validating hundreds of runbooks is pure Python, so threads would take turns on one core.
Forked workers inherit everything already imported and built (step kinds, parsed templates),
so one starts in milliseconds where a spawned process would pay every import again.
Whenever forking is unsafe or not worth it (another OS, other threads running, one core,
little work, ``MLSRE_JOBS=1``) the work runs in this process. A worker that fails for any
reason costs time, never a result: its share is redone here.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def workers_for(items: int, min_per_worker: int) -> int:
    """How many processes (this one included) should share ``items`` units of work."""
    if sys.platform != "linux" or threading.active_count() > 1:
        return 1
    wanted = os.environ.get("MLSRE_JOBS", "").strip()
    cores = int(wanted) if wanted.isdigit() and int(wanted) > 0 else cpu_count()
    return max(1, min(cores, items // max(1, min_per_worker)))


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection for a burst of allocation-heavy work (parsing hundreds of
    files builds millions of short-lived objects; each full collection walks them all, about
    7% of validation time). Reference counting still frees everything without cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def fork_map(func: Callable[[Sequence[T]], R], chunks: Sequence[Sequence[T]]) -> list[R]:
    """``[func(chunk) for chunk in chunks]``, the first chunk here and the others in forked
    children. Results travel back pickled, so ``R`` must pickle."""
    children: list[list[int]] = []  # [pid, read end of its pipe (-1 once handed over)]
    try:
        for chunk in chunks[1:]:
            children.append(list(_start(func, chunk)))
        results = [func(chunks[0])]
        for child, chunk in zip(children, chunks[1:], strict=True):
            pid, fd = child
            child[1] = -1
            with os.fdopen(fd, "rb") as pipe:
                payload = pipe.read()
            _, status = os.waitpid(pid, 0)
            child[0] = -1
            ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and payload
            results.append(pickle.loads(payload) if ok else func(chunk))
        return results
    finally:
        for pid, fd in children:  # interrupted: stop and reap the rest
            _stop(pid, fd)


def _start(func: Callable[[Sequence[T]], R], chunk: Sequence[T]) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: do the work, hand it back, and leave without any cleanup
        status = 1
        try:
            os.close(read_fd)
            payload = pickle.dumps(func(chunk), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(payload)
            status = 0
        except BaseException:  # anything at all: the parent redoes this chunk itself
            pass
        finally:
            os._exit(status)
    os.close(write_fd)
    return pid, read_fd


def _stop(pid: int, fd: int) -> None:
    if pid > 0:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
    if fd >= 0:
        os.close(fd)
