"""The one HTTP layer under the Prometheus and MLflow clients.

A :class:`Transport` turns a :class:`Request` into a :class:`Response`. :class:`LiveTransport`
talks to the network (``requests``, imported lazily) with a total deadline per attempt (a server
that drips one byte a second still ends at ``timeout_s``), a cap on the body's size, and
bounded, backed-off retries; :mod:`mlsre.integrations.recording` wraps it to keep every exchange as
evidence, or replaces it to replay a run with no server. Failures become one-line
:class:`HttpFailure` errors that say what happened (unreachable, timeout, HTML page, bad JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from mlsre.errors import IntegrationError

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024


class FailureKind(StrEnum):
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS = "tls"
    HTTP = "http"  # an error status the service explained (or did not)
    AUTH = "auth"  # 401/403
    HTML = "html"  # an HTML page where JSON was expected (wrong URL, proxy, login page)
    BAD_JSON = "bad_json"  # truncated or invalid JSON
    REPLAY = "replay"  # no recorded response to replay
    TOO_LARGE = "too_large"  # a body over the configured cap
    REDIRECT = "redirect"  # a redirect loop or too many redirects
    BAD_URL = "bad_url"  # a URL or header the HTTP library refuses before sending


class HttpFailure(IntegrationError):
    """An HTTP exchange that failed, with what kind of failure it was and how often we tried."""

    def __init__(
        self,
        message: str,
        *,
        kind: FailureKind,
        attempts: int = 1,
        status: int | None = None,
        hint: str | None = None,
        code: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.attempts = attempts
        self.status = status
        self.code = code  # the service's own error code, e.g. MLflow's INVALID_PARAMETER_VALUE


@dataclass(frozen=True)
class Request:
    """One logical request; ``service`` names the system in error messages."""

    method: str
    url: str
    params: tuple[tuple[str, str], ...] = ()
    json_body: Any = None
    headers: dict[str, str] = field(default_factory=dict)  # may hold secrets: never recorded
    timeout_s: float = 10.0
    retries: int = 3
    backoff_s: float = 0.5
    verify: bool | str = True  # False, True, or a CA bundle path
    service: str = "server"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def display_url(self) -> str:
        """The URL without user:password@ (for messages and evidence)."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str = ""
    attempts: int = 1
    elapsed_s: float = 0.0

    @property
    def content_type(self) -> str:
        for k, v in self.headers.items():
            if k.lower() == "content-type":
                return v.split(";")[0].strip().lower()
        return ""

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def snippet(self, limit: int = 120) -> str:
        """The body's first line, short: what a person needs to recognise the page."""
        text = " ".join(self.text().split())
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def looks_html(self) -> bool:
        head = self.body.lstrip()[:100].lower()
        return self.content_type == "text/html" or head.startswith((b"<!doctype", b"<html"))


def json_headers(
    extra: dict[str, str], *, token_env: str, user_env: str, password_env: str
) -> dict[str, str]:
    """Headers for a JSON API: bearer token, else basic auth, from the environment only."""
    import base64

    from mlsre.config_file import secret

    headers = {"Accept": "application/json", **extra}
    token = secret(token_env)
    user, password = secret(user_env), secret(password_env)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif user:
        pair = f"{user}:{password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    return headers


class Transport(Protocol):
    def send(self, request: Request) -> Response:
        """The final response (after retries), or raise :class:`HttpFailure`."""


def __getattr__(name: str) -> Any:
    """``LiveTransport`` lives in :mod:`mlsre.integrations.http_live` (imported on first use)."""
    if name == "LiveTransport":
        from mlsre.integrations.http_live import LiveTransport

        return LiveTransport
    raise AttributeError(name)


def decode_json(response: Response, request: Request) -> Any:
    """The body as JSON, or an :class:`HttpFailure` naming what came instead."""
    where = f"{request.service} at {request.display_url()}"
    if response.looks_html():
        raise HttpFailure(
            f"{where} answered an HTML page (HTTP {response.status}) where JSON was expected",
            kind=FailureKind.HTML,
            attempts=response.attempts,
            status=response.status,
            hint="check the URL in mlsre.yaml: it may point at a web UI, a proxy or a login page",
        )
    if not response.body.strip():
        if response.status >= 400:
            raise status_failure(response, request)
        raise HttpFailure(
            f"{where} answered HTTP {response.status} with an empty body where JSON was expected",
            kind=FailureKind.BAD_JSON,
            attempts=response.attempts,
            status=response.status,
        )
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        if response.status >= 400:  # an error status with a text body: the status says more
            raise status_failure(response, request) from None
        truncated = _unfinished(response.body)
        what = "truncated JSON" if truncated else "invalid JSON"
        raise HttpFailure(
            f"{where} answered {what} (HTTP {response.status}, {len(response.body)} bytes: "
            f"{response.snippet(60)!r})",
            kind=FailureKind.BAD_JSON,
            attempts=response.attempts,
            status=response.status,
            hint="the server or a proxy cut the response short; retry, or check the proxy"
            if truncated
            else "check the URL in mlsre.yaml: the server there does not speak this JSON API",
        ) from None


