"""What a PromQL query needs from Prometheus: metrics, label matchers, and labels it groups by.

Parsed with ``promql-parser`` (Prometheus's own grammar, in Rust); Prometheus 2.42 has no
``/api/v1/parse_query``. A query the parser cannot read yields nothing to check, never an error:
Prometheus itself is the judge of whether a query is valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str  # = != =~ !~
    value: str


@dataclass(frozen=True)
class Selector:
    metric: str | None
    matchers: tuple[Matcher, ...] = ()


@dataclass(frozen=True)
class Grouping:
    """``sum by (labels) (...)``: the labels must exist on the metrics beneath."""

    labels: tuple[str, ...]
    metrics: tuple[str, ...]
    text: str  # e.g. "sum by (le, version)"


@dataclass(frozen=True)
class QueryNeeds:
    selectors: tuple[Selector, ...] = ()
    groupings: tuple[Grouping, ...] = field(default_factory=tuple)

    @property
    def metrics(self) -> list[str]:
        return sorted({s.metric for s in self.selectors if s.metric})


_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def _op(op: Any) -> str:
    name = str(op).rsplit(".", 1)[-1]
    return _OPS.get(name, name)


def _selector(node: Any) -> Selector:
    matchers = []
    metric = node.name or None
    for m in node.matchers.matchers:
        if m.name == "__name__" and _op(m.op) == "=":
            metric = metric or m.value
            continue
        matchers.append(Matcher(m.name, _op(m.op), m.value))
    return Selector(metric, tuple(matchers))


def _selectors_under(node: Any) -> list[Selector]:
    import promql_parser as pp

    found: list[Selector] = []

    def visit(n: Any) -> None:
        if isinstance(n, pp.VectorSelector):
            found.append(_selector(n))

    pp.walk(node, pre_visit=visit)
    return found


def _groups_by(modifier: Any) -> bool:
    return (
        modifier is not None
        and str(modifier.type).rsplit(".", 1)[-1] == "By"
        and bool(modifier.labels)
    )


@lru_cache(maxsize=1024)
def query_needs(query: str) -> QueryNeeds | None:
    """The selectors and groupings of ``query``; None when the parser cannot read it."""
    try:
        import promql_parser as pp

        ast = pp.parse(query)
    except Exception:  # the library raises its own types; Prometheus will explain the query
        return None
    selectors: list[Selector] = []
    groupings: list[Grouping] = []

    def visit(n: Any) -> None:
        if isinstance(n, pp.VectorSelector):
            selectors.append(_selector(n))
        elif isinstance(n, pp.AggregateExpr) and _groups_by(n.modifier):
            under = _selectors_under(n.expr)
            labels = tuple(n.modifier.labels) if n.modifier is not None else ()
            metrics = tuple(sorted({s.metric for s in under if s.metric}))
            op = str(n.op).rsplit(".", 1)[-1].lower()
            groupings.append(Grouping(labels, metrics, f"{op} by ({', '.join(labels)})"))

    try:
        pp.walk(ast, pre_visit=visit)
    except Exception:
        return None
    return QueryNeeds(tuple(selectors), tuple(groupings))
