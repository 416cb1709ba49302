"""Resolve parsed OpenSLO objects into :class:`~mlsre.slo.spec.Slo` values.

``SLI`` and ``DataSource`` objects are looked up by name across every file; an SLO with several
objectives becomes one :class:`Slo` per objective. Problems are appended, never raised, so one
run reports everything wrong with a workspace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from mlsre.slo import openslo as o
from mlsre.slo.model import DEFAULT_SLICE_S, Budgeting, IndicatorKind, Slo
from mlsre.slo.promql import query_shape_problem
from mlsre.yamlfile import Problem, YamlDocument

_NAME_LOC = ("metadata", "name")


@dataclass
class Parsed:
    """One validated OpenSLO object and the document it came from."""

    doc: YamlDocument
    model: BaseModel


def resolve(parsed: list[Parsed], problems: list[Problem]) -> list[Slo]:
    slis: dict[str, Parsed] = {}
    sources: dict[str, Parsed] = {}
    for p in parsed:
        table = (
            slis
            if isinstance(p.model, o.SliDoc)
            else sources
            if isinstance(p.model, o.DataSourceDoc)
            else None
        )
        if table is None:
            continue
        name = p.model.metadata.name  # type: ignore[attr-defined]
        if name in table:
            first = table[name].doc
            problems.append(
                p.doc.problem(
                    ("metadata", "name"),
                    f"duplicate name '{name}' (first at {first.path}:{first.mark(_NAME_LOC).line})",
                )
            )
        table.setdefault(name, p)
    out: list[Slo] = []
    seen: dict[str, str] = {}
    for p in parsed:
        if not isinstance(p.model, o.SloDoc):
            continue
        for slo in _slos_of(p.doc, p.model, slis, sources, problems):
            if slo.name in seen:
                problems.append(
                    p.doc.problem(
                        ("metadata", "name"),
                        f"duplicate SLO name '{slo.name}' (first at {seen[slo.name]})",
                    )
                )
                continue
            seen[slo.name] = slo.location
            out.append(slo)
    return out


def _slos_of(
    doc: YamlDocument,
    m: o.SloDoc,
    slis: dict[str, Parsed],
    sources: dict[str, Parsed],
    problems: list[Problem],
) -> list[Slo]:
    out: list[Slo] = []
    for i, obj in enumerate(m.spec.objectives):
        slo = _slo_of(doc, m, i, obj, slis, sources, problems)
        if slo is not None:
            out.append(slo)
    return out


def _slo_of(
    doc: YamlDocument,
    m: o.SloDoc,
    i: int,
    obj: o.Objective,
    slis: dict[str, Parsed],
    sources: dict[str, Parsed],
    problems: list[Problem],
) -> Slo | None:
    """One objective as an SLO; None when it has a problem (already reported)."""
    spec = m.spec
    many = len(spec.objectives) > 1
    loc: tuple[str | int, ...] = ("spec", "objectives", i)
    indicator, ind_doc, ind_loc = _indicator(doc, spec, obj, loc, slis, problems)
    if indicator is None:
        return None
    where = _Where(doc, loc, ind_doc, ind_loc, sources, problems)
    if indicator.ratioMetric is not None:
        fields = _ratio_fields(where, spec, obj, indicator.ratioMetric)
    else:
        fields = _threshold_fields(where, obj, indicator)
    if fields is None:
        return None
    if spec.budgetingMethod == "Timeslices" and obj.timeSliceWindow is None:
        problems.append(doc.problem(loc, "Timeslices budgeting needs timeSliceWindow (e.g. 1m)"))
        return None
    slice_s = _slice_seconds(obj.timeSliceWindow)
    if _a_query_failed(indicator, fields):
        return None  # the query's problem is already reported
    window = spec.timeWindow[0].duration
    name, display_name = _names(m, obj, i, many)
    return Slo(
        name=name,
        service=spec.service,
        objective=obj.ratio,
        window_s=o.duration_seconds(window),
        window=window,
        budgeting=Budgeting(spec.budgetingMethod),
        slice_s=slice_s,
        slice_target=obj.timeSliceTarget,
        display_name=display_name,
        description=spec.description,
        labels={k: str(v) for k, v in m.metadata.labels.items()},
        path=doc.path,
        line=doc.mark(loc if many else ()).line,
        **fields,
    )


def _slice_seconds(sw: int | str | None) -> int:
    if isinstance(sw, int):
        return sw
    return o.duration_seconds(sw) if sw else DEFAULT_SLICE_S


def _names(m: o.SloDoc, obj: o.Objective, i: int, many: bool) -> tuple[str, str | None]:
    """(name, display name): an SLO of several objectives names one per objective."""
    if not many:
        return m.metadata.name, m.metadata.displayName or obj.displayName
    suffix = _slug(obj.displayName) if obj.displayName else i + 1
    return f"{m.metadata.name}-{suffix}", obj.displayName or m.metadata.displayName


@dataclass
class _Where:
    """Where an objective and its indicator were written, and where problems go."""

    doc: YamlDocument
    loc: tuple[str | int, ...]
    ind_doc: YamlDocument
    ind_loc: tuple[str | int, ...]
    sources: dict[str, Parsed]
    problems: list[Problem]


def _ratio_fields(
    w: _Where, spec: o.SloSpec, obj: o.Objective, r: o.RatioMetric
) -> dict[str, Any] | None:
    fields: dict[str, Any] = {"indicator": IndicatorKind.RATIO, "counter": r.counter}
    for role in ("good", "bad", "total"):
        ref = getattr(r, role)
        if ref is not None:
            role_loc = (*w.ind_loc, "ratioMetric", role)
            fields[f"{role}_query"] = _query(
                w.ind_doc, ref, role_loc, w.sources, w.problems, r.counter
            )
    if spec.budgetingMethod == "Timeslices" and obj.timeSliceTarget is None:
        w.problems.append(
            w.doc.problem(w.loc, "Timeslices budgeting of a ratio needs timeSliceTarget")
        )
        return None
    return fields


def _threshold_fields(
    w: _Where, obj: o.Objective, indicator: o.IndicatorSpec
) -> dict[str, Any] | None:
    assert indicator.thresholdMetric is not None
    if obj.op is None or obj.value is None:
        w.problems.append(
            w.doc.problem(
                w.loc, "a thresholdMetric objective needs 'op' (lte, lt, gte, gt) and 'value'"
            )
        )
        return None
    q = _query(
        w.ind_doc, indicator.thresholdMetric, (*w.ind_loc, "thresholdMetric"), w.sources, w.problems
    )
    return {
        "indicator": IndicatorKind.THRESHOLD,
        "threshold_query": q,
        "op": obj.op,
        "value": obj.value,
    }


def _a_query_failed(indicator: o.IndicatorSpec, fields: dict[str, Any]) -> bool:
    queries = ("total_query",) if indicator.ratioMetric else ("threshold_query",)
    if any(fields.get(q) is None for q in queries):
        return True
    return (
        bool(indicator.ratioMetric) and fields.get("good_query") is fields.get("bad_query") is None
    )


def _indicator(
    doc: YamlDocument,
    spec: o.SloSpec,
    obj: o.Objective,
    loc: tuple[str | int, ...],
    slis: dict[str, Parsed],
    problems: list[Problem],
) -> tuple[o.IndicatorSpec | None, YamlDocument, tuple[str | int, ...]]:
    """The objective's indicator (its own, else the SLO's), inline or by reference, with the
    document and location it was written at (an SLI object may live in another file)."""
    if obj.indicator is not None:
        return obj.indicator.spec, doc, (*loc, "indicator", "spec")
    if obj.indicatorRef is not None:
        return _sli_ref(doc, obj.indicatorRef, (*loc, "indicatorRef"), slis, problems)
    if spec.indicator is not None:
        return spec.indicator.spec, doc, ("spec", "indicator", "spec")
    if spec.indicatorRef is not None:
        return _sli_ref(doc, spec.indicatorRef, ("spec", "indicatorRef"), slis, problems)
    problems.append(
        doc.problem(("spec",), "SLO needs an 'indicator' or an 'indicatorRef' naming an SLI")
    )
    return None, doc, ()


def _sli_ref(
    doc: YamlDocument,
    name: str,
    loc: tuple[str | int, ...],
    slis: dict[str, Parsed],
    problems: list[Problem],
) -> tuple[o.IndicatorSpec | None, YamlDocument, tuple[str | int, ...]]:
    found = slis.get(name)
    if found is None:
        known = ", ".join(sorted(slis)) or "none"
        problems.append(
            doc.problem(loc, f"no SLI named '{name}' in the SLO files (known: {known})")
        )
        return None, doc, ()
    assert isinstance(found.model, o.SliDoc)
    return found.model.spec, found.doc, ("spec",)


def _query(
    doc: YamlDocument,
    ref: o.MetricRef,
    loc: tuple[str | int, ...],
    sources: dict[str, Parsed],
    problems: list[Problem],
    counter: bool | None = None,
) -> str | None:
    """The PromQL of a metric source; ``counter`` is set for ratio roles (shape is checked)."""
    src = ref.metricSource
    kind = src.type
    if src.metricSourceRef is not None:
        ds = sources.get(src.metricSourceRef)
        if ds is None:
            known = ", ".join(sorted(sources)) or "none"
            problems.append(
                doc.problem(
                    (*loc, "metricSource", "metricSourceRef"),
                    f"no DataSource named '{src.metricSourceRef}' (known: {known})",
                )
            )
            return None
        assert isinstance(ds.model, o.DataSourceDoc)
        kind = kind or ds.model.spec.type
    if kind is not None and kind.lower() != "prometheus":
        problems.append(
            doc.problem(
                (*loc, "metricSource"),
                f"metric source type '{kind}' is not supported; mlsre reads Prometheus",
            )
        )
        return None
    query = str(src.spec["query"]).strip()
    if counter is not None:
        why = query_shape_problem(query, counter)
        if why:
            problems.append(doc.problem((*loc, "metricSource", "spec", "query"), why))
            return None
    return query


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "objective"
