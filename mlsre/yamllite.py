"""A fast reader for the plain block-style YAML that runbooks are written in.

PyYAML composes a node object for every value before :mod:`mlsre.yamlfile` builds data from it;
for a library of hundreds of runbooks that is most of validation time. This module reads the
common subset straight from the lines: block mappings and sequences, one-line plain and quoted
scalars, literal and folded block scalars, one-line flow collections, and comments. It builds
data only: positions are needed only to report a problem, and are then read with PyYAML.

Anything else (anchors, tags, multi-line plain or quoted scalars, escapes, document markers,
tabs, unusual indentation, and every error) makes :func:`parse` return None, and the caller reads
the file with PyYAML, which stays the authority on what YAML means and on every error message.
A differential test holds both readers to the same data.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Characters PyYAML accepts, minus the ones this reader leaves to it (tab, CR, NEL, LS, PS, BOM).
_UNSUPPORTED = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_MARKERS = re.compile(r"(?m)^(?:---|\.\.\.)(?:[ ]|$)|^%")
# A block mapping key (a plain scalar without spaces), ':', and a space or the line's end.
_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.\-/]*):(?: +|$)")
# The most common line of all: `key: plain words` (no ':' or '#' in the words, to be simple).
_KEY_PLAIN = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.\-/]*): +([^\s&*!%@`?:,\[\]{}#|>'\"-][^#:]*)$")
# One `key: value` of a one-line flow mapping, and the ',' or '}' after it.
_FLOW_ENTRY = re.compile(
    r" *([A-Za-z0-9_][A-Za-z0-9_.\-/]*): +(?:\"([^\"\\]*)\" *|'((?:[^']|'')*)' *"
    r"|([^\s,\[\]{}#&*!|>'\"%@`:?\-][^,\[\]{}#:]*))([,}])"
)
_BLOCK_HEADER = re.compile(r"([|>])([-+]?)(?: *$| +#)")
_DOUBLE = re.compile(r'"([^"\\]*)"')
_SINGLE = re.compile(r"'((?:[^']|'')*)'")
# After a value: nothing, or a comment (which needs a space before its '#').
_LINE_END = re.compile(r" *$| +#")
# A plain scalar inside a flow collection: no flow indicators, ':' or '#' at all.
_FLOW_PLAIN = re.compile(r"(?:[^\s,\[\]{}#&*!|>'\"%@`:?\-]|-(?=[^\s,\[\]{}]))[^,\[\]{}#:]*")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+][0-9]+)?")
_PLAIN_START_BAD = frozenset("&*!%@`?:,[]{}#|>'\"")
_MAX_DEPTH = 64


class _Unsupported(Exception):
    """The text is outside the subset (or wrong): PyYAML must read it."""


def parse(text: str, max_nodes: int) -> tuple[Any] | None:
    """``(data,)`` as PyYAML's safe loader reads ``text``, or None when PyYAML must read it."""
    if not text.endswith("\n") or _UNSUPPORTED.search(text) or _MARKERS.search(text):
        return None
    try:
        return (_Reader(text.split("\n")[:-1], max_nodes).document(),)
    except _Unsupported:
        return None


