"""Receivers of our own for services with no local server: PagerDuty Events API v2 and Slack
incoming webhooks (and a generic webhook). Each validates the documented payload (field names,
enums, length limits), records what arrived, and can be told to misbehave: answer a status a
number of times, send Retry-After, or hold a request open."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PD_ACTIONS = {"trigger", "acknowledge", "resolve"}
PD_SEVERITIES = {"critical", "error", "warning", "info"}
PD_PAYLOAD_KEYS = {
    "summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details",
}  # fmt: skip
PD_TOP_KEYS = {
    "routing_key", "event_action", "dedup_key", "payload", "links", "images", "client", "client_url",
}  # fmt: skip


def pagerduty_problems(body: Any) -> list[str]:
    """What PagerDuty's Events API v2 would reject in ``body`` (its documented rules)."""
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    out = [f"unknown field {k}" for k in body if k not in PD_TOP_KEYS]
    if not isinstance(body.get("routing_key"), str) or len(body["routing_key"]) != 32:
        out.append("routing_key must be a 32-character string")
    if body.get("event_action") not in PD_ACTIONS:
        out.append(f"event_action must be one of {sorted(PD_ACTIONS)}")
    dedup = body.get("dedup_key")
    if body.get("event_action") in ("acknowledge", "resolve") and not dedup:
        out.append("dedup_key is required to acknowledge or resolve")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        out.append("dedup_key must be a string of at most 255 characters")
    if body.get("event_action") == "trigger":
        p = body.get("payload")
        if not isinstance(p, dict):
            return [*out, "payload is required to trigger"]
        out += [f"unknown payload field {k}" for k in p if k not in PD_PAYLOAD_KEYS]
        s = p.get("summary")
        if not isinstance(s, str) or not s or len(s) > 1024:
            out.append("payload.summary must be 1..1024 characters")
        if not isinstance(p.get("source"), str) or not p["source"]:
            out.append("payload.source is required")
        if p.get("severity") not in PD_SEVERITIES:
            out.append(f"payload.severity must be one of {sorted(PD_SEVERITIES)}")
        if "custom_details" in p and not isinstance(p["custom_details"], dict):
            out.append("payload.custom_details must be an object")
    for link in body.get("links") or []:
        if not isinstance(link, dict) or not isinstance(link.get("href"), str):
            out.append("links[] need href")
    return out


def slack_problems(body: Any) -> list[str]:
    """What Slack would answer ``invalid_payload`` or ``invalid_blocks`` to."""
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    out = []
    if not isinstance(body.get("text"), str) or not body["text"]:
        out.append("text (the notification fallback) is required")
    blocks = body.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        return [*out, "blocks must be a list of at most 50"]
    for i, b in enumerate(blocks):
        kind = b.get("type") if isinstance(b, dict) else None
        if kind == "header":
            t = b.get("text") or {}
            if t.get("type") != "plain_text" or not 0 < len(t.get("text", "")) <= 150:
                out.append(f"blocks[{i}]: header text must be plain_text of 1..150 characters")
        elif kind == "section":
            if "text" in b and not 0 < len(b["text"].get("text", "")) <= 3000:
                out.append(f"blocks[{i}]: section text must be 1..3000 characters")
            fields = b.get("fields") or []
            if len(fields) > 10 or any(len(f.get("text", "")) > 2000 for f in fields):
                out.append(f"blocks[{i}]: at most 10 fields of 2000 characters")
            if "text" not in b and not fields:
                out.append(f"blocks[{i}]: a section needs text or fields")
        elif kind == "context":
            if not b.get("elements"):
                out.append(f"blocks[{i}]: context needs elements")
        else:
            out.append(f"blocks[{i}]: unexpected block type {kind!r}")
    return out


@dataclass
class Arrival:
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any
    at: float


@dataclass
class Receiver:
    """One server for all three kinds: /pagerduty, /slack, /hook. ``script`` is a list of
    (status, retry_after) answers given before the normal one, per path."""

    arrivals: list[Arrival] = field(default_factory=list)
    script: dict[str, list[tuple[int, str | None]]] = field(default_factory=dict)
    hold: dict[str, threading.Event] = field(default_factory=dict)  # block until set
    invalid: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def of(self, path: str) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if a.path == path]

    def start(self) -> Receiver:
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with rec.lock:
                    rec.arrivals.append(Arrival(path, dict(self.headers), raw, body, time.time()))
                    scripted = rec.script.get(path) or []
                    answer = scripted.pop(0) if scripted else None
                gate = rec.hold.get(path)
                if gate is not None:
                    gate.wait(30)
                if answer is not None:
                    status, retry_after = answer
                    self.send_response(status)
                    if retry_after:
                        self.send_header("Retry-After", retry_after)
                    self.end_headers()
                    self.wfile.write(b'{"status":"throttled"}' if status == 429 else b"busy")
                    return
                if path == "/pagerduty":
                    problems = pagerduty_problems(body)
                    if problems:
                        rec.invalid.extend(problems)
                        self._json(
                            400,
                            {
                                "status": "invalid event",
                                "message": "Event object is invalid",
                                "errors": problems,
                            },
                        )
                    else:
                        self._json(
                            202,
                            {
                                "status": "success",
                                "message": "Event processed",
                                "dedup_key": body.get("dedup_key"),
                            },
                        )
                elif path == "/slack":
                    problems = slack_problems(body)
                    rec.invalid.extend(problems)
                    self._text(400 if problems else 200, "invalid_payload" if problems else "ok")
                else:
                    self._text(200, "ok")

            def _json(self, status: int, doc: Any) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _text(self, status: int, text: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            for gate in self.hold.values():
                gate.set()
            self.httpd.shutdown()
            self.httpd.server_close()