def status_failure(
    response: Response, request: Request, detail: str | None = None, code: str = ""
) -> HttpFailure:
    """An error status with whatever explanation the body gave, as one line."""
    where = f"{request.service} at {request.display_url()}"
    retried = f" (after {response.attempts} attempts)" if response.attempts > 1 else ""
    if detail is None:
        detail = (
            "an HTML error page" if response.looks_html() else (response.snippet() or "no body")
        )
    if response.status in (401, 403):
        word = "unauthorized" if response.status == 401 else "forbidden"
        return HttpFailure(
            f"{where} refused access: HTTP {response.status} {word}: {detail}",
            kind=FailureKind.AUTH,
            attempts=response.attempts,
            status=response.status,
            hint="check the credentials in the environment (token or username/password) "
            "and that the URL's host is the one the server expects",
        )
    return HttpFailure(
        f"{where} answered HTTP {response.status}{retried}: {detail}",
        kind=FailureKind.HTTP,
        attempts=response.attempts,
        status=response.status,
        code=code,
    )


def _unfinished(body: bytes) -> bool:
    """True when the text is JSON cut short: an open string, object or array at the end."""
    text = body.decode("utf-8", errors="replace").lstrip()
    if not text.startswith(("{", "[")):
        return False  # plain text is invalid JSON, not JSON cut short
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return in_string or depth > 0


class unexpected_shape:
    """JSON of the wrong shape (a list where an object was due, a word where a number was) is
    the server's fault, said in one line, never a crash of ours."""

    def __init__(self, service: str, url: str, status: int = 200, attempts: int = 1) -> None:
        self.where = f"{service} at {url}"
        self.status = status
        self.attempts = attempts

    def __enter__(self) -> None:
        return None

    def __exit__(self, et: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if et is not None and issubclass(
            et, (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError)
        ):
            raise HttpFailure(
                f"{self.where} answered JSON of an unexpected shape ({type(exc).__name__}: "
                f"{str(exc)[:80]})",
                kind=FailureKind.BAD_JSON,
                attempts=self.attempts,
                status=self.status,
                hint="check the URL in mlsre.yaml points at the right kind of server",
            ) from None


class ApiClient:
    """What the Prometheus and MLflow clients share: settings, auth, TLS and the JSON exchange.

    ``settings`` is a Prometheus or registry settings section (url, headers, timeout_s,
    retries, backoff_s, verify_tls, ca_bundle). Subclasses name their service and the
    environment variables that hold its credentials.
    """

    service = "server"
    token_env = user_env = password_env = ""

    def __init__(
        self, settings: Any, transport: Transport | None = None, *, backoff_s: float | None = None
    ) -> None:
        self.settings = settings
        self.base = str(settings.url).rstrip("/")
        if transport is None:
            from mlsre.integrations.http_live import LiveTransport

            transport = LiveTransport()
        self.transport: Transport = transport
        self.backoff_s = backoff_s if backoff_s is not None else float(settings.backoff_s)

    def request(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | None = None,
        json_body: Any = None,
        timeout_s: float | None = None,
    ) -> Request:
        verify: bool | str = self.settings.verify_tls
        if verify and self.settings.ca_bundle:
            verify = self.settings.ca_bundle
        return Request(
            method=method,
            url=self.base + path,
            params=tuple(params or ()),
            json_body=json_body,
            headers=json_headers(
                self.settings.headers,
                token_env=self.token_env,
                user_env=self.user_env,
                password_env=self.password_env,
            ),
            timeout_s=timeout_s or self.settings.timeout_s,
            retries=self.settings.retries,
            backoff_s=self.backoff_s,
            verify=verify,
            service=self.service,
            max_body_bytes=int(getattr(self.settings, "max_body_mb", 64) * 1024 * 1024),
        )

    def exchange(self, request: Request) -> tuple[Any, Response]:
        """Send; an error page that is not JSON becomes a one-line failure; else the JSON."""
        response = self.transport.send(request)
        if response.status >= 400 and "json" not in response.content_type:
            if response.looks_html():
                decode_json(response, request)  # raises: an HTML page where JSON was expected
            raise status_failure(response, request)
        return decode_json(response, request), response
