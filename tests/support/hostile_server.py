"""A hostile HTTP server on 127.0.0.1 for the hardening probe (issue 13).

Like ``faulty_server``, the first path segment picks the behaviour; the rest of the path is the
API path the client asked for (``{url}/drip/api/v1/query``). Hostile, not merely broken: it
echoes credentials into error messages, trickles bytes, sends endless bodies and pages, loops
redirects, and answers in JSON that is not what the client asked for.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ESC_TITLE = "\x1b]0;pwned\x07"  # sets the terminal window title
ESC_CLEAR = "\x1b[2J"  # clears the screen


class HostileServer:
    def __init__(self, drip_s: float = 0.2, huge_bytes: int = 200 * 1024 * 1024) -> None:
        self.drip_s = drip_s
        self.huge_bytes = huge_bytes
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def count(self, mode: str) -> int:
        with self._lock:
            self.hits[mode] = self.hits.get(mode, 0) + 1
            return self.hits[mode]

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _prom_vector(metric: dict[str, str], value: str = "1") -> dict[str, Any]:
    result = [{"metric": metric, "value": [1764000000, value]}]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def _make_handler(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: bytes | str | dict[str, Any], ctype: str = "") -> None:
            if isinstance(body, dict):
                body, ctype = json.dumps(body).encode(), ctype or "application/json"
            elif isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype or "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            mode, _, rest = self.path.lstrip("/").partition("/")
            api = "/" + rest.split("?", 1)[0]
            server.count(mode)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            auth = self.headers.get("Authorization", "")
            mlflow = "/mlflow/" in api
            try:
                if mode == "echo":  # credentials echoed everywhere a client might print them
                    if api == "/version":
                        self._send(200, f"3.17.2 {auth}", "text/plain")
                    elif mlflow and api.endswith("registered-models/get"):
                        self._send(200, {"registered_model": {"name": "m", "description": auth}})
                    elif mlflow and api.endswith("registered-models/search"):
                        self._send(200, {"registered_models": [{"name": f"m {auth}"}]})
                    elif mlflow:
                        v = {"name": "m", "version": "1", "description": f"seen {auth}"}
                        self._send(200, {"model_versions": [v]})
                    else:
                        self._send(200, _prom_vector({"model": "m", "seen": auth}))
                elif mode == "echo-error":
                    if mlflow:
                        self._send(
                            400,
                            {
                                "error_code": "INVALID_PARAMETER_VALUE",
                                "message": f"bad credentials {auth}",
                            },
                        )
                    else:
                        self._send(
                            400,
                            {"status": "error", "errorType": "bad_data", "error": f"no {auth}"},
                        )
                elif mode == "drip":  # a body that arrives one byte at a time, forever
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    for _ in range(100000):
                        if server.stopping.wait(server.drip_s):
                            return
                        self.wfile.write(b" ")
                        self.wfile.flush()
                elif mode in ("huge", "huge-chunked"):  # a body far bigger than any answer
                    chunk = b" " * 65536
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    if mode == "huge":
                        self.send_header("Content-Length", str(server.huge_bytes))
                    else:
                        self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    sent = 0
                    while sent < server.huge_bytes and not server.stopping.is_set():
                        if mode == "huge":
                            self.wfile.write(chunk)
                        else:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        sent += len(chunk)
                    if mode == "huge-chunked":
                        self.wfile.write(b"0\r\n\r\n")
                elif mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif mode == "pages":  # the same next_page_token forever
                    if api == "/version":
                        self._send(200, "3.17.2", "text/plain")
                    elif api.endswith("registered-models/get"):
                        self._send(200, {"registered_model": {"name": "m"}})
                    else:
                        v = {"name": "m", "version": "1"}
                        self._send(200, {"model_versions": [v], "next_page_token": "again"})
                elif mode in ("rollback-hang", "rollback-mismatch"):  # the alias never moves
                    if self.command == "POST":
                        if mode == "rollback-hang":
                            server.stopping.wait(30)
                        self._send(200, {})
                    elif api.endswith("registered-models/get"):
                        aliases = [{"alias": "champion", "version": "4"}]
                        aliases.append({"alias": "previous", "version": "3"})
                        self._send(200, {"registered_model": {"name": "m", "aliases": aliases}})
                    elif api.endswith("registered-models/alias"):
                        v = {"name": "m", "version": "4", "status": "READY"}
                        self._send(200, {"model_version": v})
                    else:
                        v = {"name": "m", "version": "3", "status": "READY"}
                        self._send(200, {"model_version": v})
                elif mode == "notmlflow":  # some other JSON API: answers 200 to everything
                    if api == "/version":
                        self._send(200, {"ok": True, "service": "something else"})
                    else:
                        self._send(200, {"ok": True, "items": []})
                elif mode == "text500":  # JSON content type, plain text body
                    self._send(500, "upstream exploded", "application/json")
                elif mode == "forbidden-json":
                    self._send(403, {"message": "Forbidden"})
                elif mode == "wrongshape":
                    if mlflow:
                        self._send(200, {"registered_model": {"name": "m", "aliases": [1, 2]}})
                    else:
                        body = {
                            "status": "success",
                            "data": {"resultType": "vector", "result": [1]},
                        }
                        self._send(200, body)
                elif mode == "escapes":  # terminal escape sequences in every string
                    if api == "/version":
                        self._send(200, "3.17.2", "text/plain")
                    elif mlflow and api.endswith("registered-models/get"):
                        self._send(200, {"registered_model": {"name": "m"}})
                    elif mlflow:
                        v = {"name": "m", "version": "1", "description": ESC_TITLE + ESC_CLEAR}
                        self._send(200, {"model_versions": [v]})
                    else:
                        self._send(200, _prom_vector({"version": ESC_TITLE + "4" + ESC_CLEAR}))
                else:
                    self._send(404, "unknown hostile mode", "text/plain")
            except (BrokenPipeError, ConnectionResetError):
                return

        do_GET = _handle
        do_POST = _handle
        do_DELETE = _handle

    return Handler


def wait_until(predicate: Any, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False
