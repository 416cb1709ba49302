"""What a step found, in words: the quantity an expectation tests, for step lines and summaries."""

from __future__ import annotations

import math
import re
from typing import Any

_SHOWN_WITH = {"ratio": ("now", "baseline"), "delta": ("now", "baseline")}


def tested_fields(sample: dict[str, Any], expect: str) -> list[str]:
    """The numeric fields of ``sample`` that ``expect`` reads, in the order it reads them."""
    found: list[tuple[int, str]] = []
    for key, value in sample.items():
        if key == "labels" or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        m = re.search(rf"(?<![\w.'\"]){re.escape(key)}\b", expect)
        if m:
            found.append((m.start(), key))
    return [k for _, k in sorted(found)]


def number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def sample_text(sample: dict[str, Any], expect: str | None = None) -> str:
    """A sample as ``{labels} quantity``: the quantity ``expect`` tests (delta for a delta)."""
    labels = sample.get("labels") or {}
    shown = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")
    keys = tested_fields(sample, expect) if expect else []
    if not keys or keys == ["value"]:
        val = number(sample.get("value"))
    else:
        parts = [f"{k} {number(sample[k])}" for k in keys]
        extra = [f for k in keys for f in _SHOWN_WITH.get(k, ()) if f in sample and f not in keys]
        if extra:
            parts.append(
                "(" + ", ".join(f"{f} {number(sample[f])}" for f in dict.fromkeys(extra)) + ")"
            )
        val = " ".join(parts)
    return f"{{{shown}}} {val}" if shown else val
