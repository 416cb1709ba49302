"""JSON encoding of our dataclasses, enums and datetimes (used by stores and exports)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import Enum
from typing import Any


def plain(obj: Any) -> Any:
    """Dataclasses, pydantic models, enums and datetimes as plain JSON data."""
    if hasattr(obj, "model_dump") and not isinstance(obj, type):
        return obj.model_dump(mode="json", by_alias=True)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    return obj


def dumps(obj: Any) -> str:
    return json.dumps(plain(obj), separators=(",", ":"), ensure_ascii=False, allow_nan=True)
