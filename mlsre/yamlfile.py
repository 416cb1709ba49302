"""Safe YAML loading that remembers where every value came from.

Runbooks, SLO files and ``mlsre.yaml`` are all read through :func:`load_yaml`, so every error
can point at ``file:line:column`` and the field path. Loading is safe (no Python tags), refuses
files that are too large, not text, or that expand through aliases into a "YAML bomb".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from mlsre.errors import ValidationError

MAX_BYTES = 5 * 1024 * 1024
# YAML's own line breaks (str.splitlines also splits on \x1c-\x1e, \x0b, \x0c: YAML does not).
_YAML_LINES = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
MAX_NODES = 200_000

Loc = tuple[str | int, ...]


class Mark(NamedTuple):  # a tuple: created for every value, so it must be cheap
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document, located as precisely as we can."""

    path: str
    line: int
    column: int
    message: str
    loc: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        return f"{where}: {self.loc}: {self.message}" if self.loc else f"{where}: {self.message}"


class YamlDocument:
    """Data read from one YAML document, and where each key and item of it is in the file."""

    def __init__(
        self, path: str, data: Any, marks: dict[Loc, Mark] | None = None, *, text: str = ""
    ) -> None:
        self.path = path
        self.data = data
        self.text = text
        self.marks: dict[Loc, Mark] = {} if marks is None else marks
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        """The file's lines, split where YAML splits them (``str.splitlines`` also splits on
        ``\\x0c``, ``\\x1e`` and more)."""
        if self._lines is None:
            self._lines = _YAML_LINES.split(self.text)
        return self._lines

    def mark(self, loc: Iterable[str | int]) -> Mark:
        """The position of ``loc``, or of its nearest located ancestor."""
        parts = tuple(loc)
        while parts:
            if parts in self.marks:
                return self.marks[parts]
            parts = parts[:-1]
        return self.marks.get((), Mark(1, 1))

    def problem(self, loc: Iterable[str | int], message: str) -> Problem:
        parts = tuple(loc)
        m = self.mark(parts)
        return Problem(self.path, m.line, m.column, message, format_loc(parts))


class YamlProblems(ValidationError):
    """Raised with every problem found in one or more documents."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = str(problems[0]) if problems else "invalid document"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more, hint="fix the file(s) and run the command again")


def format_loc(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """Read a text file, refusing huge, binary or undecodable content with a located error."""
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise YamlProblems([Problem(name, 1, 1, f"cannot read file: {exc.strerror}")]) from None
    if size > max_bytes:
        mb = size / 1024 / 1024
        raise YamlProblems(
            [
                Problem(
                    name,
                    1,
                    1,
                    f"file is {mb:.1f} MB; files over {max_bytes // 1024 // 1024} MB are refused",
                )
            ]
        )
    raw = path.read_bytes()
    return decode_text(name, raw)


def decode_text(name: str, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlProblems([Problem(name, line, col, "not UTF-8 text (binary file?)")]) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise YamlProblems([Problem(name, line, 1, "contains NUL bytes (binary file?)")])
    return text


def load_yaml(path: Path) -> YamlDocument:
    return parse_yaml(read_text(path), str(path))


def load_yaml_all(path: Path) -> list[YamlDocument]:
    return parse_yaml_all(read_text(path), str(path))


def parse_yaml(text: str, name: str) -> YamlDocument:
    """Parse one YAML document safely, recording the position of every key and item."""
    nodes = _compose(text, name)
    if len(nodes) > 1:
        m = nodes[1].start_mark
        raise YamlProblems(
            [Problem(name, m.line + 1, m.column + 1, "more than one YAML document in the file")]
        )
    if not nodes or nodes[0] is None:
        raise YamlProblems([Problem(name, 1, 1, "file is empty")])
    return _build(nodes[0], name, [MAX_NODES], text)


def parse_yaml_all(text: str, name: str) -> list[YamlDocument]:
    """Parse every document of a ``---``-separated stream (empty documents are dropped).

    Formats such as OpenSLO keep several objects in one file; marks stay file-relative.
    """
    nodes = [n for n in _compose(text, name) if n is not None]
    budget = [MAX_NODES]  # shared, so many small documents cannot add up to a bomb either
    docs = [_build(node, name, budget, text) for node in nodes]
    docs = [d for d in docs if d.data is not None]  # a stray `---` at the end is not an object
    if not docs:
        raise YamlProblems([Problem(name, 1, 1, "file is empty")])
    return docs


_LOADER: Any = None


def _fast_loader(yaml: Any) -> Any:
    """PyYAML's C safe loader with a lean resolver: same tags, no per-node path bookkeeping."""
    global _LOADER
    if _LOADER is None:
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        implicit = base.yaml_implicit_resolvers
        scalar, sequence = yaml.ScalarNode, yaml.SequenceNode

        def resolve(self: Any, kind: Any, value: Any, implicit_flags: Any) -> str:
            if kind is scalar:
                if implicit_flags[0]:
                    for tag, regexp in implicit.get(value[:1] if value else "", ()):
                        if regexp.match(value):
                            return str(tag)
                return _STR
            return _SEQ if kind is sequence else _MAP

        def no_path(self: Any, *args: Any) -> None:
            return None

        _LOADER = type(
            "_FastSafeLoader",
            (base,),
            {"resolve": resolve, "descend_resolver": no_path, "ascend_resolver": no_path},
        )
    return _LOADER


