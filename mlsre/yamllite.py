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
_KEY_REST = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.\-/]*):(?: +|$)(.*)")  # and what follows
# One `key: value` of a one-line flow mapping, and the ',' or '}' after it.
_FLOW_ENTRY = re.compile(
    r" *([A-Za-z0-9_][A-Za-z0-9_.\-/]*): +(?:\"([^\"\\]*)\" *|'((?:[^']|'')*)' *"
    r"|([^\s,\[\]{}#&*!|>'\"%@`:?\-][^,\[\]{}#:]*))([,}])"
)
# One item of a one-line flow sequence of plain or quoted scalars, and the ',' or ']' after it.
_FLOW_ITEM = re.compile(
    r" *(?:\"([^\"\\]*)\" *|'((?:[^']|'')*)' *|([^\s,\[\]{}#&*!|>'\"%@`:?\-][^,\[\]{}#:]*))([,\]])"
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
    if not text.endswith("\n") or not _only_plain_characters(text) or _has_markers(text):
        return None
    try:
        return (_read(text.split("\n")[:-1], max_nodes),)
    except (_Unsupported, RecursionError):
        return None


def _only_plain_characters(text: str) -> bool:
    if text.isascii():  # constant time; then one fast scan instead of a regex
        return text.replace("\n", "").isprintable()
    return _UNSUPPORTED.search(text) is None


def _has_markers(text: str) -> bool:
    """``---``, ``...`` or a ``%`` directive at the start of a line."""
    starts = ("---", "...", "%")
    if not (text.startswith(starts) or "\n---" in text or "\n..." in text or "\n%" in text):
        return False  # the usual answer, from three substring searches
    return _MARKERS.search(text) is not None


class _Frame:
    """An open block collection: its column, and a key (or, in a sequence, True) whose value
    is still to come on the following lines."""

    __slots__ = ("col", "data", "indentless", "is_map", "pending")

    def __init__(self, col: int, data: Any, indentless: bool = False) -> None:
        self.col = col
        self.data = data
        self.is_map = isinstance(data, dict)
        self.pending: Any = None
        self.indentless = indentless  # a sequence at its parent key's column


def _read(lines: list[str], max_nodes: int) -> Any:
    """One pass over the lines with a stack of open collections (no recursion)."""
    root: Any = None
    stack: list[_Frame] = []
    count = 0
    n = len(lines)
    i = 0
    while i < n:
        line = lines[i]
        s = line.lstrip(" ")
        if not s or s[0] == "#":
            i += 1
            continue
        col = len(line) - len(s)
        count += 1
        if count > max_nodes:
            raise _Unsupported  # PyYAML reports the size
        top = stack[-1] if stack else None
        if top is not None and top.col == col and top.is_map and top.pending is None:
            entry_map, entry_col, rest_line = top, col, s  # the usual line: the next key
        else:  # a collection opens or closes, or a pending value is decided
            while stack and stack[-1].col > col:
                _close(stack.pop())
            dash = s[0] == "-" and (len(s) == 1 or s[1] == " ")
            top = stack[-1] if stack else None
            if top is not None and top.col == col and top.indentless and not dash:
                _close(stack.pop())  # a key after `key:\n- item` lines ends that sequence
                top = stack[-1]
            if top is None or col > top.col:  # a collection opens: the root, or a pending value
                if top is not None and top.pending is None:
                    raise _Unsupported  # a continuation line (multi-line plain text) or an error
                if stack and len(stack) > _MAX_DEPTH:
                    raise _Unsupported
                if top is None and root is not None:
                    raise _Unsupported
                data: Any = [] if dash else {}
                if not dash and _KEY.match(s) is None:
                    raise _Unsupported  # a scalar on its own line
                if top is None:
                    root = data
                elif top.is_map:
                    top.data[top.pending] = data
                else:
                    top.data.append(data)
                if top is not None:
                    top.pending = None
                top = _Frame(col, data)
                stack.append(top)
            elif top.pending is not None:  # the line after `key:` is at the key's own column
                if not top.is_map:
                    raise _Unsupported  # an empty sequence item: PyYAML knows what it means
                if dash:
                    seq: list[Any] = []
                    top.data[top.pending] = seq
                    top.pending = None
                    top = _Frame(col, seq, indentless=True)
                    stack.append(top)
                else:
                    top.data[top.pending] = None
                    top.pending = None
            if top.is_map:
                if dash:
                    raise _Unsupported
                entry_map, entry_col, rest_line = top, col, s
            else:
                if not dash:
                    raise _Unsupported
                rest = s[1:].lstrip(" ")
                if rest and _KEY.match(rest):  # `- key: value`: a mapping starts on the dash's line
                    item: dict[str, Any] = {}
                    top.data.append(item)
                    entry_col = col + len(s) - len(rest)
                    entry_map = _Frame(entry_col, item)
                    stack.append(entry_map)
                    rest_line = rest
                else:
                    if not rest or rest[0] == "#":
                        top.pending = True
                        i += 1
                        continue
                    if rest[0] in "|>":
                        value, i = _block_scalar(lines, i, rest, col)
                        top.data.append(value)
                        continue
                    top.data.append(_inline(rest))
                    i += 1
                    continue
        # an entry `key: ...` of the mapping entry_map, written at column entry_col
        m = _KEY_REST.match(rest_line)
        if m is None:
            raise _Unsupported
        key, rest = m.groups()
        mapping = entry_map.data
        if key in mapping or (key not in _STR_KEYS and not _str_key(key)):
            raise _Unsupported
        first = rest[:1]
        if first.isalpha() and first not in "yYnNtTfFoO":  # plain words that cannot be a bool/null
            mapping[key] = _plain_words(rest)
            i += 1
        elif not rest or first == "#":
            entry_map.pending = key
            i += 1
        elif first in "|>":
            mapping[key], i = _block_scalar(lines, i, rest, entry_col)
        else:
            mapping[key] = _inline(rest)
            i += 1
    for frame in stack:
        _close(frame)
    if root is None:
        raise _Unsupported
    return root


def _close(frame: _Frame) -> None:
    if frame.pending is not None:
        if not frame.is_map:
            raise _Unsupported  # an empty sequence item
        frame.data[frame.pending] = None


def _inline(rest: str) -> Any:
    """A one-line value: a quoted or plain scalar, or a flow collection."""
    first = rest[0]
    value: Any
    if first == '"' or first == "'":
        value, end = _quoted(rest, 0)
    elif first == "{":
        value, end = _flow_mapping(rest)
    elif first == "[":
        value, end = _flow_sequence(rest)
    else:
        if first in _PLAIN_START_BAD or (first == "-" and (len(rest) == 1 or rest[1] == " ")):
            raise _Unsupported
        return _plain(_plain_words(rest))
    if not _LINE_END.match(rest, end):
        raise _Unsupported
    return value


def _plain_words(rest: str) -> str:
    """A one-line plain scalar without its comment; a ': ' inside is not a scalar at all."""
    cut = rest.find(" #")
    text = (rest if cut < 0 else rest[:cut]).rstrip(" ")
    if ": " in text or text[-1] == ":":
        raise _Unsupported
    return text


def _quoted(line: str, p: int) -> tuple[str, int]:
    """The one-line quoted scalar that starts at ``line[p]``, and where it ends."""
    double = line[p] == '"'
    m = (_DOUBLE if double else _SINGLE).match(line, p)
    if m is None:
        raise _Unsupported  # multi-line, escapes, or unterminated
    return (m.group(1) if double else m.group(1).replace("''", "'")), m.end()


def _flow_scalar_of(double: str | None, single: str | None, plain: str | None) -> Any:
    """The scalar of a flow regex match: one of its three alternatives matched."""
    if plain is not None:
        return _plain(plain.rstrip(" "))
    if double is not None:
        return double
    assert single is not None
    return single.replace("''", "'")


def _block_scalar(lines: list[str], i: int, header: str, col: int) -> tuple[str, int]:
    """The literal or folded scalar whose header ends line ``i``, in a collection at ``col``."""
    h = _BLOCK_HEADER.match(header)
    if h is None:
        raise _Unsupported  # an indentation indicator, or junk after the header
    style, chomp = h.group(1), h.group(2)
    n = len(lines)
    start = k = i + 1
    while k < n and not lines[k].strip(" "):
        k += 1
    if k >= n:
        raise _Unsupported
    line = lines[k]
    m = len(line) - len(line.lstrip(" "))
    if m <= col:
        raise _Unsupported
    if k > start and (style == ">" or any(len(lines[b]) > m for b in range(start, k))):
        raise _Unsupported  # leading empty lines: in a folded scalar, or longer than the indent
    body = [""] * (k - start)
    pad = " " * m
    e = n
    for j in range(k, n):
        line = lines[j]
        if line.startswith(pad):
            text = line[m:]
            if text[:1] == " " and not text.strip(" "):
                raise _Unsupported  # a line of only spaces beyond the indentation
            body.append(text)
        elif line.strip(" "):
            e = j
            break
        else:
            body.append("")
    last = len(body)
    while body[last - 1] == "":
        last -= 1
    text = "\n".join(body[:last]) if style == "|" else _fold(body[:last])
    if chomp == "":
        text += "\n"
    elif chomp == "+":
        text += "\n" * (1 + len(body) - last)
    return text, e


def _flow_mapping(line: str) -> tuple[Any, int]:
    """A one-line flow mapping of plain and quoted scalars, by regex; else :func:`_flow`."""
    data: dict[str, Any] = {}
    p = 1
    while True:
        m = _FLOW_ENTRY.match(line, p)
        if m is None:
            return _flow(line, 0, 0)
        key, double, single, plain, close = m.groups()
        if key in data or (key not in _STR_KEYS and not _str_key(key)):
            return _flow(line, 0, 0)
        data[key] = _flow_scalar_of(double, single, plain)
        p = m.end()
        if close == "}":
            return data, p


def _flow_sequence(line: str) -> tuple[Any, int]:
    """A one-line flow sequence of plain and quoted scalars, by regex; else :func:`_flow`."""
    data: list[Any] = []
    p = 1
    while True:
        m = _FLOW_ITEM.match(line, p)
        if m is None:
            return _flow(line, 0, 0)  # empty, nested, or anything unusual
        double, single, plain, close = m.groups()
        data.append(_flow_scalar_of(double, single, plain))
        p = m.end()
        if close == "]":
            return data, p


def _flow(line: str, p: int, depth: int) -> tuple[Any, int]:
    """A flow collection that opens at ``line[p]`` and closes on the same line."""
    if depth > _MAX_DEPTH:
        raise _Unsupported
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
            value, p = _flow_node(line, p, depth)
            seq.append(value)
        else:
            key, p = _flow_scalar(line, p)
            if not isinstance(key, str) or key in mapping or not line.startswith(": ", p):
                raise _Unsupported
            mapping[key], p = _flow_node(line, p + 2, depth)
        while p < size and line[p] == " ":
            p += 1
        if p < size and line[p] == ",":
            p += 1
        elif p >= size or line[p] != closing:
            raise _Unsupported


def _flow_node(line: str, p: int, depth: int) -> tuple[Any, int]:
    while p < len(line) and line[p] == " ":
        p += 1
    if p < len(line) and line[p] in "[{":
        return _flow(line, p, depth + 1)
    return _flow_scalar(line, p)


def _flow_scalar(line: str, p: int) -> tuple[Any, int]:
    if line[p : p + 1] in ("'", '"'):
        return _quoted(line, p)
    m = _FLOW_PLAIN.match(line, p)
    if m is None:
        raise _Unsupported
    return _plain(m.group(0).rstrip(" ")), m.end()


def _fold(lines: list[str]) -> str:
    """Folded-scalar text: a single line break becomes a space, each empty line a newline."""
    text = "\n".join(lines)
    if "\n\n" not in text and "\n " not in text and text[:1] != " ":
        return text.replace("\n", " ")  # the usual paragraph: no empty or indented lines
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
_STR_KEYS: set[str] = set()  # keys seen to read as plain strings (a set is cheaper than a call)


def _str_key(key: str) -> bool:
    """A mapping key must read as a string of sensible length (`1:`, `on:` or `null:` do not)."""
    if len(key) > 1000 or _resolve(key) is not _AS_STR:
        return False
    if len(_STR_KEYS) < 10_000:
        _STR_KEYS.add(key)
    return True


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
