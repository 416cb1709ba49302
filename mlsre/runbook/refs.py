"""What a runbook template or expression refers to, found by parsing it with Jinja2 (not rendering).

``analyze_template("rate(x{model='{{ inputs.model }}'}[5m])")`` returns the names, inputs, steps,
filters and tests it uses, or the syntax error. Results are cached by text: a library repeats the
same few templates (``{{ inputs.model }}``) hundreds of times, and parsing is the slow part.
Bare expressions in the common subset (``steps['a'].failed and value < inputs.max``) are read by
a small parser below that gives the same answer as Jinja's, ten times faster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# `{{ inputs.model }}`, `{{ steps['p99'].output }}`: by far the most common case; no Jinja needed.
_SIMPLE_SEGMENT = re.compile(
    r"\{\{-?\s*(inputs|steps|incident)((?:\.[A-Za-z_][A-Za-z0-9_]*|\['[^'\\]*'\]|\[\"[^\"\\]*\"\])*)\s*-?\}\}"
)
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
    fast = _fast_expression(text)
    return fast if fast is not None else _jinja_expression(text)


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
    for m in _SIMPLE_SEGMENT.finditer(text):
        if m.start() > 0 and text[m.start() - 1] == "{":
            return None  # `{{{`: Jinja reads `{{` then a `{`; let it report that
        lineno = text.count("\n", 0, m.start()) + 1
        root, parts = m.group(1), [a or b or c for a, b, c in _PART.findall(m.group(2))]
        names.add(root)
        if root == "inputs" and parts:
            inputs.append((parts[0], lineno))
        elif root == "steps" and parts:
            steps.append(StepRef(parts[0], parts[1] if len(parts) > 1 else None, lineno))
    return Analysis(names=frozenset(names), inputs=tuple(inputs), steps=tuple(steps))


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


# --- Fast path for bare expressions --------------------------------------------------------------
# Jinja's lexer and parser cost about 0.7 ms per `when:`/`expect:`, and step ids make nearly every
# expression of a library distinct. This reads a subset of Jinja's expression syntax into a tree
# that `_fast_analysis` walks in the order `_collect` walks Jinja's nodes. Anything outside the
# subset, or invalid, raises `_Unsure` and Jinja decides (and words the error).
#
# Binary operators (`or and == < in not in + - * / // % **`) are read as one flat list of operands,
# without precedence: their nodes hold nothing `_collect` looks at and keep their operands in
# source order, so any grouping yields the same walk, and the root is an operand only when there
# is no operator at all. What happens inside an operand follows Jinja's parse_unary exactly.

# A token is its own text: a name (keywords included), a number, a quoted string or an operator.
_TOKEN = re.compile(
    r"[ \t\n\f\v]*("
    r"[A-Za-z_][A-Za-z0-9_]*"
    r"|(?:0|[1-9][0-9]*)(?:\.[0-9]+)?"  # no `1_000`, `1e3`, `0x1f`, `00`: those lex differently
    r"|'[^'\\]*'|\"[^\"\\]*\""  # no escapes: Jinja decodes those itself
    r"|\*\*|//|[=!<>]=|[-+*/%<>.\[\]()|,]"  # longest first, as Jinja's operator_re
    r"|[^ \t\n\f\v])"  # any other character, which no rule below accepts
)
_EOF = ""
_FIRST_CHAR = {
    **dict.fromkeys("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "name"),
    **dict.fromkeys("0123456789", "num"),
    **dict.fromkeys("'\"", "str"),
}
# Names Jinja's parser tests for: never a Name node here.
_KEYWORDS = frozenset(("and", "or", "not", "in", "is", "if", "else"))
_BINARY = frozenset(
    ("or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*", "/", "//", "%", "**")
)
_CONSTANTS: dict[str, object] = {
    "true": True,
    "True": True,
    "false": False,
    "False": False,
    "none": None,
    "None": None,
}
# Jinja's parser recurses about 12 calls deep per bracket (and one per `not` or sign), and its
# tree walk once per level: deep enough, it hits RecursionError (reported as too deep), which the
# fast path must not paper over. At these sizes it is far from that; longer text goes to Jinja.
_MAX_NESTING = 20
_MAX_TOKENS = 200


class _Unsure(Exception):
    """The fast path cannot vouch for this text: Jinja reads it instead."""


@dataclass(slots=True)
class _Node:
    kind: str  # name, const, attr (`x.a`), item (`x[a]`), filter, op (any operator)
    kids: tuple[_Node, ...] = ()  # in the order of the Jinja node's fields
    text: str = ""  # the name, attribute or filter name
    const: object = None
    lineno: int = 1


def _fast_expression(text: str) -> Analysis | None:
    """Analysis of an expression in the subset, identical to `_jinja_expression`'s, else None."""
    try:
        return _fast_analysis(_ExprReader(text).read())
    except _Unsure:
        return None


