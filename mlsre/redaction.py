"""The one home of redaction: every secret, in every form it can take, out of everything we emit.

Secrets come only from the environment (:data:`SECRET_ENV`). A secret leaks in more shapes
than its literal text: the ``Authorization: Basic`` header carries ``base64(user:password)``,
a URL carries ``user:password@`` (percent-encoded), JSON escapes quotes and backslashes. Every
output channel passes through :func:`redact`: the terminal and ``--json`` (the CLI wraps
stdout and stderr in :class:`RedactingStream`), incident events and evidence (the store), and
postmortem files and commit messages. Besides the known secrets, two shapes are hidden whatever
their value: credentials embedded in a URL and the value of an ``Authorization`` scheme.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

# Secrets never live in the file: each comes from one environment variable.
SECRET_ENV = (
    "MLSRE_PROMETHEUS_TOKEN",
    "MLSRE_PROMETHEUS_USERNAME",
    "MLSRE_PROMETHEUS_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLSRE_PAGERDUTY_ROUTING_KEY",
    "MLSRE_SLACK_WEBHOOK_URL",
    "PGPASSWORD",  # the PostgreSQL store's password (libpq's variable)
)
# Variables mlsre.yaml names as secrets (a channel's routing_key_env, ...): added when read.
_NAMED: list[str] = []


def register_secret_env(*names: str) -> None:
    """Treat these environment variables as secrets too (names come from the config)."""
    for name in names:
        if name and name not in SECRET_ENV and name not in _NAMED:
            _NAMED.append(name)


def _secret_names() -> tuple[str, ...]:
    return (*SECRET_ENV, *_NAMED)


# (username, password) pairs that travel together as HTTP basic auth.
BASIC_PAIRS = (
    ("MLSRE_PROMETHEUS_USERNAME", "MLSRE_PROMETHEUS_PASSWORD"),
    ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"),
)
# A username alone is not secret; every other variable is, whatever its length.
_NOT_SECRET_ALONE = frozenset(user for user, _ in BASIC_PAIRS)
REDACTED = "***"
MIN_SECRET_CHARS = 4  # shorter values would blank out ordinary words; their derived forms do not

# user:password@ in any scheme://; the user is kept, the password is not.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/@\s:'\"]*):([^/@\s'\"]+)@")
# The credential after an auth scheme, wherever a header was echoed (text, JSON, logs).
_AUTH_VALUE = re.compile(r"\b(Bearer|BEARER|Basic|BASIC|basic)(\s+|%20)([A-Za-z0-9+/=._~\-]{8,})")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def _forms(value: str) -> set[str]:
    """A secret as it appears raw, percent-encoded, JSON-escaped and base64-encoded."""
    out = {value, quote(value, safe=""), quote(value), quote_plus(value), _b64(value)}
    out.add(json.dumps(value, ensure_ascii=False)[1:-1])
    out.add(json.dumps(value)[1:-1])
    return out


_cache: tuple[tuple[str, ...], tuple[str, ...]] | None = None


def secret_forms() -> tuple[str, ...]:
    """Every form of every secret set now, longest first (so a longer form wins)."""
    global _cache
    names = _secret_names()
    env = tuple(os.environ.get(name, "") for name in names)
    if _cache is not None and _cache[0] == env:
        return _cache[1]
    values = dict(zip(names, env, strict=True))
    forms: set[str] = set()
    for name, value in values.items():
        if value and name not in _NOT_SECRET_ALONE and len(value) >= MIN_SECRET_CHARS:
            forms |= _forms(value)
    for user_env, password_env in BASIC_PAIRS:
        user, password = values[user_env], values[password_env]
        if user or password:
            forms.add(_b64(f"{user}:{password}"))
            forms.add(f"{quote(user, safe='')}:{quote(password, safe='')}@")
            forms |= _forms(f"{user}:{password}")
    ordered = tuple(sorted((f for f in forms if len(f) >= MIN_SECRET_CHARS), key=len, reverse=True))
    _cache = (env, ordered)
    return ordered


def secret_values() -> list[str]:
    """The raw secrets set in the environment (for callers that must know whether any are)."""
    return [
        v
        for name in _secret_names()
        if (v := os.environ.get(name)) and name not in _NOT_SECRET_ALONE
    ]


def redact(text: str, secrets: list[str] | tuple[str, ...] | None = None) -> str:
    """``text`` with every known secret form, URL credential and auth header value hidden."""
    if not text:
        return text
    for value in secret_forms() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    if "://" in text:
        text = _URL_USERINFO.sub(lambda m: f"{m[1]}{m[2]}:{REDACTED}@", text)
    if any(word in text for word in ("earer", "asic", "EARER", "ASIC")):
        text = _AUTH_VALUE.sub(_auth_value, text)
    return text


def _auth_value(m: re.Match[str]) -> str:
    """Hide a bearer token; hide a basic credential only when it decodes to ``user:password``
    (so prose such as "Basic authentication" stays as written)."""
    if m[1].lower() == "basic":
        try:
            decoded = base64.b64decode(m[3], validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return m[0]
        if ":" not in decoded:
            return m[0]
    return f"{m[1]}{m[2]}{REDACTED}"


def redact_data(obj: Any, secrets: list[str] | tuple[str, ...] | None = None) -> Any:
    """Every string value inside ``obj`` redacted (keys are our schema, kept as they are)."""
    if isinstance(obj, str):
        return redact(obj, secrets)
    if isinstance(obj, dict):
        return {k: redact_data(v, secrets) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_data(v, secrets) for v in obj]
    return obj


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what passes through, a line at a time, and shows control
    characters from data as visible symbols (:mod:`mlsre.textsafe`).

    Whole lines are redacted before they reach the real stream, so a secret split across two
    ``write`` calls is still caught; a partial line waits for its newline or a ``flush`` (a
    prompt flushes, so it is shown at once).
    """

    def __init__(self, inner: TextIO) -> None:
        from mlsre import textsafe

        super().__init__()
        self.inner = inner
        self._pending = ""
        try:
            tty = bool(inner.isatty()) or bool(os.environ.get("MLSRE_FORCE_TERMINAL"))
        except (AttributeError, ValueError):
            tty = False
        self._visible = textsafe.visible_on_terminal if tty else textsafe.visible

    def _emit(self, text: str) -> None:
        self.inner.write(self._visible(redact(text)))

    def write(self, s: str) -> int:
        self._pending += s
        cut = self._pending.rfind("\n")
        if cut >= 0:
            done, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
            self._emit(done)
        return len(s)

    def flush(self) -> None:
        if self._pending:
            text, self._pending = self._pending, ""
            self._emit(text)
        self.inner.flush()

    def isatty(self) -> bool:
        return bool(self.inner.isatty())

    def fileno(self) -> int:
        return self.inner.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.inner, "encoding", "utf-8") or "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class redacted_streams:
    """Within the block, ``sys.stdout`` and ``sys.stderr`` redact everything written to them."""

    def __enter__(self) -> None:
        import sys

        self._saved = (sys.stdout, sys.stderr)
        if not isinstance(sys.stdout, RedactingStream):
            sys.stdout = RedactingStream(sys.stdout)
        if not isinstance(sys.stderr, RedactingStream):
            sys.stderr = RedactingStream(sys.stderr)

    def __exit__(self, *exc: object) -> None:
        import sys

        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, RedactingStream):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
        sys.stdout, sys.stderr = self._saved