class _Reader:
    def __init__(self, lines: list[str], max_nodes: int) -> None:
        self.lines = lines
        self.n = len(lines)
        self.budget = max_nodes
        # Indentation of each line; -1 for a blank or comment-only line.
        ind = []
        for line in lines:
            s = line.lstrip(" ")
            ind.append(len(line) - len(s) if s and s[0] != "#" else -1)
        self.ind = ind

    def document(self) -> Any:
        i = self._skip(0)
        if i >= self.n:
            raise _Unsupported
        value, i = self._block(i, 0)
        if self._skip(i) < self.n:
            raise _Unsupported
        return value

    def _skip(self, i: int) -> int:
        """The next line at or after ``i`` that is neither blank nor only a comment."""
        ind, n = self.ind, self.n
        while i < n and ind[i] < 0:
            i += 1
        return i

    def _is_dash(self, i: int, col: int) -> bool:
        line = self.lines[i]
        return line.startswith("-", col) and (len(line) == col + 1 or line[col + 1] == " ")

    def _spend(self, count: int = 1) -> None:
        self.budget -= count
        if self.budget < 0:
            raise _Unsupported  # PyYAML reports the size

    def _block(self, i: int, depth: int) -> tuple[Any, int]:
        """The collection whose first line is ``i``."""
        if depth > _MAX_DEPTH:
            raise _Unsupported
        col = self.ind[i]
        if self._is_dash(i, col):
            return self._sequence(i, col, depth)
        if _KEY.match(self.lines[i], col):
            return self._mapping(i, col, depth)
        raise _Unsupported  # a scalar on its own line: multi-line plain text, or an error

    def _mapping(self, i: int, col: int, depth: int) -> tuple[Any, int]:
        data: dict[str, Any] = {}
        lines, ind, n = self.lines, self.ind, self.n
        while True:
            line = lines[i]
            kp = _KEY_PLAIN.match(line, col)
            m = kp or _KEY.match(line, col)
            if m is None:
                raise _Unsupported
            key = m.group(1)
            if key in data or len(key) > 1000 or _resolve(key) is not _AS_STR:
                raise _Unsupported
            if kp is not None:  # the common case, inline
                text = kp.group(2).rstrip(" ")
                value = _resolve(text)
                data[key] = text if value is _AS_STR else value
                i += 1
                while i < n and ind[i] < 0:
                    i += 1
                if i < n and ind[i] > col:
                    raise _Unsupported  # a continuation line (multi-line plain text) or an error
            else:
                data[key], i = self._value(i, m.end(), col, depth, item=False)
                i = self._skip(i)
            if i >= n or ind[i] < col:
                self._spend(1 + len(data))
                return data, i
            if ind[i] > col:
                raise _Unsupported

    def _sequence(self, i: int, col: int, depth: int) -> tuple[Any, int]:
        data: list[Any] = []
        lines, ind = self.lines, self.ind
        while True:
            line = lines[i]
            rest = line[col + 1 :].lstrip(" ")
            at = len(line) - len(rest)
            if rest and _KEY.match(rest):
                # `- key: value`: a mapping that starts on the dash's line. Blank the dash so the
                # line reads as that mapping's first line, at the mapping's own indentation.
                lines[i] = line[:col] + " " + line[col + 1 :]
                ind[i] = at
                value, i = self._mapping(i, at, depth + 1)
            else:
                value, i = self._value(i, col + 1, col, depth, item=True)
            data.append(value)
            i = self._skip(i)
            if i >= self.n or ind[i] < col:
                break
            if ind[i] > col:
                raise _Unsupported
            if not self._is_dash(i, col):
                break
        self._spend(1 + len(data))
        return data, i

    def _value(self, i: int, pos: int, col: int, depth: int, *, item: bool) -> tuple[Any, int]:
        """The value that starts at ``pos`` of line ``i`` (or below) in a collection at ``col``."""
        line = self.lines[i]
        rest = line[pos:].lstrip(" ")
        if not rest or rest[0] == "#":
            j = self._skip(i + 1)
            if j < self.n:
                c = self.ind[j]
                if c > col:
                    return self._block(j, depth + 1)
                if c == col and not item and self._is_dash(j, c):
                    return self._sequence(j, c, depth + 1)  # a sequence indented like its key
            if item:
                raise _Unsupported  # an empty item: let PyYAML decide what it is
            return None, i + 1
        first = rest[0]
        start = len(line) - len(rest)
        if first in "|>":
            return self._block_scalar(i, rest, col)
        if first == '"' or first == "'":
            m = (_DOUBLE if first == '"' else _SINGLE).match(line, start)
            if m is None:
                raise _Unsupported  # multi-line, escapes, or unterminated
            value: Any = m.group(1) if first == '"' else m.group(1).replace("''", "'")
            end = m.end()
        elif first == "{":
            value, end = self._flow_mapping(line, start)
        elif first == "[":
            value, end = self._flow(line, start, 0)
        else:
            if first in _PLAIN_START_BAD or (first == "-" and (len(rest) == 1 or rest[1] == " ")):
                raise _Unsupported
            cut = rest.find(" #")
            text = (rest if cut < 0 else rest[:cut]).rstrip(" ")
            if ": " in text or text.endswith(":"):
                raise _Unsupported
            value, end = _plain(text), len(line)
        if not _LINE_END.match(line, end):
            raise _Unsupported
        j = self._skip(i + 1)
        if j < self.n and self.ind[j] > col:
            raise _Unsupported  # a continuation line (multi-line plain or flow) or an error
        return value, i + 1

    def _block_scalar(self, i: int, header: str, col: int) -> tuple[str, int]:
        h = _BLOCK_HEADER.match(header)
        if h is None:
            raise _Unsupported  # an indentation indicator, or junk after the header
        style, chomp = h.group(1), h.group(2)
        lines, n = self.lines, self.n
        start = k = i + 1
        while k < n and not lines[k].strip(" "):
            k += 1
        if k >= n:
            raise _Unsupported
        line = lines[k]
        m = len(line) - len(line.lstrip(" "))
        if m <= col or any(len(lines[b]) > m for b in range(start, k)):
            raise _Unsupported
        if style == ">" and k > start:
            raise _Unsupported  # leading empty lines in a folded scalar
        body = [""] * (k - start)
        pad = " " * m
        e = k
        while e < n:
            line = lines[e]
            if line.startswith(pad):
                text = line[m:]
                if text[:1] == " " and not text.strip(" "):
                    raise _Unsupported  # a line of only spaces beyond the indentation
                body.append(text)
            elif line.strip(" "):
                break
            else:
                body.append("")
            e += 1
        last = len(body)
        while body[last - 1] == "":
            last -= 1
        text = "\n".join(body[:last]) if style == "|" else _fold(body[:last])
        if chomp == "":
            text += "\n"
        elif chomp == "+":
            text += "\n" * (1 + len(body) - last)
        return text, e

    def _flow_mapping(self, line: str, start: int) -> tuple[Any, int]:
        """A one-line flow mapping of plain and quoted scalars, by regex; else :meth:`_flow`."""
        data: dict[str, Any] = {}
        p = start + 1
        while True:
            m = _FLOW_ENTRY.match(line, p)
            if m is None or m.group(1) in data or _resolve(m.group(1)) is not _AS_STR:
                return self._flow(line, start, 0)
            key, double, single, plain, close = m.groups()
            if plain is not None:
                plain = plain.rstrip(" ")
                value = _resolve(plain)
                data[key] = plain if value is _AS_STR else value
            else:
                data[key] = double if double is not None else single.replace("''", "'")
            p = m.end()
            if close == "}":
                self._spend(1 + len(data))
                return data, p

    def _flow(self, line: str, p: int, depth: int) -> tuple[Any, int]:
        """A flow collection that opens at ``line[p]`` and closes on the same line."""
        if depth > _MAX_DEPTH:
            raise _Unsupported
        self._spend()
        size = len(line)
        closing = "]" if line[p] == "[" else "}"
        seq: list[Any] = []
        mapping: dict[str, Any] = {}
        p += 1
        while True:
            while p < size and line[p] == " ":
                p += 1
            if p >= size:
                raise _Unsupported  # continues on the next line
            if line[p] == closing:
                return (seq if closing == "]" else mapping), p + 1
            if closing == "]":
                value, p = self._flow_node(line, p, depth)
                seq.append(value)
            else:
                key, p = _flow_scalar(line, p)
                if not isinstance(key, str) or key in mapping or not line.startswith(": ", p):
                    raise _Unsupported
                mapping[key], p = self._flow_node(line, p + 2, depth)
            while p < size and line[p] == " ":
                p += 1
            if p < size and line[p] == ",":
                p += 1
            elif p >= size or line[p] != closing:
                raise _Unsupported

    def _flow_node(self, line: str, p: int, depth: int) -> tuple[Any, int]:
        while p < len(line) and line[p] == " ":
            p += 1
        if p < len(line) and line[p] in "[{":
            return self._flow(line, p, depth + 1)
        self._spend()
        return _flow_scalar(line, p)


