"""The door for notifications leaving mlsre (PagerDuty, Slack, webhooks): one POST, no retries
(the outbox retries), and errors that name the channel, never its URL (a Slack webhook URL is
itself a secret)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from mlsre.integrations.http import FailureKind, HttpFailure
from mlsre.integrations.http_live import _reason


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None
    text: str


_local = threading.local()


def _session() -> Any:
    """One keep-alive session per thread: a flush of many notifications to one endpoint
    reuses its connection."""
    session = getattr(_local, "session", None)
    if session is None:
        import requests

        session = requests.Session()
        session.trust_env = False  # proxies from the environment must not reroute 127.0.0.1
        _local.session = session
    return session


def post(url: str, data: bytes, headers: dict[str, str], timeout_s: float, name: str) -> Answer:
    import requests

    try:
        raw = _session().post(url, data=data, headers=headers, timeout=timeout_s)
        return Answer(raw.status_code, raw.headers.get("Retry-After"), raw.text[:2000])
    except requests.exceptions.Timeout:
        raise HttpFailure(
            f"{name}: no answer within {timeout_s:g}s", kind=FailureKind.TIMEOUT
        ) from None
    except requests.exceptions.RequestException as exc:
        raise HttpFailure(
            f"{name}: unreachable ({_reason(exc)})", kind=FailureKind.UNREACHABLE
        ) from None
