"""Who may call what: the bearer token (constant-time), the pages' cookie, body limits."""

from __future__ import annotations

import hmac

from starlette.requests import Request

COOKIE = "mlsre_token"


def same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode())


def authorized(request: Request, token: str | None, *, cookie: bool = False) -> bool:
    """The bearer token (constant-time compare); for reads also the login cookie."""
    if token is None:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and same(given.strip(), token):
        return True
    kept = request.cookies.get(COOKIE) if cookie else None
    return kept is not None and same(kept, token)


def safe_next(target: str) -> str:
    """Only a path on this server (no open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than ``limit`` (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
