"""What a runbook template or expression refers to, found by parsing it with Jinja2 (not rendering).

``analyze_template("rate(x{model='{{ inputs.model }}'}[5m])")`` returns the names, inputs, steps,
filters and tests it uses, or the syntax error. Results are cached by text: a library repeats the
same few templates (``{{ inputs.model }}``) hundreds of times, and parsing is the slow part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# `{{ inputs.model }}`, `{{ steps['p99'].output }}`: by far the most common case; no Jinja needed.
_SIMPLE_SEGMENT = re.compile(
    r"\{\{-?\s*(inputs|steps|incident)((?:\.[A-Za-z_][A-Za-z0-9_]*|\['[^'\\]*'\]|\[\"[^\"\\]*\"\])*)"
    r"((?:\s*\|\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*-?\}\}"  # then filters without arguments
)
_FILTER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\['([^']*)'\]|\[\"([^\"]*)\"\]")


@dataclass(frozen=True)
class StepRef:
    step: str
    field: str | None  # `output`, `failed`, ... (None: the whole result)
    lineno: int


@dataclass(frozen=True)
class Analysis:
    error: str | None = None
    error_line: int = 1
    names: frozenset[str] = frozenset()  # undeclared top-level names
    inputs: tuple[tuple[str, int], ...] = ()  # (input name, line in the template)
    steps: tuple[StepRef, ...] = ()
    filters: tuple[tuple[str, int], ...] = ()
    tests: tuple[tuple[str, int], ...] = ()
    # An expression that is exactly `steps[X].failed` (used for reachability).
    only_failed_of: str | None = field(default=None)


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


class _AnyName(dict[str, Any]):
    """Filter/test table that claims to know every name, so analysis never stops at an unknown
    filter; the validator reports unknown filters itself, with a suggestion."""

    def __contains__(self, key: object) -> bool:
        return True

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key) or _unknown


def _unknown(*args: Any, **kwargs: Any) -> None:
    return None


def _env() -> Any:
    global _ENV
    if _ENV is None:
        from jinja2 import Environment

        env = Environment()
        _KNOWN["filters"] = frozenset(env.filters)
        _KNOWN["tests"] = frozenset(env.tests)
        env.filters = _AnyName(env.filters)
        env.tests = _AnyName(env.tests)
        _ENV = env
    return _ENV


_ENV: Any = None
_KNOWN: dict[str, frozenset[str]] = {}


def known_filters() -> frozenset[str]:
    _env()
    return _KNOWN["filters"]


# Jinja2 3.1's built-in filters (pyproject asks for >=3.1). A name in this set needs no Jinja;
# any other name is looked up in Jinja's own table, so importing Jinja (about 0.1 s, a fifth
# of validating a large library in one process) waits until a template really needs it.
_JINJA_31_FILTERS = frozenset(
    [
        "abs",
        "attr",
        "batch",
        "capitalize",
        "center",
        "count",
        "d",
        "default",
        "dictsort",
        "e",
        "escape",
        "filesizeformat",
        "first",
        "float",
        "forceescape",
        "format",
        "groupby",
        "indent",
        "int",
        "items",
        "join",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "pprint",
        "random",
        "reject",
        "rejectattr",
        "replace",
        "reverse",
        "round",
        "safe",
        "select",
        "selectattr",
        "slice",
        "sort",
        "string",
        "striptags",
        "sum",
        "title",
        "tojson",
        "trim",
        "truncate",
        "unique",
        "upper",
        "urlencode",
        "urlize",
        "wordcount",
        "wordwrap",
        "xmlattr",
    ]
)


def is_jinja_filter(name: str) -> bool:
    return name in _JINJA_31_FILTERS or name in known_filters()


def known_tests() -> frozenset[str]:
    _env()
    return _KNOWN["tests"]


_TOO_DEEP = Analysis(error="nested too deeply to read")


@lru_cache(maxsize=8192)
def analyze_template(text: str) -> Analysis:
    """Refs of a template string (text with ``{{ }}`` / ``{% %}`` tags)."""
    try:
        return _analyze_template(text)
    except RecursionError:  # Jinja's parser is recursive: ((((...)))) thousands deep
        return _TOO_DEEP


def _analyze_template(text: str) -> Analysis:
    if not is_template(text):
        return Analysis()
    if "{%" not in text and "{#" not in text:
        fast = _simple(text)
        if fast is not None:
            return fast
    from jinja2 import TemplateSyntaxError

    try:
        ast = _env().parse(text)
    except TemplateSyntaxError as exc:
        return Analysis(error=exc.message or "syntax error", error_line=exc.lineno or 1)
    return _collect(ast)


# Number literals outside quotes: `value < 0.3` and `value < 0.4` have the same structure.
_NUMBERS = re.compile(r"'[^'\\]*'|\"[^\"\\]*\"|(?<![\w.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


@lru_cache(maxsize=8192)
def analyze_expression(text: str) -> Analysis:
    """Refs of a bare expression (``when``, ``expect``), e.g. ``value < 0.3``.

    Thresholds differ far more often than structure, so the analysis is cached by the
    expression with its numbers blanked; an error is re-read from the original text so its
    message quotes what the person wrote. Blanking costs about a tenth of reading an expression,
    so the same text (common: a library repeats its expressions) skips it too.
    """
    shape = _NUMBERS.sub(lambda m: m.group(0) if m.group(0)[0] in "'\"" else "0", text)
    out = _analyze_expression(shape)
    return _analyze_expression(text) if out.error is not None and shape != text else out


@lru_cache(maxsize=8192)
def _analyze_expression(text: str) -> Analysis:
    try:
        return _parse_expression(text)
    except RecursionError:
        return _TOO_DEEP


def _parse_expression(text: str) -> Analysis:
    return _jinja_expression(text)


def _jinja_expression(text: str) -> Analysis:
    from jinja2 import TemplateSyntaxError, nodes
    from jinja2.parser import Parser

    env = _env()
    try:
        parser = Parser(env, text, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            tok = parser.stream.current
            raise TemplateSyntaxError(f"unexpected '{tok.value}' after the expression", tok.lineno)
    except TemplateSyntaxError as exc:
        return Analysis(error=exc.message or "syntax error", error_line=exc.lineno or 1)
    tpl = nodes.Template([nodes.Output([expr])], lineno=1)
    tpl.set_environment(env)
    out = _collect(tpl)
    ref = _step_of(expr)
    if isinstance(expr, nodes.Getattr) and expr.attr == "failed" and ref is not None:
        out = Analysis(**{**out.__dict__, "only_failed_of": ref})
    return out


def _simple(text: str) -> Analysis | None:
    """Analyse text whose every tag is a plain variable path; None when Jinja must do it."""
    body = _SIMPLE_SEGMENT.sub("", text)
    if "{{" in body or "}}" in body:
        return None
    names: set[str] = set()
    inputs: list[tuple[str, int]] = []
    steps: list[StepRef] = []
    filters: list[tuple[str, int]] = []
    for m in _SIMPLE_SEGMENT.finditer(text):
        if m.start() > 0 and text[m.start() - 1] == "{":
            return None  # `{{{`: Jinja reads `{{` then a `{`; let it report that
        lineno = text.count("\n", 0, m.start()) + 1
        root, parts = m.group(1), [a or b or c for a, b, c in _PART.findall(m.group(2))]
        names.add(root)
        filters.extend((f, lineno) for f in _FILTER_NAME.findall(m.group(3)))
        if root == "inputs" and parts:
            inputs.append((parts[0], lineno))
        elif root == "steps" and parts:
            steps.append(StepRef(parts[0], parts[1] if len(parts) > 1 else None, lineno))
    return Analysis(
        names=frozenset(names), inputs=tuple(inputs), steps=tuple(steps), filters=tuple(filters)
    )


def _step_of(node: Any) -> str | None:
    """``steps.x`` / ``steps['x']`` inside ``node`` (a Getattr on it) -> 'x'."""
    from jinja2 import nodes

    inner = node.node if isinstance(node, nodes.Getattr) else None
    return _root_key(inner, "steps") if inner is not None else None


def _root_key(node: Any, root: str) -> str | None:
    """``root.key`` or ``root['key']`` -> 'key'."""
    from jinja2 import nodes

    if (
        isinstance(node, nodes.Getattr)
        and isinstance(node.node, nodes.Name)
        and node.node.name == root
    ):
        return str(node.attr)
    if (
        isinstance(node, nodes.Getitem)
        and isinstance(node.node, nodes.Name)
        and node.node.name == root
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        return node.arg.value
    return None


def _free_names(ast: Any) -> frozenset[str]:
    """Names read but never assigned. Without `{% for/set/macro %}` nothing binds a name, so a
    walk of the tree does; otherwise Jinja's own (slower) scope analysis."""
    from jinja2 import meta, nodes

    binders = (nodes.For, nodes.Assign, nodes.AssignBlock, nodes.Macro, nodes.CallBlock, nodes.With)
    if any(True for _ in ast.find_all(binders)):
        return frozenset(meta.find_undeclared_variables(ast))
    return frozenset(n.name for n in ast.find_all(nodes.Name) if n.ctx == "load")


