"""Validate runbook files: every problem in every file, each at ``file:line:column`` with its
field path and, where we can tell, what was meant.

``validate_paths([...])`` is what ``mlsre runbook validate`` and the pre-commit hook run;
``validate_text`` is the same for a string (tests, editors).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlsre.runbook.messages import pydantic_errors
from mlsre.runbook.model import API_VERSION, Runbook
from mlsre.steps.catalog import KindCatalog, default_catalog
from mlsre.yamlfile import (
    Problem,
    YamlDocument,
    YamlProblems,
    parse_yaml,
    read_text,
)

RUNBOOK_SUFFIXES = (".yaml", ".yml")


@dataclass
class FileReport:
    path: str
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    summary: dict[str, str] | None = None  # id, title, failure_mode, severity of a valid runbook
    _runbook: Runbook | None = field(default=None, repr=False)
    # The runbook as JSON text (from the cache): built into a Runbook only when asked for.
    _json: str | None = field(default=None, repr=False)

    @property
    def runbook(self) -> Runbook | None:
        """The validated runbook (None when the file has problems)."""
        if self._runbook is None and self._json is not None:
            self._runbook = Runbook.model_validate_json(self._json)
        return self._runbook

    def set_runbook(self, runbook: Runbook | None) -> None:
        self._runbook = runbook
        self._json = None
        self.summary = None
        if runbook is not None:
            self.summary = {
                "id": runbook.id,
                "title": runbook.title,
                "failure_mode": runbook.failure_mode,
                "severity": runbook.severity.value,
            }

    def to_cache(self) -> list[str | None]:
        """The report as two JSON texts: what was found, and the runbook's data."""
        meta = {
            "problems": [_problem_data(p) for p in self.problems],
            "warnings": [_problem_data(p) for p in self.warnings],
            "summary": self.summary,
        }
        return [json.dumps(meta, separators=(",", ":"), ensure_ascii=False), self.runbook_json()]

    def runbook_json(self) -> str | None:
        """The runbook's data as JSON text (encoded once, then kept)."""
        if self._json is None and self._runbook is not None:
            self._json = self._runbook.model_dump_json(by_alias=True, exclude_unset=True)
        return self._json

    @classmethod
    def from_cache(cls, path: str, entry: Any) -> FileReport:
        """The report of :meth:`to_cache`; KeyError, TypeError or ValueError if it is not one."""
        meta_text, runbook_text = entry
        meta = json.loads(meta_text)
        if runbook_text is not None and not isinstance(runbook_text, str):
            raise TypeError("runbook data is not JSON text")
        return cls(
            path,
            problems=[Problem(**p) for p in meta["problems"]],
            warnings=[Problem(**p) for p in meta["warnings"]],
            summary=meta["summary"],
            _json=runbook_text,
        )


def _problem_data(p: Problem) -> dict[str, Any]:
    return {"path": p.path, "line": p.line, "column": p.column, "message": p.message, "loc": p.loc}


@dataclass
class Report:
    files: list[FileReport] = field(default_factory=list)
    kind_warnings: list[str] = field(default_factory=list)  # broken plugins etc.
    notes: list[Problem] = field(default_factory=list)  # about a path, not a file (empty folder)

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems]

    @property
    def warnings(self) -> list[Problem]:
        return [*self.notes, *(w for f in self.files for w in f.warnings)]

    @property
    def ok(self) -> bool:
        return not self.problems


