"""A generic webhook: the event and the incident as JSON, signed.

Headers: ``X-Mlsre-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body bytes with the
secret from ``secret_env``; ``Idempotency-Key``, the same for every retry of one notification.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from mlsre.notify.channels.base import Message

SIGNATURE_HEADER = "X-Mlsre-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def body_bytes(msg: Message) -> bytes:
    doc: dict[str, Any] = {
        "type": f"incident.{msg.event_kind}",
        "action": msg.action,
        "incident": msg.incident,
        "event": msg.event,
        "findings": msg.findings,
        "likely_change": msg.likely_change,
        "link": msg.link,
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """What a receiver does (documented in docs/notify.md): compare in constant time."""
    return hmac.compare_digest(sign(body, secret), header)
