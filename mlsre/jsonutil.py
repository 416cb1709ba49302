"""JSON encoding of our dataclasses, enums and datetimes (used by stores, exports and ``--json``).

Everything mlsre writes as JSON is strict JSON: a float that is not finite (NaN, infinities)
becomes ``null``, and the dict holding it gains ``"null_reasons": {key: why}`` so a reader
knows the null was a number that had no finite value (see :mod:`mlsre.numbers`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime
from enum import Enum
from typing import Any

NULL_REASONS = "null_reasons"


def plain(obj: Any) -> Any:
    """Dataclasses, pydantic models, enums and datetimes as plain, strict JSON data."""
    if hasattr(obj, "model_dump") and not isinstance(obj, type):
        return plain(obj.model_dump(mode="json", by_alias=True))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _mapping({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, dict):
        return _mapping(obj)
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _mapping(items: dict[Any, Any]) -> dict[str, Any]:
    from mlsre.numbers import undefined_reason

    out: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    for k, v in items.items():
        key = str(k)
        if isinstance(v, float) and not math.isfinite(v):
            reasons[key] = undefined_reason(v)
            out[key] = None
        else:
            out[key] = plain(v)
    if reasons:
        given = out.get(NULL_REASONS)
        out[NULL_REASONS] = {**given, **reasons} if isinstance(given, dict) else reasons
    return out


def dumps(obj: Any) -> str:
    return json.dumps(plain(obj), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def loads_strict(text: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity, as strict parsers (JavaScript, Go) do."""

    def refuse(name: str) -> Any:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)