class _ExprReader:
    """Jinja's Parser.parse_expression, for the subset. A token it does not expect raises
    `_Unsure`, and so does one nothing consumes: `read` insists on reaching the end. So what
    the subset lacks needs no check of its own: `x | f.g`, `'a' 'b'`, `a ~ b` all stop there."""

    def __init__(self, text: str) -> None:
        if "\r" in text:  # Jinja's lexer normalises newlines before counting lines
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.tokens: list[str] = _TOKEN.findall(text)
        if len(self.tokens) > _MAX_TOKENS:
            raise _Unsure
        self.tokens.append(_EOF)
        self.text = text
        self.starts = [m.start(1) for m in _TOKEN.finditer(text)] if "\n" in text else None
        self.i = 0
        self.nesting = 0

    def lineno(self, i: int) -> int:
        return 1 if self.starts is None else self.text.count("\n", 0, self.starts[i]) + 1

    def read(self) -> _Node:
        node = self.parse_expression()
        if self.tokens[self.i] != _EOF:
            raise _Unsure  # `if` (a conditional), a test, a call, or a syntax error
        return node

    def parse_expression(self) -> _Node:
        """Jinja's parse_or down to parse_pow, flat (see above); no conditional expression."""
        tokens = self.tokens
        operands: list[_Node] = []
        negated = False
        operator = "and"  # the one before this operand
        while True:
            if tokens[self.i] == "not":
                # `not` starts an operand of `and`/`or` only: in `a + not b` it is a Name 'not'
                if operator != "and" and operator != "or":
                    raise _Unsure
                while tokens[self.i] == "not":
                    self.i += 1
                negated = True
            operands.append(self.parse_unary())
            operator = tokens[self.i]
            if operator in _BINARY:
                self.i += 1
            elif operator == "not" and tokens[self.i + 1] == "in":
                self.i += 2
            else:
                break
        if len(operands) == 1 and not negated:
            return operands[0]
        return _Node("op", tuple(operands))

    def parse_unary(self, with_filter: bool = True) -> _Node:
        # `-x.y | abs` is `(-(x.y)) | abs`: the sign takes the postfix, filters apply outside it.
        if self.tokens[self.i] in ("-", "+"):
            self.i += 1
            node = _Node("op", (self.parse_unary(False),))
        else:
            node = self.parse_postfix(self.parse_primary())
        return self.parse_filters(node) if with_filter else node

    def parse_primary(self) -> _Node:
        token = self.tokens[self.i]
        kind = _FIRST_CHAR.get(token[:1])
        self.i += 1
        if kind == "name" and token not in _KEYWORDS:  # Jinja reads `- not` as a Name 'not'
            if token in _CONSTANTS:
                return _Node("const", const=_CONSTANTS[token])
            return _Node("name", text=token)
        if kind == "str" and len(token) > 1:  # not a lone quote; 'a' 'b' stops at the second
            return _Node("const", const=token[1:-1])
        if kind == "num":
            return _Node("const", const=float(token) if "." in token else int(token))
        if token == "(":  # a tuple or `()` is not in the subset: `)` must follow
            self.nest()
            node = self.parse_expression()
            self.close(")")
            return node
        raise _Unsure  # `[` (a list), a keyword, the end, an unknown character

    def parse_postfix(self, node: _Node) -> _Node:
        tokens = self.tokens
        while True:
            token, at = tokens[self.i], self.i
            if token == ".":
                # any name, keywords too (`x.and`); `x.0` is a Getitem, left to Jinja
                attr = tokens[at + 1]
                if _FIRST_CHAR.get(attr[:1]) != "name":
                    raise _Unsure
                self.i += 2
                node = _Node("attr", (node,), text=attr, lineno=self.lineno(at))
            elif token == "[":  # one expression: no slice, no tuple, not empty
                self.i += 1
                self.nest()
                arg = self.parse_expression()
                self.close("]")
                node = _Node("item", (node, arg), lineno=self.lineno(at))
            elif token == "(":
                raise _Unsure  # a call
            else:
                return node

    def parse_filters(self, node: _Node) -> _Node:
        tokens = self.tokens
        while True:
            token = tokens[self.i]
            if token == "|":
                at = self.i + 1
                name = tokens[at]
                if _FIRST_CHAR.get(name[:1]) != "name":  # `| f.g` stops at the `.`
                    raise _Unsure
                self.i += 2
                args = self.parse_filter_args() if tokens[self.i] == "(" else ()
                node = _Node("filter", (node, *args), text=name, lineno=self.lineno(at))
            elif token == "(" or token == "is":
                raise _Unsure  # a call on the filtered value, or a test
            else:
                return node

    def parse_filter_args(self) -> tuple[_Node, ...]:
        """Positional arguments; `*x`, `**x` and `k=v` fail to parse here and go to Jinja."""
        self.i += 1
        self.nest()
        args: list[_Node] = []
        while self.tokens[self.i] != ")":
            if args:
                self.expect(",")
                if self.tokens[self.i] == ")":  # a trailing comma, as Jinja allows
                    break
            args.append(self.parse_expression())
        self.close(")")
        return tuple(args)

    def nest(self) -> None:
        """Count an open bracket; `close` uncounts it."""
        self.nesting += 1
        if self.nesting > _MAX_NESTING:
            raise _Unsure

    def expect(self, token: str) -> None:
        if self.tokens[self.i] != token:
            raise _Unsure
        self.i += 1

    def close(self, bracket: str) -> None:
        self.expect(bracket)
        self.nesting -= 1


