"""What a column is for: a feature, a timestamp or an identifier.

Timestamps and identifiers are not features: next week's timestamps are all "outside the
reference range" and every new id is "unseen", so comparing them like features raises false
alarms. They are recognised by type (Arrow timestamp/date), by name (``ts``, ``*_at``,
``event_time``, ``id``, ``*_id``, ``uuid``) and, for identifiers, by uniqueness (an integer or
text column whose values are all distinct), and checked for what matters to them instead.
"""

from __future__ import annotations

import re
from enum import StrEnum

import numpy as np

from mlsre.drift.load import Column

_TIME_NAME = re.compile(
    r"(^|_)(ts|timestamp|time|date|datetime|event_time|created|updated)$|_(at|on|time|date|ts)$",
    re.IGNORECASE,
)
_ID_NAME = re.compile(r"(^|_)(id|uuid|guid|key)$|Id$", re.IGNORECASE)
MIN_ROWS_FOR_UNIQUE = 100  # fewer rows: all-distinct values say nothing


class Role(StrEnum):
    FEATURE = "feature"
    TIMESTAMP = "timestamp"
    IDENTIFIER = "identifier"


def is_temporal_type(source_type: str) -> bool:
    return source_type.startswith(("timestamp", "date", "time"))


def role_of(col: Column) -> Role:
    """The role of a reference column (decided once, from the reference)."""
    if is_temporal_type(col.source_type):
        return Role.TIMESTAMP
    if col.values is not None and _TIME_NAME.search(col.name):
        return Role.TIMESTAMP
    if _ID_NAME.search(col.name):
        return Role.IDENTIFIER
    if col.size >= MIN_ROWS_FOR_UNIQUE and _all_distinct(col):
        return Role.IDENTIFIER
    return Role.FEATURE


def _all_distinct(col: Column) -> bool:
    if col.values is not None:
        if not col.source_type.startswith(("int", "uint")):
            return False  # distinct floats are just continuous values
        vals = col.values[np.isfinite(col.values)]
        return bool(vals.size == col.size and np.unique(vals).size == vals.size)
    assert col.codes is not None
    return len(col.categories) == col.size and bool(np.all(col.codes >= 0))
