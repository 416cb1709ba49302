"""Why a query finds nothing: unknown metric, a label the metric lacks, a label value not there.

Answers come from Prometheus's metadata API (metric names, label names and values of the series
of one metric, over the hour before the evaluation time), each asked once per preflight however
many runbooks share the metric.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any, TypeVar

from mlsre.errors import MlsreError
from mlsre.integrations.prometheus import PrometheusClient
from mlsre.preflight.promql import Grouping, Matcher, QueryNeeds, Selector
from mlsre.preflight.report import CheckStatus, Finding

T = TypeVar("T")
WINDOW = timedelta(hours=1)  # a series exported in the hour before counts as existing
SHOWN_VALUES = 8


class Memo:
    """Each key fetched once, however many threads ask at the same time (errors are kept too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._memo: dict[tuple[str, ...], Future[Any]] = {}

    def get(self, key: tuple[str, ...], fetch: Callable[[], T]) -> T:
        with self._lock:
            future = self._memo.get(key)
            owner = future is None
            if future is None:
                future = self._memo[key] = Future()
        if owner:
            try:
                future.set_result(fetch())
            except BaseException as exc:
                future.set_exception(exc)
        result: T = future.result()
        return result


class Metadata:
    """Metric names, and labels and values per metric, memoised and safe to share by threads."""

    def __init__(self, client: PrometheusClient, at: datetime) -> None:
        self.client = client
        self.start, self.end = at - WINDOW, at
        self._once = Memo().get

    def metric_names(self) -> list[str]:
        return self._once(
            ("names",), lambda: self.client.label_values("__name__", None, self.start, self.end)
        )

    def labels(self, metric: str) -> list[str]:
        return self._once(
            ("labels", metric),
            lambda: [
                n
                for n in self.client.label_names(_match(metric), self.start, self.end)
                if n != "__name__"
            ],
        )

    def values(self, metric: str, label: str) -> list[str]:
        return self._once(
            ("values", metric, label),
            lambda: self.client.label_values(label, _match(metric), self.start, self.end),
        )


def _match(metric: str) -> str:
    return "{__name__=" + _quote(metric) + "}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def close(word: str, options: list[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    return difflib.get_close_matches(word, options, n=n, cutoff=cutoff)


SUFFIXES = ("_bucket", "_count", "_sum", "_total")


GENERIC_WORDS = frozenset({"model", "total", "bucket", "count", "sum", "info"})


def _words(name: str) -> set[str]:
    return {w for w in name.lower().split("_") if w and w not in GENERIC_WORDS}


def _metric_candidates(metric: str, names: list[str]) -> list[str]:
    """Metric names that could be the one meant, best first.

    Same kind of series (``_bucket`` for ``_bucket``, no histogram/counter suffix for a gauge),
    and at least one word in common besides generic ones (``requests`` in
    ``model_requests_total`` and ``inference_requests_total``) or a typo away; then by
    similarity.
    """
    suffix = next((s for s in SUFFIXES if metric.endswith(s)), "")
    if suffix:
        pool = [n for n in names if n.endswith(suffix)]
    else:
        pool = [n for n in names if not n.endswith(SUFFIXES)]
    words = _words(metric)
    typos = set(close(metric, pool, n=5, cutoff=0.8))
    related = [n for n in pool if n != metric and (words & _words(n) or n in typos)]

    def similarity(name: str) -> float:
        return difflib.SequenceMatcher(None, metric, name).ratio()

    return sorted(related, key=similarity, reverse=True)[:5]


def diagnose(needs: QueryNeeds, meta: Metadata) -> list[Finding]:
    """What is missing for the query to find data (empty when everything it names exists)."""
    findings: list[Finding] = []
    names = set(meta.metric_names())
    known: set[str] = set()
    for sel in needs.selectors:
        if sel.metric is None:
            continue
        if sel.metric not in names:
            if all(f.metric != sel.metric for f in findings):
                findings.append(_unknown_metric(sel, sorted(names), meta))
            continue
        known.add(sel.metric)
        findings.extend(_selector_findings(sel, meta))
    for group in needs.groupings:
        findings.extend(_grouping_findings(group, meta, known))
    unique: dict[tuple[Any, ...], Finding] = {}
    for f in findings:
        unique.setdefault((f.status, f.metric, f.label, f.value), f)
    return list(unique.values())


def _carries(metric: str, values: list[str], meta: Metadata) -> bool:
    """Does some series of ``metric`` have each of ``values`` in some label?"""
    try:
        have = {v for lb in meta.labels(metric) for v in meta.values(metric, lb)}
    except MlsreError:
        return False
    return all(v in have for v in values)


def _unknown_metric(sel: Selector, names: list[str], meta: Metadata) -> Finding:
    """An unknown metric; close names first that carry the values the query selects on."""
    metric = sel.metric or ""
    mean = _metric_candidates(metric, names)
    wanted = [m.value for m in sel.matchers if m.op == "=" and m.value]
    if wanted and len(mean) > 1:
        mean = sorted(mean, key=lambda c: not _carries(c, wanted, meta))
    mean = mean[:3]
    return Finding(
        CheckStatus.UNKNOWN_METRIC,
        f"metric {metric} has no series in Prometheus{_hint(mean)}",
        metric=metric,
        did_you_mean=mean,
    )


def _absent_matches(m: Matcher) -> bool:
    """Does a series WITHOUT this label satisfy the matcher (the label reads as "")?"""
    if m.op == "=":
        return m.value == ""
    if m.op == "!=":
        return m.value != ""
    try:
        hit = re.fullmatch(m.value, "") is not None
    except re.error:
        return True
    return hit if m.op == "=~" else not hit


def _selector_findings(sel: Selector, meta: Metadata) -> list[Finding]:
    assert sel.metric is not None
    labels = meta.labels(sel.metric)
    out: list[Finding] = []
    for m in sel.matchers:
        if m.label not in labels:
            finding = _missing_label(m, sel.metric, labels, meta)
        else:
            finding = _unmatched_value(m, sel.metric, meta)
        if finding is not None:
            out.append(finding)
    return out


def _hint(mean: list[str]) -> str:
    """' — did you mean 'a', 'b'?' after a finding's message, or nothing."""
    return f" — did you mean {', '.join(repr(x) for x in mean)}?" if mean else ""


def _missing_label(m: Matcher, metric: str, labels: list[str], meta: Metadata) -> Finding | None:
    """The metric has no label ``m.label``: a finding, unless the matcher accepts its absence."""
    if _absent_matches(m):
        return None
    carriers = [lb for lb in labels if _matches(m, meta.values(metric, lb))]
    mean = carriers or close(m.label, labels)
    return Finding(
        CheckStatus.MISSING_LABEL,
        f"{metric} has no label {m.label!r} (its labels: {', '.join(labels) or 'none'})"
        + _hint(mean),
        metric=metric,
        label=m.label,
        did_you_mean=mean,
    )


def _unmatched_value(m: Matcher, metric: str, meta: Metadata) -> Finding | None:
    """An = or =~ matcher that no series of the metric satisfies, or None."""
    if m.op not in ("=", "=~"):
        return None
    values = meta.values(metric, m.label)
    found = m.value in values if m.op == "=" else _any_match(m.value, values)
    if found:
        return None
    mean = close(m.value, values) if m.op == "=" else []
    shown = ", ".join(values[:SHOWN_VALUES]) + (" ..." if len(values) > SHOWN_VALUES else "")
    # A pattern (code=~"5..") may match nothing only because nothing failed lately: a
    # counter's 500 series appears with the first 500. A fixed value is a name to fix.
    status = CheckStatus.UNKNOWN_LABEL_VALUE if m.op == "=" else CheckStatus.NO_DATA
    return Finding(
        status,
        f"no {metric} series has {m.label}{m.op}{_quote(m.value)} "
        f"(values: {shown or 'none'}){_hint(mean)}",
        metric=metric,
        label=m.label,
        value=m.value,
        did_you_mean=mean,
    )


def _matches(m: Matcher, values: list[str]) -> bool:
    """Would the matcher's value select one of ``values`` (the label that carries it)?"""
    if m.op == "=":
        return m.value in values
    return m.op == "=~" and _any_match(m.value, values, unknown=False)


def _any_match(pattern: str, values: list[str], unknown: bool = True) -> bool:
    try:
        rx = re.compile(pattern)
    except re.error:  # RE2 syntax Python does not read: do not claim it matches nothing
        return unknown
    return any(rx.fullmatch(v) for v in values)


def _grouping_findings(group: Grouping, meta: Metadata, known: set[str]) -> list[Finding]:
    metrics = [m for m in group.metrics if m in known]
    if not metrics or len(metrics) != len(group.metrics):
        return []
    have = {lb for m in metrics for lb in meta.labels(m)}
    out = []
    for label in group.labels:
        if label in have:
            continue
        mean = close(label, sorted(have))
        out.append(
            Finding(
                CheckStatus.MISSING_LABEL,
                f"{group.text} groups by a label {', '.join(metrics)} does not have "
                f"(its labels: {', '.join(sorted(have)) or 'none'}){_hint(mean)}",
                metric=metrics[0],
                label=label,
                did_you_mean=mean,
            )
        )
    return out
