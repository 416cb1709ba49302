"""Gather every change in the window before an incident from every source, rank them, and say
in one line each which source could not be read. A source that fails never fails the whole."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlsre.changes import changepoint
from mlsre.changes.model import (
    Change,
    ChangeKind,
    ChangePoint,
    ChangeReport,
    LineageDiff,
    Source,
)
from mlsre.changes.rank import rank
from mlsre.errors import MlsreError
from mlsre.incident.model import Event, EventKind
from mlsre.timeutil import parse_duration

if TYPE_CHECKING:
    from mlsre.incident.store import Store
    from mlsre.settings import ChangeRepo, Settings


@dataclass
class Scope:
    """What the correlation is about: an incident, or a model and a time (the step kind)."""

    start: datetime
    until: datetime
    model: str | None = None
    service: str | None = None
    incident: str | None = None


MAX_COMMITS = 200  # per repository and window: enough to rank, bounded for a busy repo
AFTER_START = timedelta(hours=1)  # changes this soon after the start are still listed


def scope_of(state: Any) -> Scope:
    """The scope of an incident state (:class:`mlsre.incident.model.Incident`): the window ends
    when it was opened, or an hour after it began when it was opened later than that."""
    return Scope(
        start=state.started_at,
        until=min(max(state.opened_at, state.started_at), state.started_at + AFTER_START),
        model=state.model,
        service=state.service,
        incident=state.ref,
    )


def collect(
    settings: Settings,
    scope: Scope,
    *,
    store: Store | None = None,
    events: list[Event] | None = None,
    window: timedelta | None = None,
    transport: Any = None,
) -> ChangeReport:
    cfg = settings.changes
    span = window or parse_duration(cfg.window)
    since = scope.start - span
    events = events or []
    notes: list[str] = []
    point = failing_change_point(events, since, scope.until)
    anchor, anchor_reason = scope.start, "incident start"
    if point is not None:
        anchor, anchor_reason = point.at, f"change point of {point.step}"
    found: list[Change] = []

    def attempt(what: str, fn: Callable[[], list[Change]]) -> None:
        try:
            found.extend(fn())
        except MlsreError as exc:
            notes.append(f"{what}: {exc.message}")

    lineage: LineageDiff | None = None
    if scope.model:
        lineage = _registry(settings, scope, since, events, transport, found, notes)
        attempt("metrics", lambda: _metrics(settings, scope, since, transport))
    for repo in cfg.repo_list():
        try:
            commits = _git(settings, repo, since, scope, lineage)
            found.extend(commits)
            if sum(c.source is Source.GIT for c in commits) >= MAX_COMMITS:
                notes.append(f"git {repo.path}: only the newest {MAX_COMMITS} commits were read")
        except MlsreError as exc:
            notes.append(f"git {repo.path}: {exc.message}")
    if store is not None:
        attempt("change log", lambda: _recorded(store, since, scope))
    ranked = rank(_merge(found), anchor, anchor_reason, scope.model, scope.service)
    return ChangeReport(
        incident=scope.incident,
        anchor=anchor,
        anchor_reason=anchor_reason,
        window_s=span.total_seconds(),
        changes=ranked,
        lineage=lineage,
        change_point=point,
        notes=notes,
    )


def failing_change_point(
    events: list[Event], since: datetime, until: datetime
) -> ChangePoint | None:
    """The earliest significant shift in the range evidence of a failing step."""
    best: ChangePoint | None = None
    for ev in events:
        d = ev.data
        if ev.kind is not EventKind.STEP_RESULT or d.get("status") != "failed":
            continue
        out = d.get("output") if isinstance(d.get("output"), dict) else {}
        for s in (out or {}).get("series") or []:
            points = _points(s)
            found = changepoint.change_point(points)
            if found is None:
                continue
            t, before, after, p = found
            at = datetime.fromtimestamp(t, UTC)
            if since <= at <= until + timedelta(hours=1) and (best is None or at < best.at):
                best = ChangePoint(at, str(d.get("step") or "?"), before, after, p)
    return best


def _points(series: Any) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    if not isinstance(series, dict):
        return out
    for p in series.get("points") or []:
        try:
            out.append((float(p[0]), float(p[1])))
        except (TypeError, ValueError, IndexError):
            continue
    return out


def _serving_version_at_start(events: list[Event], alias: str) -> str | None:
    """What served when the incident began: the first recorded move of the serving alias
    started from it (a rollback since then must not make the old version look live)."""
    for ev in events:
        if ev.kind is EventKind.MODEL_CHANGED and ev.data.get("alias") == alias:
            before = ev.data.get("from_version") or ev.data.get("before")
            if before:
                return str(before)
    return None


def _registry(
    settings: Settings,
    scope: Scope,
    since: datetime,
    events: list[Event],
    transport: Any,
    found: list[Change],
    notes: list[str],
) -> LineageDiff | None:
    from mlsre.changes import registry_source as rs
    from mlsre.integrations.mlflow import MlflowClient

    assert scope.model is not None
    mc = MlflowClient(settings.registry, transport)
    try:
        changes, versions = rs.registry_changes(mc, scope.model, since, scope.until)
    except MlsreError as exc:
        notes.append(f"registry: {exc.message}")
        return None
    found.extend(changes)
    alias = settings.changes.serving_alias
    live_ref = _serving_version_at_start(events, alias) or next(
        (v.version for v in versions if alias in v.aliases), None
    )
    live = next((v for v in versions if v.version == live_ref), None)
    if live is None:
        notes.append(f"lineage: {scope.model} has no version behind alias {alias!r}")
        return None
    previous = rs.serving_versions(versions, live.version)
    if previous is None:
        notes.append(f"lineage: no version of {scope.model} before version {live.version}")
        return None
    diff = rs.lineage_diff(mc, scope.model, live, previous, notes)
    diff.deployed_at, _ = rs.deployed_at(live)
    found.extend(rs.lineage_changes(diff, diff.deployed_at or scope.start))
    return diff


def _metrics(settings: Settings, scope: Scope, since: datetime, transport: Any) -> list[Change]:
    from mlsre.changes import metrics_source as ms
    from mlsre.integrations.prometheus import PrometheusClient

    assert scope.model is not None
    cfg = settings.changes
    prom = PrometheusClient(settings.prometheus, transport)
    out = ms.version_changes(
        prom,
        scope.model,
        since,
        scope.until,
        version_label=cfg.version_label,
        model_label=cfg.model_label,
    )
    for metric in cfg.metrics:
        out.extend(ms.gauge_changes(prom, metric, scope.model, since, scope.until))
    return out


def _git(
    settings: Settings, repo: ChangeRepo, since: datetime, scope: Scope, lineage: LineageDiff | None
) -> list[Change]:
    from mlsre.integrations import git

    path = settings.resolve(repo.path)
    model = repo.models[0] if len(repo.models) == 1 else None
    if scope.model in repo.models:
        model = scope.model
    out = [
        Change(
            ChangeKind.CODE,
            Source.GIT,
            c.at,
            f"{Path(repo.path).name}@{c.sha[:7]}: {c.subject}{_files_text(c.files)}",
            model=model,
            service=repo.service,
            link=_commit_link(repo.url, c.sha),
            details={
                "sha": c.sha,
                "author": c.author,
                "files": list(c.files[:20]),
                "files_total": len(c.files),
                "repo": repo.path,
            },
        )
        for c in git.commits_in_window(path, since, scope.until, rev=repo.rev, limit=MAX_COMMITS)
    ]
    if lineage and lineage.previous.commit and lineage.live.commit:
        between = git.commits_between(path, lineage.previous.commit, lineage.live.commit)
        if between is not None:
            count, commits = between
            a, b = lineage.previous.commit[:7], lineage.live.commit[:7]
            subjects = "; ".join(c.subject for c in commits[:3])
            out.append(
                Change(
                    ChangeKind.CODE,
                    Source.LINEAGE,
                    lineage.deployed_at or scope.start,
                    f"code changed: {count} commit{'s' if count != 1 else ''} between {a} and "
                    f"{b} (training code of version {lineage.previous.version} -> "
                    f"{lineage.live.version})" + (f": {subjects}" if subjects else ""),
                    model=lineage.model,
                    link=_compare_link(repo.url, a, b),
                    details={
                        "count": count,
                        "commits": [c.sha for c in commits],
                        "repo": repo.path,
                    },
                )
            )
    return out


def _files_text(files: tuple[str, ...]) -> str:
    if not files:
        return ""
    shown = ", ".join(files[:3]) + (f" +{len(files) - 3} more" if len(files) > 3 else "")
    return f" ({shown})"


def _commit_link(url: str | None, sha: str) -> str | None:
    return f"{url.rstrip('/')}/commit/{sha}" if url else None


def _compare_link(url: str | None, a: str, b: str) -> str | None:
    return f"{url.rstrip('/')}/compare/{a}...{b}" if url else None


def _recorded(store: Store, since: datetime, scope: Scope) -> list[Change]:
    return [
        Change(
            r.kind,
            Source.RECORDED,
            r.at,
            r.summary,
            model=r.model,
            service=r.service,
            details={"id": r.id, "actor": r.actor},
        )
        for r in store.changes(since, scope.until)
    ]


def _merge(changes: list[Change]) -> list[Change]:
    """One entry per deployed version: the serving metrics say when it really took traffic;
    the registry's record of the same version adds to it rather than repeating it. And the
    commit range from a repository replaces the bare "code changed: a -> b" of the lineage."""
    if any(c.source is Source.LINEAGE and "count" in c.details for c in changes):
        changes = [
            c
            for c in changes
            if not (
                c.source is Source.LINEAGE
                and c.kind is ChangeKind.CODE
                and "count" not in c.details
            )
        ]
    by_version: dict[str, Change] = {}
    out: list[Change] = []
    for c in sorted(changes, key=lambda c: c.source is not Source.METRICS):
        version = c.details.get("version") if c.kind is ChangeKind.MODEL else None
        if version is None or "alias" in c.details:
            out.append(c)
            continue
        kept = by_version.get(str(version))
        if kept is None:
            by_version[str(version)] = c
            out.append(c)
        else:
            kept.details.setdefault("also_seen_in", []).append(c.source.value)
    return out
