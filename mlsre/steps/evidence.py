"""Helpers shared by the integration step kinds: bounded evidence and error results."""

from __future__ import annotations

import json
from typing import Any

from mlsre.errors import MlsreError
from mlsre.redaction import redact
from mlsre.steps.base import StepResult, StepStatus

MAX_EVIDENCE_CHARS = 200_000


def bounded(obj: Any, limit: int = MAX_EVIDENCE_CHARS) -> Any:
    """``obj`` itself when its JSON is small enough, else a truncated text of it (marked so)."""
    try:
        text = json.dumps(obj, default=str)
    except (TypeError, ValueError):
        text = str(obj)
    if len(text) <= limit:
        return obj
    return {"truncated": True, "chars": len(text), "head": text[:limit]}


def error_result(exc: MlsreError) -> StepResult:
    """The check could not run: one line, the hint, and what kind of failure it was."""
    evidence: dict[str, Any] = {"error": redact(exc.message), "error_type": type(exc).__name__}
    if exc.hint:
        evidence["hint"] = redact(exc.hint)
    for attr in ("kind", "attempts", "status", "code"):
        value = getattr(exc, attr, None)
        if value not in (None, ""):
            evidence[attr] = str(value) if attr == "kind" else value
    return StepResult(status=StepStatus.ERROR, summary=redact(exc.message), evidence=evidence)
