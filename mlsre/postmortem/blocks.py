"""Generated blocks in a postmortem: regenerate them, keep everything people wrote around them.

A block runs from ``<!-- mlsre:begin NAME ... -->`` to ``<!-- mlsre:end NAME -->``, each on its
own line. Republishing replaces what is inside each block and nothing else. A block people
deleted stays deleted; a file with no blocks left is entirely theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BEGIN_RE = re.compile(r"^<!-- mlsre:begin (?P<name>[\w.-]+)\b[^\n]*?-->[ \t]*\n", re.M)


@dataclass
class Merge:
    text: str
    updated: list[str] = field(default_factory=list)  # blocks regenerated
    dropped: list[str] = field(default_factory=list)  # new blocks with nowhere to go


def blocks(text: str) -> dict[str, str]:
    """Each block's inner text, by name."""
    return {name: text[a:b] for name, (a, b) in spans(text).items()}


def spans(text: str) -> dict[str, tuple[int, int]]:
    """Where each block's inner text starts and ends in ``text`` (first block of a name wins)."""
    out: dict[str, tuple[int, int]] = {}
    for m in BEGIN_RE.finditer(text):
        name = m.group("name")
        if name in out:
            continue
        end = re.compile(rf"^<!-- mlsre:end {re.escape(name)} -->[ \t]*$", re.M)
        e = end.search(text, m.end())
        if e is not None:
            out[name] = (m.end(), e.start())
    return out


def merge(existing: str, fresh: str) -> Merge:
    """``existing`` with every generated block replaced by its version in ``fresh``."""
    new = blocks(fresh)
    old = spans(existing)
    result = Merge(text=existing)
    pieces: list[str] = []
    pos = 0
    for name, (a, b) in sorted(old.items(), key=lambda kv: kv[1][0]):
        if a < pos:  # nested or overlapping markers: leave that part alone
            continue
        pieces.append(existing[pos:a])
        pieces.append(new.get(name, existing[a:b]))
        if name in new:
            result.updated.append(name)
        pos = b
    pieces.append(existing[pos:])
    result.text = "".join(pieces)
    result.dropped = [n for n in new if n not in old]
    return result
