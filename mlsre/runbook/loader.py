"""Find runbooks: the bundled library plus the workspace's ``runbook_paths``.

A workspace runbook with the same id as a bundled one overrides it (teams adapt the library
without forking it); :class:`Catalog` keeps both so ``mlsre runbook list`` can show which is in
force. A broken file never hides the others: its problems are collected on the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from mlsre import paths
from mlsre.errors import NotFoundError
from mlsre.runbook.model import Runbook
from mlsre.runbook.validate import FileReport, runbook_files, validate_file, validate_files
from mlsre.steps.catalog import KindCatalog, default_catalog
from mlsre.yamlfile import Problem, YamlProblems


class Source(StrEnum):
    BUNDLED = "bundled"
    WORKSPACE = "workspace"


@dataclass
class CatalogEntry:
    id: str
    title: str
    failure_mode: str
    severity: str
    path: str
    source: Source
    in_force: bool = True
    overridden_by: str | None = None  # path of the workspace runbook that replaces this one
    report: FileReport | None = field(default=None, repr=False)

    @property
    def runbook(self) -> Runbook | None:
        return self.report.runbook if self.report is not None else None

    def summary(self) -> dict[str, Any]:
        """The JSON view (``runbook list --json``)."""
        return {
            "id": self.id,
            "title": self.title,
            "failure_mode": self.failure_mode,
            "severity": self.severity,
            "source": self.source.value,
            "in_force": self.in_force,
            "path": self.path,
            "overridden_by": self.overridden_by,
        }


@dataclass
class Catalog:
    entries: list[CatalogEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # files that did not validate
    kind_warnings: list[str] = field(default_factory=list)

    def in_force(self) -> list[CatalogEntry]:
        return [e for e in self.entries if e.in_force]

    def get(self, runbook_id: str) -> CatalogEntry:
        for entry in self.entries:
            if entry.in_force and entry.id == runbook_id:
                return entry
        import difflib

        ids = sorted({e.id for e in self.entries})
        close = difflib.get_close_matches(runbook_id, ids, n=1, cutoff=0.6)
        mean = f" — did you mean '{close[0]}'?" if close else ""
        broken = (
            f"; {len({p.path for p in self.problems})} runbook file(s) failed to load"
            if self.problems
            else ""
        )
        raise NotFoundError(
            f"no runbook '{runbook_id}'{mean}{broken}",
            hint="`mlsre runbook list` shows the runbooks in force; "
            "`mlsre runbook validate` shows broken ones",
        )


def bundled_dir() -> Path:
    return paths.bundled_dir("runbooks")


def workspace_dirs(settings: Any | None) -> list[Path]:
    """The workspace's runbook paths (``runbook_paths`` in mlsre.yaml), resolved, existing ones."""
    if settings is None:
        return []
    out = []
    for p in settings.runbook_paths:
        path = settings.resolve(p)
        if path.exists():
            out.append(path)
    return out


def load_runbook(path: Path, kinds: KindCatalog | None = None) -> Runbook:
    """One runbook file, fully validated; raises :class:`YamlProblems` with every problem."""
    report = validate_file(path, kinds)
    if report.runbook is None:
        raise YamlProblems(report.problems or [Problem(str(path), 1, 1, "not a valid runbook")])
    return report.runbook


def discover(settings: Any | None = None, kinds: KindCatalog | None = None) -> Catalog:
    from mlsre.runbook import cache

    reg = kinds or default_catalog()
    catalog = Catalog(kind_warnings=list(reg.warnings))
    results = cache.ResultCache(reg) if cache.enabled() else None
    bundled_root = bundled_dir().resolve()
    bundled = _scan([bundled_root], Source.BUNDLED, reg, catalog, set(), results)
    seen = {Path(e.path).resolve() for e in bundled}
    workspace = _scan(workspace_dirs(settings), Source.WORKSPACE, reg, catalog, seen, results)
    if results is not None:
        results.save()
    by_id: dict[str, CatalogEntry] = {}
    for entry in workspace:
        if entry.id in by_id:
            catalog.problems.append(
                Problem(
                    entry.path,
                    1,
                    1,
                    f"runbook id '{entry.id}' is also used by {by_id[entry.id].path}",
                    "id",
                )
            )
            entry.in_force = False
            continue
        by_id[entry.id] = entry
    for entry in bundled:
        override = by_id.get(entry.id)
        if override is not None:
            entry.in_force = False
            entry.overridden_by = override.path
    catalog.entries = sorted(
        [*bundled, *workspace], key=lambda e: (e.id, e.source != Source.WORKSPACE)
    )
    return catalog


def _scan(
    roots: list[Path],
    source: Source,
    reg: KindCatalog,
    catalog: Catalog,
    skip: set[Path],
    results: Any,
) -> list[CatalogEntry]:
    out: list[CatalogEntry] = []
    files = [f for root in roots for f in runbook_files(root) if f.resolve() not in skip]
    for report in validate_files(files, reg, results):
        if report.summary is None or report.problems:
            catalog.problems.extend(report.problems)
            continue
        out.append(_entry(report, source))
    return out


def _entry(report: FileReport, source: Source) -> CatalogEntry:
    assert report.summary is not None
    info = report.summary
    return CatalogEntry(
        id=info["id"],
        title=info["title"],
        failure_mode=info["failure_mode"],
        severity=info["severity"],
        path=report.path,
        source=source,
        report=report,
    )


def find_runbook(
    ref: str, settings: Any | None = None, kinds: KindCatalog | None = None
) -> CatalogEntry:
    """A runbook by id (the one in force), or by path to a file."""
    path = Path(ref)
    if ref.endswith((".yaml", ".yml")) or path.is_file():
        report = validate_file(path, kinds)
        if report.runbook is None:
            raise YamlProblems(report.problems or [Problem(str(path), 1, 1, "not a valid runbook")])
        return _entry(report, Source.WORKSPACE)
    return discover(settings, kinds).get(ref)
