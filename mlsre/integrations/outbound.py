"""The door for notifications leaving mlsre (PagerDuty, Slack, webhooks): one POST, no retries
(the outbox retries), and errors that name the channel, never its URL (a Slack webhook URL is
itself a secret)."""

from __future__ import annotations

from dataclasses import dataclass

from mlsre.integrations.http import FailureKind, HttpFailure, _reason


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None
    text: str


def post(url: str, data: bytes, headers: dict[str, str], timeout_s: float, name: str) -> Answer:
    import requests

    try:
        with requests.Session() as session:
            session.trust_env = False
            raw = session.post(url, data=data, headers=headers, timeout=timeout_s)
            return Answer(raw.status_code, raw.headers.get("Retry-After"), raw.text[:2000])
    except requests.exceptions.Timeout:
        raise HttpFailure(
            f"{name}: no answer within {timeout_s:g}s", kind=FailureKind.TIMEOUT
        ) from None
    except requests.exceptions.RequestException as exc:
        raise HttpFailure(
            f"{name}: unreachable ({_reason(exc)})", kind=FailureKind.UNREACHABLE
        ) from None