def _collect(ast: Any) -> Analysis:
    from jinja2 import nodes

    names = _free_names(ast)
    inputs: list[tuple[str, int]] = []
    steps: list[StepRef] = []
    seen_step_nodes: set[int] = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        key = _root_key(node, "inputs")
        if key is not None and "inputs" in names:
            inputs.append((key, node.lineno))
            continue
        # `steps.x.field`: the outer node carries the field; record it once, with the field.
        ref = _step_of(node)
        if ref is not None and "steps" in names:
            attr = node.attr if isinstance(node, nodes.Getattr) else None
            steps.append(StepRef(ref, attr, node.lineno))
            seen_step_nodes.add(id(node.node))
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        key = _root_key(node, "steps")
        if key is not None and "steps" in names and id(node) not in seen_step_nodes:
            steps.append(StepRef(key, None, node.lineno))
    filters = tuple((f.name, f.lineno) for f in ast.find_all(nodes.Filter))
    tests = tuple((t.name, t.lineno) for t in ast.find_all(nodes.Test))
    return Analysis(
        names=names, inputs=tuple(inputs), steps=tuple(steps), filters=filters, tests=tests
    )


def template_strings(value: Any) -> Iterator[str]:
    """Every string inside a step's ``with`` block (nested mappings and lists), where
    templates live."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from template_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from template_strings(v)
