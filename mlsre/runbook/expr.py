"""A reader of our own for the simple expressions runbooks use in ``when:`` and ``expect:``.

Jinja's lexer and parser cost about 0.7 ms per expression, and step ids make nearly every
expression of a library distinct. This reads a subset of Jinja's expression syntax into a tree
that `_fast_analysis` walks in the order :func:`mlsre.runbook.refs._collect` walks Jinja's nodes.
Anything outside the subset, or invalid, raises `_Unsure`, and Jinja decides (and words the
error). ``tests/runbook/test_refs_fast.py`` holds the two to identical answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlsre.runbook.refs import Analysis, StepRef

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


def fast_expression(text: str) -> Analysis | None:
    """Analysis of an expression in the subset, identical to Jinja's reading, else None."""
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
