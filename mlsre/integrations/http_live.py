"""Real HTTP under the Prometheus and MLflow clients: deadlines, body caps, bounded retries.

:class:`LiveTransport` sends a :class:`~mlsre.integrations.http.Request` with ``requests``
(imported lazily). Each attempt has a total deadline (``timeout_s``): a server that trickles its
answer a byte at a time still ends there, and a Ctrl-C interrupts the wait at once. A body over
``max_body_bytes`` is refused before it is held. Connection errors, 408/429/5xx and cut-off
bodies are retried with backoff; everything else becomes one :class:`HttpFailure` line.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from mlsre.integrations.http import FailureKind, HttpFailure, Request, Response

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 10.0
_CHUNK = 64 * 1024

READ_MARGIN_S = 1.0  # see _download


def backoff_delay(request: Request, attempt: int, response: Response | None) -> float:
    """Exponential backoff from ``backoff_s``, honouring Retry-After (0 disables both)."""
    delay: float = request.backoff_s * 2.0 ** (attempt - 1)
    if response is not None and request.backoff_s > 0:
        retry_after = next(
            (v for k, v in response.headers.items() if k.lower() == "retry-after"), None
        )
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, float(retry_after))
    return min(delay, MAX_BACKOFF_S)


class _TooLarge(Exception):
    def __init__(self, size: int, declared: bool) -> None:
        super().__init__(size)
        self.size = size
        self.declared = declared


class _Deadline(Exception):
    pass


class LiveTransport:
    """Real HTTP through ``requests``, one session per calling thread (steps run in parallel).

    Each attempt runs on a daemon thread that the caller waits for until the attempt's total
    deadline: a server that trickles its answer cannot hold us past ``timeout_s``, and a Ctrl-C
    interrupts the wait at once. An attempt given up on has its socket shut down and its
    session dropped, so the abandoned thread ends and never shares a connection.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            session.trust_env = False  # proxies from the environment must not reroute 127.0.0.1
            self._local.session = session
        return session

    def _attempt(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        """One exchange within the total deadline; raises what ``requests`` raised."""
        session = self._session()
        box: dict[str, Any] = {}
        done = threading.Event()
        given_up = threading.Event()

        def work() -> None:
            try:
                box["value"] = _download(session, request, box, given_up)
            except BaseException as exc:  # handed to the waiting caller
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=work, name="http", daemon=True).start()
        if not done.wait(request.timeout_s):
            given_up.set()
            self._local.session = None  # the abandoned thread keeps its session to itself
            _shut(box.get("response"))
            raise _Deadline()
        if "error" in box:
            raise box["error"]
        value: tuple[int, dict[str, str], bytes] = box["value"]
        return value

    def send(self, request: Request) -> Response:
        import requests

        started = time.monotonic()
        attempt = 0
        where = f"{request.service} at {request.display_url()}"
        while True:
            attempt += 1
            try:
                status, headers, body = self._attempt(request)
            except _Deadline:
                # A hung server is not retried: each retry would cost another full deadline.
                raise HttpFailure(
                    f"{where} did not answer within {request.timeout_s:g}s (total deadline)",
                    kind=FailureKind.TIMEOUT,
                    attempts=attempt,
                    hint="the server is overloaded, hung or trickling its answer; raise "
                    "timeout_s if it is just slow",
                ) from None
            except _TooLarge as exc:
                limit = _size(request.max_body_bytes)
                what = f"announced a {_size(exc.size)} body" if exc.declared else "kept sending"
                raise HttpFailure(
                    f"{where} {what}; answers over {limit} are refused (max_body_mb)",
                    kind=FailureKind.TOO_LARGE,
                    attempts=attempt,
                    hint="narrow the request, or raise max_body_mb in mlsre.yaml if the answer "
                    "really is that big",
                ) from None
            except requests.exceptions.SSLError as exc:
                raise HttpFailure(
                    f"TLS error talking to {where}: {_reason(exc)}",
                    kind=FailureKind.TLS,
                    attempts=attempt,
                    hint="check the URL scheme, verify_tls and ca_bundle in mlsre.yaml",
                ) from None
            except requests.exceptions.Timeout as exc:
                what = "connect" if isinstance(exc, requests.exceptions.ConnectTimeout) else "read"
                raise HttpFailure(
                    f"{where} did not answer within {request.timeout_s:g}s ({what} timeout)",
                    kind=FailureKind.TIMEOUT,
                    attempts=attempt,
                    hint="the server is overloaded or hung; raise timeout_s if it is just slow",
                ) from None
            except requests.exceptions.TooManyRedirects:
                raise HttpFailure(
                    f"{where} redirected too many times (a redirect loop)",
                    kind=FailureKind.REDIRECT,
                    attempts=attempt,
                    hint="check the URL in mlsre.yaml: a proxy or login page may be bouncing "
                    "requests; use the server's final address",
                ) from None
            except (
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                # The server answered but the body broke off: transient, so retried like a
                # refused connection, but named for what it is.
                if attempt <= request.retries:
                    time.sleep(backoff_delay(request, attempt, None))
                    continue
                raise HttpFailure(
                    f"{where} cut its response short "
                    f"({_reason(exc)}) after {attempt} attempt{'s' if attempt > 1 else ''}",
                    kind=FailureKind.BAD_JSON,
                    attempts=attempt,
                    hint="the server or a proxy in between dropped the connection mid-answer",
                ) from None
            except requests.exceptions.ConnectionError as exc:
                if attempt <= request.retries:
                    time.sleep(backoff_delay(request, attempt, None))
                    continue
                raise HttpFailure(
                    f"cannot reach {where} ({_reason(exc)}) "
                    f"after {attempt} attempt{'s' if attempt > 1 else ''}",
                    kind=FailureKind.UNREACHABLE,
                    attempts=attempt,
                    hint=f"is {request.service} running and is the URL in mlsre.yaml right?",
                ) from None
            except (requests.exceptions.RequestException, ValueError, UnicodeError) as exc:
                # Refused before anything was sent: a URL requests cannot use, a header with a
                # line break in it, a scheme it has no adapter for (file://).
                raise HttpFailure(
                    f"cannot send a request to {request.service}: {_reason(exc)}",
                    kind=FailureKind.BAD_URL,
                    attempts=attempt,
                    hint=f"check the {request.service} url and headers in mlsre.yaml and the "
                    "MLSRE_* variables: an http(s) URL, header values on one line",
                ) from None
            response = Response(
                status=status,
                headers=headers,
                body=body,
                url=request.display_url(),
                attempts=attempt,
                elapsed_s=time.monotonic() - started,
            )
            if response.status in RETRY_STATUSES and attempt <= request.retries:
                time.sleep(backoff_delay(request, attempt, response))
                continue
            return response


def _download(
    session: Any, request: Request, box: dict[str, Any], given_up: threading.Event
) -> tuple[int, dict[str, str], bytes]:
    """Send and read the body in chunks, refusing a body over the cap before holding it."""
    raw = session.request(
        request.method,
        request.url,
        params=list(request.params) or None,
        json=request.json_body,
        headers=request.headers,
        # Reads get a little longer than the total deadline, so a hung server is always named
        # by the deadline (one message), never by whichever timer a loaded machine fires first.
        timeout=(request.timeout_s, request.timeout_s + READ_MARGIN_S),
        verify=request.verify,
        allow_redirects=True,
        stream=True,
    )
    box["response"] = raw
    try:
        cap = request.max_body_bytes
        declared = str(raw.headers.get("Content-Length") or "").strip()
        if declared.isdigit() and int(declared) > cap:
            raise _TooLarge(int(declared), declared=True)
        chunks: list[bytes] = []
        size = 0
        for chunk in raw.iter_content(_CHUNK):
            if given_up.is_set():
                break
            size += len(chunk)
            if size > cap:
                raise _TooLarge(size, declared=False)
            chunks.append(chunk)
        return raw.status_code, dict(raw.headers), b"".join(chunks)
    finally:
        raw.close()


def _shut(raw: Any) -> None:
    """Unblock a thread stuck reading ``raw`` (a requests Response) by closing its socket."""
    if raw is None:
        return
    inner = getattr(raw, "raw", None)
    shutdown = getattr(inner, "shutdown", None)
    try:
        if callable(shutdown):
            shutdown()
        else:
            raw.close()
    except Exception:
        pass


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _reason(exc: BaseException) -> str:
    """The innermost cause, in a few words: 'connection refused', 'name not resolved', ..."""
    text = str(exc)
    low = text.lower()
    for needle, short in (
        ("connection refused", "connection refused"),
        ("name or service not known", "host name not resolved"),
        ("nodename nor servname", "host name not resolved"),
        ("temporary failure in name resolution", "host name not resolved"),
        ("connection reset", "connection reset"),
        ("remotedisconnected", "server closed the connection"),
        ("connection aborted", "server closed the connection"),
        ("certificate verify failed", "certificate verify failed"),
        ("wrong version number", "not a TLS server (try http://)"),
        ("incompleteread", "response cut off"),
    ):
        if needle in low:
            return short
    return text.splitlines()[0][:120] if text else type(exc).__name__
