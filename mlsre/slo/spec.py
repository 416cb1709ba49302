"""SLOs as mlsre uses them, read from OpenSLO v1 files under the workspace's ``slo_paths``.

A file may hold several ``---``-separated objects; ``SLI`` and ``DataSource`` objects may live in
any file of the workspace and are resolved by name. Every problem is reported with
``file:line:column``, all at once. An SLO with several objectives becomes one :class:`Slo` per
objective (named ``<name>-<objective displayName or index>``), since each has its own budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from mlsre.errors import NotFoundError
from mlsre.slo import openslo as o
from mlsre.slo.model import DEFAULT_SLICE_S, Budgeting, IndicatorKind, Slo
from mlsre.slo.resolve import Parsed, resolve
from mlsre.yamlfile import Problem, YamlDocument, YamlProblems, load_yaml_all, pydantic_problems

__all__ = [
    "DEFAULT_SLICE_S",
    "Budgeting",
    "IndicatorKind",
    "Slo",
    "find_slo",
    "load_slos",
    "parse_slos",
]


def slo_files(paths: Iterable[Path]) -> list[Path]:
    """YAML files under each path (a file, or a folder searched recursively), sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out.extend(
                sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml") and q.is_file())
            )
    return out


def load_slos(paths: Iterable[Path]) -> list[Slo]:
    """Every SLO found under ``paths``; raises :class:`YamlProblems` listing every problem."""
    problems: list[Problem] = []
    docs: list[YamlDocument] = []
    for f in slo_files(paths):
        try:
            docs.extend(load_yaml_all(f))
        except YamlProblems as exc:
            problems.extend(exc.problems)
    parsed = [p for d in docs if (p := _parse(d, problems)) is not None]
    slos = resolve(parsed, problems)
    if problems:
        raise YamlProblems(problems)
    return slos


def parse_slos(text: str, name: str = "<string>") -> list[Slo]:
    """SLOs from one YAML text (tests and ``mlsre init`` examples)."""
    from mlsre.yamlfile import parse_yaml_all

    problems: list[Problem] = []
    parsed = [p for d in parse_yaml_all(text, name) if (p := _parse(d, problems)) is not None]
    slos = resolve(parsed, problems)
    if problems:
        raise YamlProblems(problems)
    return slos


def find_slo(slos: list[Slo], name: str) -> Slo:
    for s in slos:
        if s.name == name:
            return s
    known = ", ".join(s.name for s in slos) or "none"
    raise NotFoundError(
        f"no SLO named '{name}'", hint=f"known SLOs: {known} (see `mlsre slo list`)"
    )


_MODELS: dict[str, type[BaseModel]] = {
    "SLO": o.SloDoc,
    "SLI": o.SliDoc,
    "DataSource": o.DataSourceDoc,
}


def _parse(doc: YamlDocument, problems: list[Problem]) -> Parsed | None:
    data = doc.data
    if not isinstance(data, dict):
        problems.append(
            doc.problem((), "an OpenSLO object must be a mapping (apiVersion, kind, ...)")
        )
        return None
    api = data.get("apiVersion")
    if api != o.API_VERSION:
        msg = (
            "missing apiVersion; expected 'openslo/v1'"
            if api is None
            else f"apiVersion '{api}' is not supported; expected 'openslo/v1'"
        )
        problems.append(doc.problem(("apiVersion",), msg))
        return None
    kind = data.get("kind")
    if kind in o.IGNORED_KINDS:
        return None
    model = _MODELS.get(str(kind))
    if model is None:
        known = ", ".join((*o.READ_KINDS, *o.IGNORED_KINDS))
        what = "missing kind" if kind is None else f"unknown kind '{kind}'"
        problems.append(doc.problem(("kind",), f"{what}; expected one of {known}"))
        return None
    try:
        return Parsed(doc, model.model_validate(data))
    except PydanticValidationError as exc:
        problems.extend(pydantic_problems(doc, exc))
        return None
