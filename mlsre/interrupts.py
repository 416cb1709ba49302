"""Ctrl-C at 03:00: the first stops any command within about a second, a second exits at once.

The CLI installs :func:`install` in the main thread. The first SIGINT raises
``KeyboardInterrupt`` there (HTTP waits, step waits and prompts all give way to it); the root
command then calls :func:`record`, which tells every incident a run is working on that it was
interrupted, and exits 130 without waiting for worker threads that may still be stuck on a
server (:func:`exit_now`). A second SIGINT while that happens ends the process on the spot.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

EXIT_CODE = 130
_recorders: list[Callable[[], None]] = []
_lock = threading.Lock()
_pressed = threading.Event()


def install() -> None:
    """Take over SIGINT (main thread only; elsewhere Python's default stays)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: Any) -> None:
        if _pressed.is_set():  # the second Ctrl-C: no cleanup, no waiting
            os.write(2, b"\ninterrupted again: exiting now\n")
            os._exit(EXIT_CODE)
        _pressed.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)


@contextmanager
def recording(record: Callable[[], None]) -> Iterator[None]:
    """While the block runs, an interrupt calls ``record`` (e.g. append an event)."""
    with _lock:
        _recorders.append(record)
    try:
        yield
    except KeyboardInterrupt:
        with _lock:
            if record in _recorders:
                _recorders.remove(record)
        _call(record)
        raise
    finally:
        with _lock:
            if record in _recorders:
                _recorders.remove(record)


def record() -> int:
    """Run every registered recorder once (best effort: the store may be what hung)."""
    with _lock:
        pending = list(_recorders)
        _recorders.clear()
    return sum(_call(fn) for fn in pending)


def _call(fn: Callable[[], None]) -> bool:
    try:
        fn()
    except Exception:
        return False
    return True


def stuck_threads() -> list[threading.Thread]:
    """Threads that would keep the interpreter from exiting (abandoned step workers)."""
    return [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.daemon and t.is_alive()
    ]


def exit_now(code: int) -> None:
    """Flush what we printed and exit without joining threads stuck on a server."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
