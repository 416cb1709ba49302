"""Safe YAML loading that remembers where every value came from.

Runbooks, SLO files and ``mlsre.yaml`` are all read through :func:`load_yaml`, so every error
can point at ``file:line:column`` and the field path. Loading is safe (no Python tags), refuses
files that are too large, not text, or that expand through aliases into a "YAML bomb".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlsre.errors import ValidationError

MAX_BYTES = 5 * 1024 * 1024
# YAML's own line breaks (str.splitlines also splits on \x1c-\x1e, \x0b, \x0c: YAML does not).
_YAML_LINES = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
MAX_NODES = 200_000

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
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


@dataclass
class YamlDocument:
    path: str
    data: Any
    marks: dict[Loc, Mark] = field(default_factory=dict)

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
    return _build(nodes[0], name, [MAX_NODES])


def parse_yaml_all(text: str, name: str) -> list[YamlDocument]:
    """Parse every document of a ``---``-separated stream (empty documents are dropped).

    Formats such as OpenSLO keep several objects in one file; marks stay file-relative.
    """
    nodes = [n for n in _compose(text, name) if n is not None]
    budget = [MAX_NODES]  # shared, so many small documents cannot add up to a bomb either
    docs = [_build(node, name, budget) for node in nodes]
    docs = [d for d in docs if d.data is not None]  # a stray `---` at the end is not an object
    if not docs:
        raise YamlProblems([Problem(name, 1, 1, "file is empty")])
    return docs


def _compose(text: str, name: str) -> list[Any]:
    import yaml

    loader_cls: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if "\t" in text:
        for lineno, raw_line in enumerate(_YAML_LINES.split(text), start=1):
            indent = raw_line[: len(raw_line) - len(raw_line.lstrip(" \t"))]
            if "\t" in indent and raw_line.strip():
                col = indent.index("\t") + 1
                raise YamlProblems(
                    [Problem(name, lineno, col, "tab used for indentation; YAML needs spaces")]
                )
    try:
        return list(yaml.compose_all(text, Loader=loader_cls))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        raise YamlProblems([Problem(name, line, col, f"invalid YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise YamlProblems(
            [Problem(name, 1, 1, f"invalid YAML: {str(exc).splitlines()[0]}")]
        ) from None


def _build(node: Any, name: str, budget: list[int]) -> YamlDocument:
    import yaml

    loader_cls: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = YamlDocument(path=name, data=None)
    problems: list[Problem] = []
    _walk(node, (), doc, problems, budget)
    if problems:
        raise YamlProblems(problems)
    loader = loader_cls("")
    try:
        doc.data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlProblems([Problem(name, line, col, f"invalid YAML value: {what}")]) from None
    return doc


def _walk(
    node: Any, loc: Loc, doc: YamlDocument, problems: list[Problem], budget: list[int]
) -> None:
    import yaml

    budget[0] -= 1
    if budget[0] < 0:
        if not any("expands to more than" in p.message for p in problems):
            m = node.start_mark
            problems.append(
                Problem(
                    doc.path,
                    m.line + 1,
                    m.column + 1,
                    f"document expands to more than {MAX_NODES} values (alias bomb?)",
                )
            )
        return
    doc.marks.setdefault(loc, Mark(node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key in seen and key != "<<":
                m = key_node.start_mark
                problems.append(
                    Problem(
                        doc.path,
                        m.line + 1,
                        m.column + 1,
                        f"duplicate key '{key}'",
                        format_loc(loc),
                    )
                )
            seen.add(key)
            child = (*loc, key)
            doc.marks.setdefault(
                child, Mark(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            )
            _walk(value_node, child, doc, problems, budget)
            if budget[0] < 0:
                return
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*loc, i), doc, problems, budget)
            if budget[0] < 0:
                return


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
