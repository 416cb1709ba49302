"""Times and durations as people type them at 03:00: ``-45m``, ``now``, ISO 8601, unix seconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from mlsre.errors import UsageError

# Seconds in each duration unit people and Prometheus write (``30s``, ``5m``, ``28d``): the one
# table every parser and formatter of durations in mlsre uses.
UNIT_SECONDS: dict[str, float] = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "y": 31536000,
}
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w|y)", re.ASCII)
# Times an incident can plausibly involve: a year-1 or year-9999 time is a typo, and one such
# value poisons every statistic computed over incidents.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_DURATION_S = 100 * UNIT_SECONDS["y"]
_TIME_HINT = (
    "use now, a relative time like -45m, unix seconds, or ISO 8601 like 2026-11-28T03:10:00Z "
    f"(between {EARLIEST.year} and {LATEST.year})"
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``1h30m``, ``7d`` (Prometheus style) -> timedelta."""
    s = text.strip()
    pos, total = 0, 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise UsageError(f"'{text}' is not a duration", hint="use e.g. 30s, 5m, 1h30m, 7d")
    if total > MAX_DURATION_S:
        raise UsageError(f"'{text}' is longer than 100 years", hint="use e.g. 30s, 5m, 1h30m, 7d")
    return timedelta(seconds=total)


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """``now``, ``-30m`` (relative to now), unix seconds, or RFC3339/ISO 8601 -> aware UTC."""
    s = text.strip()
    ref = now or utcnow()
    if s == "now":
        return ref
    if s.startswith("-") and s[1:2].isdigit() and not _looks_numeric(s):
        return plausible(ref - parse_duration(s[1:]), text)
    if _looks_numeric(s):
        seconds = float(s)
        if not EARLIEST.timestamp() <= seconds < LATEST.timestamp():  # also NaN and infinities
            raise UsageError(f"'{text}' is not a plausible time", hint=_TIME_HINT)
        return datetime.fromtimestamp(seconds, UTC)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"'{text}' is not a time", hint=_TIME_HINT) from None
    return plausible(dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC), text)


def plausible(dt: datetime, text: str) -> datetime:
    """``dt`` when it is between :data:`EARLIEST` and :data:`LATEST`, else a usage error."""
    if not EARLIEST <= dt < LATEST:
        raise UsageError(f"'{text}' is not a plausible time ({dt.year:04d})", hint=_TIME_HINT)
    return dt


def _looks_numeric(s: str) -> bool:
    if not s.isascii():  # float() reads other scripts' digits; people type ASCII ones
        return False
    try:
        float(s)
    except ValueError:
        return False
    return True


def iso(dt: datetime | None) -> str:
    return "" if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_duration(seconds: float | None) -> str:
    """``3h 12m``, ``45s`` — for people, not for parsing."""
    if seconds is None:
        return "-"
    s = round(abs(seconds))
    sign = "-" if seconds < 0 else ""
    d, rem = divmod(s, int(UNIT_SECONDS["d"]))
    h, rem = divmod(rem, int(UNIT_SECONDS["h"]))
    m, sec = divmod(rem, int(UNIT_SECONDS["m"]))
    if d:
        return f"{sign}{d}d {h}h"
    if h:
        return f"{sign}{h}h {m}m"
    if m:
        return f"{sign}{m}m {sec}s" if sec and m < 10 else f"{sign}{m}m"
    return f"{sign}{sec}s"