def _fast_analysis(root: _Node) -> Analysis:
    """`_collect` and `_jinja_expression` over a `_Node` tree, in one walk in Jinja's find_all
    order (a node, then its fields' nodes). A `root.key` lookup needs no `root in names` test:
    nothing in an expression binds a name, so its Name is always a free one."""
    names: set[str] = set()
    inputs: list[tuple[str, int]] = []
    field_refs: list[StepRef] = []  # `steps.x.field` (the outer node), before
    bare_refs: list[StepRef] = []  # `steps.x` not inside such a node
    filters: list[tuple[str, int]] = []
    inside_field_ref: _Node | None = None
    todo = [root]
    while todo:
        node = todo.pop()
        kind, kids = node.kind, node.kids
        if kind == "attr" or kind == "item":
            inner = kids[0]
            if inner.kind == "name":
                key = _lookup_key(node)
                if key is None:
                    pass
                elif inner.text == "inputs":
                    inputs.append((key, node.lineno))
                elif inner.text == "steps" and node is not inside_field_ref:
                    bare_refs.append(StepRef(key, None, node.lineno))
            elif kind == "attr" and (step := _lookup_key(inner, "steps")) is not None:
                field_refs.append(StepRef(step, node.text, node.lineno))
                inside_field_ref = inner  # the next node walked: counted already
        elif kind == "name":
            names.add(node.text)
        elif kind == "filter":
            filters.append((node.text, node.lineno))
        if kids:
            todo.extend(reversed(kids))
    failed = root.kind == "attr" and root.text == "failed"
    return Analysis(
        names=frozenset(names),
        inputs=tuple(inputs),
        steps=(*field_refs, *bare_refs),
        filters=tuple(filters),
        only_failed_of=_lookup_key(root.kids[0], "steps") if failed else None,
    )


def _lookup_key(node: _Node, root: str | None = None) -> str | None:
    """`_root_key` for a `_Node`: ``root.key`` or ``root['key']`` -> 'key' (any root if None)."""
    if node.kind != "attr" and node.kind != "item":
        return None
    inner = node.kids[0]
    if inner.kind != "name" or (root is not None and inner.text != root):
        return None
    if node.kind == "attr":
        return node.text
    arg = node.kids[1]
    return arg.const if arg.kind == "const" and isinstance(arg.const, str) else None
