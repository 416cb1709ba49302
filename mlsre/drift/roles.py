"""What a column is for: a feature, a timestamp or an identifier.

Timestamps and identifiers are not features: next week's timestamps are all "outside the
reference range" and every new id is "unseen", so comparing them like features raises false
alarms. They are recognised by type (Arrow timestamp/date), by name (``ts``, ``*_at``,
``event_time``) and identifiers by uniqueness (an integer or text column whose values are all
distinct and, for integers, dense like a sequence; or 90% distinct under a name like ``id``,
``*_id``, ``uuid``), and are checked for what matters to them instead.
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
ID_NAMED_SHARE = 0.9  # an id-like name with at least this share of distinct values
DENSE_SPAN = 10  # an unnamed unique integer column is an id when its range <= 10x its rows


class Role(StrEnum):
    FEATURE = "feature"
    TIMESTAMP = "timestamp"
    IDENTIFIER = "identifier"


def is_temporal_type(source_type: str) -> bool:
    return source_type.startswith(("timestamp", "date", "time"))


def role_of(col: Column) -> Role:
    """The role of a reference column (decided once, from the reference).

    A name like ``merchant_id`` alone does not make an identifier: a key that repeats is a
    categorical feature. Identifiers are (nearly) all distinct."""
    if is_temporal_type(col.source_type) or _TIME_NAME.search(col.name):
        return Role.TIMESTAMP
    share = _distinct_share(col)
    if share >= ID_NAMED_SHARE and _ID_NAME.search(col.name):
        return Role.IDENTIFIER
    if share >= 1.0 and (col.values is None or _dense(col)):
        return Role.IDENTIFIER  # unique text, or a unique integer sequence (not unique amounts)
    return Role.FEATURE


def _dense(col: Column) -> bool:
    """Integers that fill their range like a sequence (row numbers), not scattered values."""
    assert col.values is not None
    vals = col.values[np.isfinite(col.values)]
    return bool(vals.size and (vals.max() - vals.min() + 1) <= DENSE_SPAN * vals.size)


def _distinct_share(col: Column) -> float:
    """Distinct values / rows for integer and text columns (0 for floats and small files)."""
    if col.size < MIN_ROWS_FOR_UNIQUE:
        return 0.0
    if col.values is not None:
        if not col.source_type.startswith(("int", "uint")):
            return 0.0  # distinct floats are just continuous values
        vals = col.values[np.isfinite(col.values)]
        return float(np.unique(vals).size / col.size)
    assert col.codes is not None
    used = np.unique(col.codes[col.codes >= 0]).size
    return float(used / col.size)
