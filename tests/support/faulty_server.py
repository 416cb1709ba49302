"""A small misbehaving HTTP server on 127.0.0.1 for fault tests.

The first path segment picks the misbehaviour, so a client pointed at ``{url}/flaky`` sends
``/flaky/api/v1/query``. ``hits[mode]`` counts requests per mode (retry counts are asserted).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROM_OK = {
    "status": "success",
    "data": {"resultType": "vector", "result": [{"metric": {"version": "4"}, "value": [1, "0.5"]}]},
}
MLFLOW_OK = {"registered_model": {"name": "fraud-detector", "aliases": []}}


class _QuietServer(ThreadingHTTPServer):
    """Clients that give up on a hanging or dripping answer are the point of these tests: their
    broken pipes are counted in ``disconnects``, not printed as tracebacks into the test output."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.disconnects = 0
        self.errors: list[BaseException] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            self.disconnects += 1
        elif exc is not None:
            self.errors.append(exc)  # a bug in this server: kept for a test to look at


class FaultyServer:
    def __init__(self, hang_s: float = 5.0, fail_first: int = 2) -> None:
        self.hang_s = hang_s
        self.fail_first = fail_first
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        handler = _make_handler(self)
        self.httpd = _QuietServer(handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def count(self, mode: str) -> int:
        with self._lock:
            self.hits[mode] += 1
            return self.hits[mode]

    def reset(self) -> None:
        with self._lock:
            self.hits.clear()

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _ok_body(path: str) -> dict[str, Any]:
    return MLFLOW_OK if "/mlflow/" in path else PROM_OK


def _make_handler(server: FaultyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def _send(self, status: int, ctype: str, body: bytes, length: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            mode = self.path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
            n = server.count(mode)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            ok = json.dumps(_ok_body(self.path)).encode()
            if mode == "ok":
                self._send(200, "application/json", ok)
            elif mode == "hang":
                server._stop.wait(server.hang_s)
                self._send(200, "application/json", ok)
            elif mode == "flaky":  # 500 the first `fail_first` times, then success
                if n <= server.fail_first:
                    self._send(500, "text/plain", b"internal error, try again")
                else:
                    self._send(200, "application/json", ok)
            elif mode == "unavailable":
                self._send(503, "text/plain", b"Service Unavailable")
            elif mode == "html404":
                page = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
                self._send(404, "text/html; charset=utf-8", page + b"<body>nope</body></html>")
            elif mode == "html200":
                self._send(200, "text/html", b"<html><body>Please log in</body></html>")
            elif mode == "truncated":
                self._send(200, "application/json", ok[: len(ok) // 2])
            elif mode == "forbidden":
                self._send(
                    403,
                    "text/plain; charset=utf-8",
                    b"Invalid Host header - possible DNS rebinding",
                )
            elif mode == "echo":  # a Prometheus-shaped answer carrying the request's headers
                seen = {k.lower(): v for k, v in self.headers.items()}
                metric = {k: seen[k] for k in ("authorization", "x-scope-orgid") if k in seen}
                result = [{"metric": metric, "value": [1, "1"]}]
                body = {"status": "success", "data": {"resultType": "vector", "result": result}}
                self._send(200, "application/json", json.dumps(body).encode())
            elif mode == "cutoff":  # promises more bytes than it sends, then closes
                self._send(200, "application/json", ok[:10], length=len(ok))
                self.close_connection = True
            else:
                self._send(404, "text/plain", b"unknown fault mode")

        do_GET = _handle
        do_POST = _handle
        do_DELETE = _handle

    return Handler


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on (until a server of the tests binds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def refused_url() -> str:
    """A 127.0.0.1 URL where nothing listens: connections are refused."""
    return f"http://127.0.0.1:{free_port()}"
