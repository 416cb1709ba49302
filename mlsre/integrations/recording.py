"""Record HTTP exchanges as evidence, and replay a run from them with no server.

An exchange is plain JSON::

    {"request": {"method": "GET", "path": "/api/v1/query", "params": [["query", "up"], ...],
                 "json": null, "url": "http://127.0.0.1:9090/api/v1/query"},
     "response": {"status": 200, "content_type": "application/json", "body": "...",
                  "attempts": 1},
     "error": null}

Request headers are never recorded (they carry tokens) and every known secret is redacted from
what is. Replay matches method + path + sorted params; several recordings of the
same request are played back in order (a read before and after a rollback differ), the last one
repeating.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from mlsre.errors import ValidationError
from mlsre.integrations.http import FailureKind, HttpFailure, Request, Response, Transport
from mlsre.redaction import redact

MAX_RECORDED_BODY = 1_000_000


def replay_key(method: str, path: str, params: Any) -> str:
    """Method, path and sorted params. JSON bodies are left out on purpose: they may hold a
    timestamp (the rollback record) and repeated requests replay in recorded order anyway."""
    pairs = sorted((str(k), str(v)) for k, v in (params or []))
    return f"{method.upper()} {path} {json.dumps(pairs)}"


def exchange_to_json(
    request: Request, response: Response | None, error: HttpFailure | None
) -> dict[str, Any]:
    req = {
        "method": request.method,
        "url": redact(request.display_url()),
        "path": request.path,
        "params": [[k, redact(v)] for k, v in request.params],
        "json": json.loads(redact(json.dumps(request.json_body)))
        if request.json_body is not None
        else None,
        "service": request.service,
    }
    out: dict[str, Any] = {"request": req, "response": None, "error": None}
    if response is not None:
        body = redact(response.text())
        truncated = len(body) > MAX_RECORDED_BODY
        out["response"] = {
            "status": response.status,
            "content_type": response.content_type,
            "body": body[:MAX_RECORDED_BODY],
            "truncated": truncated,
            "attempts": response.attempts,
            "elapsed_s": round(response.elapsed_s, 4),
        }
    if error is not None:
        out["error"] = {
            "kind": str(error.kind),
            "message": redact(error.message),
            "hint": redact(error.hint) if error.hint else None,
            "attempts": error.attempts,
            "status": error.status,
        }
    return out


class RecordingTransport:
    """Wraps another transport and keeps every exchange (thread-safe)."""

    def __init__(self, inner: Transport | None = None) -> None:
        from mlsre.integrations.http_live import LiveTransport

        self.inner: Transport = inner or LiveTransport()
        self._lock = threading.Lock()
        self.exchanges: list[dict[str, Any]] = []

    def send(self, request: Request) -> Response:
        try:
            response = self.inner.send(request)
        except HttpFailure as exc:
            self._keep(exchange_to_json(request, None, exc))
            raise
        self._keep(exchange_to_json(request, response, None))
        return response

    def _keep(self, exchange: dict[str, Any]) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def take(self) -> list[dict[str, Any]]:
        """The exchanges recorded since the last call (for per-step evidence)."""
        with self._lock:
            out, self.exchanges = self.exchanges, []
        return out


class ReplayTransport:
    """Answers from recorded exchanges; a request that was never recorded is an error."""

    def __init__(self, exchanges: list[dict[str, Any]]) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self._last: dict[str, dict[str, Any]] = {}
        for ex in exchanges:
            req = ex["request"]
            key = replay_key(req["method"], req["path"], req.get("params"))
            self._queues[key].append(ex)
        self.served = 0

    @classmethod
    def from_file(cls, path: Path) -> ReplayTransport:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValidationError(f"cannot read replay file {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise ValidationError(f"{path}: not JSON ({exc})") from None
        exchanges = find_exchanges(data)
        if not exchanges:
            raise ValidationError(
                f"{path}: no recorded HTTP exchanges found",
                hint="use an incident export or a file of {request, response} records",
            )
        return cls(exchanges)

    def send(self, request: Request) -> Response:
        key = replay_key(request.method, request.path, request.params)
        with self._lock:
            queue = self._queues.get(key)
            if queue:
                ex = queue.popleft()
                self._last[key] = ex
            else:
                ex = self._last.get(key)  # type: ignore[assignment]
            self.served += 1
        if ex is None:
            shown = "&".join(f"{k}={v}" for k, v in request.params)
            raise HttpFailure(
                f"replay: no recorded response for {request.method} {request.path}"
                + (f"?{shown}" if shown else ""),
                kind=FailureKind.REPLAY,
                hint="the runbook asks something the recorded run did not; record it again "
                "(same --at and inputs)",
            )
        err = ex.get("error")
        if err and not ex.get("response"):
            raise HttpFailure(
                err["message"],
                kind=FailureKind(err.get("kind", "http")),
                attempts=int(err.get("attempts", 1)),
                status=err.get("status"),
                hint=err.get("hint"),
            )
        resp = ex["response"]
        return Response(
            status=int(resp["status"]),
            headers={"Content-Type": resp.get("content_type") or "application/json"},
            body=str(resp.get("body", "")).encode("utf-8"),
            url=request.display_url(),
            attempts=int(resp.get("attempts", 1)),
        )


def find_exchanges(data: Any) -> list[dict[str, Any]]:
    """Every ``{request, response|error}`` record anywhere in ``data`` (an export, a list, ...)."""
    found: list[dict[str, Any]] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            req = item.get("request")
            if (
                isinstance(req, dict)
                and "method" in req
                and "path" in req
                and ("response" in item or "error" in item)
            ):
                found.append(item)
                continue
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return found