def runbook_files(path: Path) -> list[Path]:
    """``path`` itself, or the runbook files under a folder (sorted, hidden ones skipped)."""
    if path.is_dir():
        return sorted(
            p
            for p in path.rglob("*")
            if p.suffix in RUNBOOK_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
    return [path]


def validate_paths(
    paths: Iterable[Path], catalog: KindCatalog | None = None, *, use_cache: bool = True
) -> Report:
    reg = catalog or default_catalog()
    report = Report(kind_warnings=list(reg.warnings))
    results = _result_cache(reg) if use_cache else None
    paths = list(paths)
    groups = [runbook_files(path) for path in paths]
    reports = iter(validate_files([f for files in groups for f in files], reg, results))
    for path, files in zip(paths, groups, strict=True):
        if not files and path.is_dir():
            report.notes.append(Problem(str(path), 1, 1, "no runbook files (*.yaml, *.yml) here"))
        folder = list(itertools.islice(reports, len(files)))
        report.files.extend(folder)
        _flag_reused_ids(folder)
    if results is not None:
        results.save()
    return report


def _result_cache(reg: KindCatalog) -> Any:
    """The content-keyed cache of validation results, or None when it is turned off."""
    from mlsre.runbook import cache

    return cache.ResultCache(reg) if cache.enabled() else None


def _flag_reused_ids(reports: list[FileReport]) -> None:
    """A problem on each file whose runbook id an earlier file of the same folder already uses
    (per folder: a workspace may override a bundled id)."""
    seen_ids: dict[str, FileReport] = {}
    for fr in reports:
        rid = fr.summary["id"] if fr.summary else None
        if rid is None:
            continue
        other = seen_ids.setdefault(rid, fr)
        if other is not fr:
            msg = f"runbook id '{rid}' is also used by {other.path}"
            fr.problems.append(Problem(fr.path, 1, 1, msg, "id"))


def validate_file(
    path: Path, catalog: KindCatalog | None = None, results: Any = None
) -> FileReport:
    """Validate one file; ``results`` (a :class:`mlsre.runbook.cache.ResultCache`) skips
    files whose validation result is already known."""
    return validate_files([path], catalog, results)[0]


def validate_files(
    paths: list[Path], catalog: KindCatalog | None = None, results: Any = None
) -> list[FileReport]:
    """One report per path, in order. Files already in ``results`` are not validated again."""
    reg = catalog or default_catalog()
    reports = []
    for path in paths:
        report, fresh_key = _report(path, reg, results)
        if fresh_key is not None:
            results.put(fresh_key, report.to_cache())
        reports.append(report)
    return reports


def _report(path: Path, reg: KindCatalog, results: Any) -> tuple[FileReport, str | None]:
    try:
        text = read_text(path)
    except YamlProblems as exc:
        return FileReport(str(path), problems=list(exc.problems)), None
    if results is None:
        return validate_text(text, str(path), reg), None
    key = results.key(str(path), text)
    hit = results.get(key)
    if hit is not None:
        try:
            return FileReport.from_cache(str(path), hit), None
        except (KeyError, TypeError, ValueError):
            pass  # an entry from another layout: validate again
    return validate_text(text, str(path), reg), key


def validate_text(text: str, name: str, catalog: KindCatalog | None = None) -> FileReport:
    reg = catalog or default_catalog()
    report = FileReport(name)
    try:
        doc = parse_yaml(text, name)
    except YamlProblems as exc:
        report.problems = list(exc.problems)
        return report
    except RecursionError:
        report.problems = [Problem(name, 1, 1, "the document is nested too deeply")]
        return report
    try:
        runbook, report.problems, report.warnings = check_document(doc, reg)
    except RecursionError:
        report.problems = [Problem(name, 1, 1, "the document is nested too deeply")]
        return report
    report.set_runbook(runbook)
    stem = Path(name).stem
    if (
        report.runbook is not None
        and Path(name).suffix in RUNBOOK_SUFFIXES
        and stem != report.runbook.id
    ):
        report.warnings.append(
            doc.problem(("id",), f"file name '{stem}' differs from the runbook id")
        )
    return report


def check_document(
    doc: YamlDocument, catalog: KindCatalog
) -> tuple[Runbook | None, list[Problem], list[Problem]]:
    from pydantic import ValidationError

    from mlsre.runbook.checks import check_runbook

    if not isinstance(doc.data, dict):
        return None, [_not_a_mapping(doc)], []
    foreign = _foreign_file(doc, doc.data)
    if foreign is not None:
        return None, [foreign], []
    problems: list[Problem] = []
    runbook = None
    try:
        runbook = Runbook.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(pydantic_errors(doc, exc, (), Runbook))
    more, warnings = check_runbook(doc, catalog)
    problems.extend(more)
    warnings.extend(_missing_guidance(doc, doc.data.get("steps")))
    problems.sort(key=lambda p: (p.line, p.column))
    warnings.sort(key=lambda p: (p.line, p.column))
    return (runbook if not problems else None), _dedupe(problems), _dedupe(warnings)


def _not_a_mapping(doc: YamlDocument) -> Problem:
    what = type(doc.data).__name__ if doc.data is not None else "nothing"
    got = {
        "list": "a list",
        "str": "a plain string",
        "int": "a number",
        "float": "a number",
    }.get(what, what)
    return doc.problem(
        (), f"a runbook must be a mapping (apiVersion, kind, id, steps, ...), got {got}"
    )


def _foreign_file(doc: YamlDocument, data: dict[str, Any]) -> Problem | None:
    """One line for another tool's file (an OpenSLO SLO, a k8s manifest), not twenty."""
    api, kind = data.get("apiVersion"), data.get("kind")
    if not (isinstance(api, str) and isinstance(kind, str)):
        return None
    if api.startswith("mlsre") or kind == "Runbook":
        return None
    msg = f"not an mlsre runbook (apiVersion: {api}, kind: {kind}); runbooks use {API_VERSION}"
    return doc.problem(("apiVersion",), msg)


def _missing_guidance(doc: YamlDocument, raw_steps: Any) -> list[Problem]:
    return [
        doc.problem(
            ("steps", i),
            "no guidance: tell the person what this step shows and what to do next",
        )
        for i, step in enumerate(raw_steps if isinstance(raw_steps, list) else [])
        if isinstance(step, dict) and not step.get("guidance")
    ]


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[int, int, str, str]] = set()
    out = []
    for p in problems:
        key = (p.line, p.column, p.loc, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