def _refuse_tab_indents(text: str, name: str) -> None:
    """PyYAML's own message for a tab in an indent is cryptic; say it plainly, with the column."""
    for lineno, raw_line in enumerate(_YAML_LINES.split(text), start=1):
        indent = raw_line[: len(raw_line) - len(raw_line.lstrip(" \t"))]
        if "\t" in indent and raw_line.strip():
            col = indent.index("\t") + 1
            raise YamlProblems(
                [Problem(name, lineno, col, "tab used for indentation; YAML needs spaces")]
            )


def _compose(text: str, name: str) -> list[Any]:
    import yaml

    if "\t" in text:
        _refuse_tab_indents(text, name)
    try:
        return list(yaml.compose_all(text, Loader=_fast_loader(yaml)))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        raise YamlProblems([Problem(name, line, col, f"invalid YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise YamlProblems(
            [Problem(name, 1, 1, f"invalid YAML: {str(exc).splitlines()[0]}")]
        ) from None


def _build(node: Any, name: str, budget: list[int], text: str) -> YamlDocument:
    doc = YamlDocument(name, None, {}, text=text)
    builder = _Builder(doc, budget)
    data = builder.value(node, ())
    if builder.problems:
        raise YamlProblems(builder.problems)
    doc.data = data
    return doc


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


class _Builder:
    """Builds Python data from composed nodes in one pass, recording marks as it goes.

    Strings, mappings and sequences (nearly all of a runbook) are built here directly; other
    scalars (ints, floats, booleans, null, timestamps) and merge keys go to PyYAML's safe
    constructor. An aliased node is built once and shared, as PyYAML does, and its expanded
    size still counts against the budget, so an alias bomb is refused without expanding it.
    """

    def __init__(self, doc: YamlDocument, budget: list[int]) -> None:
        import yaml

        self.yaml = yaml
        self.doc = doc
        self.budget = budget
        self.problems: list[Problem] = []
        self.built: dict[int, tuple[Any, int]] = {}  # id(node) -> (data, expanded size)
        self.active: set[int] = set()  # collections being built (a self-reference is refused)
        self.loader: Any = None

    def _fallback(self, node: Any) -> Any:
        if self.loader is None:
            self.loader = getattr(self.yaml, "CSafeLoader", self.yaml.SafeLoader)("")
        try:
            return self.loader.construct_object(node, deep=True)
        except self.yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or node.start_mark
            what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self._problem(mark, f"invalid YAML value: {what}")
            return None

    def _problem(self, mark: Any, message: str, loc: Loc = ()) -> None:
        self.problems.append(
            Problem(self.doc.path, mark.line + 1, mark.column + 1, message, format_loc(loc))
        )

    def _spend(self, size: int, node: Any) -> bool:
        self.budget[0] -= size
        if self.budget[0] >= 0:
            return True
        if not any("expands to more than" in p.message for p in self.problems):
            self._problem(
                node.start_mark, f"document expands to more than {MAX_NODES} values (alias bomb?)"
            )
        return False

    def value(self, node: Any, loc: Loc) -> Any:
        if id(node) in self.active:
            self._problem(node.start_mark, "an alias refers to the collection it is inside", loc)
            return None
        seen = self.built.get(id(node))
        if seen is not None:  # an alias: shared data, but its whole size counts
            self._spend(seen[1], node)
            return seen[0]
        if not self._spend(1, node):
            return None
        marks = self.doc.marks
        if loc not in marks:
            marks[loc] = Mark(node.start_mark.line + 1, node.start_mark.column + 1)
        start = self.budget[0]
        data: Any
        if isinstance(node, self.yaml.ScalarNode):  # most values: kept inline, it is the hot path
            data = node.value if node.tag == _STR else self._fallback(node)
        else:
            data = self._collection(node, loc)
            if data is _ABORT:
                return None
        self.built[id(node)] = (data, 1 + start - self.budget[0])
        return data

    def _collection(self, node: Any, loc: Loc) -> Any:
        """A list or dict built here, or a tagged collection built by PyYAML; _ABORT when the
        budget ran out or the node contains itself."""
        yaml = self.yaml
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            return self._sequence(node, loc)
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP and not _has_merge_key(node):
            return self._mapping(node, loc)
        return self._tagged(node, loc)

    def _sequence(self, node: Any, loc: Loc) -> Any:
        data: list[Any] = []
        self.active.add(id(node))
        for i, item in enumerate(node.value):
            data.append(self.value(item, (*loc, i)))
            if self.budget[0] < 0:
                return _ABORT
        self.active.discard(id(node))
        return data

    def _mapping(self, node: Any, loc: Loc) -> Any:
        data: dict[Any, Any] = {}
        marks = self.doc.marks
        self.active.add(id(node))
        scalar = self.yaml.ScalarNode
        for key_node, value_node in node.value:
            if key_node.tag == _STR and isinstance(key_node, scalar):  # nearly every key
                key = key_node.value
                if key in data:
                    self._problem(key_node.start_mark, f"duplicate key '{key}'", loc)
            else:
                key = self._other_key(key_node, data, loc)
                if key is _ABORT:
                    continue
            child = (*loc, str(key))
            if child not in marks:
                marks[child] = Mark(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            data[key] = self.value(value_node, child)
            if self.budget[0] < 0:
                return _ABORT
        self.active.discard(id(node))
        return data

    def _other_key(self, key_node: Any, data: dict[Any, Any], loc: Loc) -> Any:
        """A key that is not a plain string, as Python data; _ABORT (after a problem) for one
        that cannot be a key."""
        key = self._fallback(key_node)
        try:
            hash(key)
        except TypeError:
            self._problem(key_node.start_mark, "a mapping key must be a plain value", loc)
            return _ABORT
        if key in data:
            self._problem(key_node.start_mark, f"duplicate key '{key}'", loc)
        return key

    def _tagged(self, node: Any, loc: Loc) -> Any:
        """Tagged collections (!!set, !!omap) and merge keys: PyYAML's own rules. PyYAML would
        expand merge keys and !!omap pairs without any limit, so their size is counted first."""
        size = expanded_size(node, max(self.budget[0], 0) + 1)
        if size is None:
            self._problem(node.start_mark, "an alias refers to the collection it is inside", loc)
            return _ABORT
        if not self._spend(size - 1, node):
            return _ABORT
        return self._fallback(node)


_ABORT: Any = object()  # a collection given up on: the budget ran out or it contains itself


def _has_merge_key(node: Any) -> bool:
    return any(k.tag == _MERGE for k, _ in node.value)


def expanded_size(root: Any, limit: int) -> int | None:
    """How many values ``root`` stands for once every alias and merge key is expanded, counted
    on the node graph (each node once, so the count costs the graph's size, not the
    expansion's); stops counting past ``limit``. None for a node that contains itself."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if children_done:
            active.discard(key)
            total = 1
            for child in children:
                total += sizes[id(child)]
                if total > limit:
                    total = limit + 1
                    break
            sizes[key] = total
            continue
        if key in active:
            return None
        active.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, list):  # sequence items, or mapping (key, value) pairs
        out: list[Any] = []
        for item in value:
            out.extend(item if isinstance(item, tuple) else (item,))
        return out
    return []


def pydantic_problems(doc: YamlDocument, exc: Any, prefix: Loc = ()) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into located problems, one per error."""
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        full = (*prefix, *loc)
        msg = str(err["msg"])
        if err["type"] == "extra_forbidden":
            msg = f"unknown field '{loc[-1]}'"
            out.append(doc.problem(full, msg))
            continue
        if err["type"] == "missing":
            out.append(doc.problem(full, f"missing required field '{loc[-1]}'"))
            continue
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append(doc.problem(full, msg))
    return out