def _flow_scalar(line: str, p: int) -> tuple[Any, int]:
    first = line[p : p + 1]
    if first == '"' or first == "'":
        m = (_DOUBLE if first == '"' else _SINGLE).match(line, p)
        if m is None:
            raise _Unsupported
        return (m.group(1) if first == '"' else m.group(1).replace("''", "'")), m.end()
    m = _FLOW_PLAIN.match(line, p)
    if m is None:
        raise _Unsupported
    return _plain(m.group(0).rstrip(" ")), m.end()


def _fold(lines: list[str]) -> str:
    """Folded-scalar text: a single line break becomes a space, each empty line a newline."""
    if any(line.startswith(" ") for line in lines):
        raise _Unsupported  # more-indented lines keep their breaks: PyYAML's rules apply
    out = [lines[0]]
    empties = 0
    for line in lines[1:]:
        if not line:
            empties += 1
            continue
        out.append("\n" * empties if empties else " ")
        out.append(line)
        empties = 0
    return "".join(out)


_AS_STR = object()


@lru_cache(maxsize=4096)
def _resolve(value: str) -> Any:
    """What a plain scalar means: ``_AS_STR``, or its int/float/bool/None value."""
    for tag, regexp in _implicit().get(value[:1], ()):
        if regexp.match(value):
            kind = tag.rsplit(":", 1)[-1]
            if kind == "null":
                return None
            if kind == "bool":
                return value.lower() in ("yes", "true", "on")
            if kind == "int" and _INT.fullmatch(value):
                return int(value)
            if kind == "float" and _FLOAT.fullmatch(value):
                return float(value)
            raise _Unsupported  # octal, sexagesimal, timestamps, merge keys: PyYAML's rules
    return _AS_STR


def _plain(text: str) -> Any:
    value = _resolve(text)
    return text if value is _AS_STR else value


_IMPLICIT: dict[str, Any] = {}


def _implicit() -> dict[str, Any]:
    if not _IMPLICIT:
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        _IMPLICIT.update(loader.yaml_implicit_resolvers)
    return _IMPLICIT
