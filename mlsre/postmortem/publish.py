"""Publish a postmortem: write it (with charts and evidence) into the postmortem git repo, commit.

Layout in the repo: ``YYYY/YYYY-MM-DD-INC-7-slug.md`` and, beside it,
``YYYY/assets/YYYY-MM-DD-INC-7-slug/`` with one PNG per range query and ``evidence.json``.
The file of an incident is found again by its id, so a renamed incident keeps its file.

Safe on a repository people use: uncommitted changes stop us before anything is written;
republishing replaces only the generated blocks; nothing changed means no commit; a failed push
keeps the local commit, and publishing again with ``push`` sends it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlsre.errors import IntegrationError, MlsreError, UsageError
from mlsre.incident.model import Event, EventKind, Incident, Status
from mlsre.incident.store import Store
from mlsre.postmortem import build
from mlsre.postmortem.lint import LintReport, lint_text
from mlsre.postmortem.render import TODO, template_dirs
from mlsre.redaction import redact
from mlsre.textsafe import visible
from mlsre.timeutil import utcnow

if TYPE_CHECKING:
    from mlsre.integrations.git import Identity

ASSETS = "assets"


@dataclass
class PublishResult:
    incident: str
    repo: str
    path: str  # of the markdown, relative to the repo
    assets: list[str]
    branch: str
    commit: str | None  # None: nothing changed, no commit made
    created: bool  # first publication of this incident
    closed: bool  # the incident was resolved and is now closed
    push_requested: bool
    pushed: bool
    push_error: str | None
    push_hint: str | None
    author: str
    to_write: int  # placeholders people have not filled in yet
    dropped_blocks: list[str] = field(default_factory=list)
    lint: LintReport | None = None


def slug(title: str, limit: int = 50) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return s[:limit].rstrip("-") or "incident"


def find_existing(root: Path, ref: str) -> Path | None:
    """The incident's markdown already in the repo, whatever its title was then."""
    hits = sorted(root.glob(f"[0-9][0-9][0-9][0-9]/*-{ref}-*.md")) + sorted(
        root.glob(f"[0-9][0-9][0-9][0-9]/*-{ref}.md")
    )
    return hits[0] if hits else None


def target_path(root: Path, incident: Incident) -> Path:
    existing = find_existing(root, incident.ref)
    if existing is not None:
        return existing
    day = incident.started_at.strftime("%Y-%m-%d")
    return root / day[:4] / f"{day}-{incident.ref}-{slug(incident.title)}.md"


def publish(
    store: Store,
    incident_id: int,
    settings: Any,
    *,
    actor: str,
    repo: Path | None = None,
    branch: str | None = None,
    push: bool | None = None,
    template: str | None = None,
    slo: bool = True,
    transport: Any = None,
    now: datetime | None = None,
) -> PublishResult:
    """Write, commit (and maybe push) the postmortem of ``incident_id``; close it if resolved."""
    from mlsre.integrations import git as g

    pm = settings.postmortems
    root = (repo or settings.resolve(pm.repo)).resolve()
    r = g.open_repo(root)
    incident, events = build.load(store, incident_id)
    branch = branch or pm.branch
    who, edits_commit = _start(r, root, incident.ref, branch, actor)

    closing = _closing_event(incident, actor, now or utcnow())
    incident, events = build.with_event(incident, events, closing)

    draft = _draft(r, root, incident, events, settings, template, slo=slo, transport=transport)
    commit = _write_and_commit(r, root, draft, incident, events, who) or edits_commit
    _record(store, incident, closing, commit, actor, root=root, md=draft.md, branch=branch)

    want_push = pm.push if push is None else push
    pushed, push_error, push_hint = (
        _push(r, pm.remote, branch) if want_push else (False, None, None)
    )

    names = build.people(incident, events)
    md = _rel(root, draft.md)
    return PublishResult(
        incident=incident.ref,
        repo=str(root),
        path=md,
        assets=[_rel(root, p) for p in [draft.evidence, *draft.charts]],
        branch=branch,
        commit=commit,
        created=draft.created,
        closed=closing is not None,
        push_requested=want_push,
        pushed=pushed,
        push_error=push_error,
        push_hint=push_hint,
        author=f"{who.name} <{who.email}>",
        to_write=draft.text.count(TODO.removeprefix("> ")),
        dropped_blocks=draft.dropped,
        lint=lint_text(draft.text, names=names, allowlist=pm.lint_allowlist, source=md),
    )


def _start(r: Any, root: Path, ref: str, branch: str, actor: str) -> tuple[Identity, str | None]:
    """Check the repo is clean, switch to ``branch``; commit people's edits to this postmortem.

    Someone else's uncommitted work stops us before anything is written or recorded;
    people's edits to this postmortem are committed as they are, as their own commit.
    """
    from mlsre.integrations import git as g

    existing = find_existing(root, ref)
    own: tuple[str, ...] = ()
    if existing is not None:
        own = (_rel(root, existing), _rel(root, existing.parent / ASSETS / existing.stem))
    edited = g.ensure_clean(r, own)
    g.switch_branch(r, branch)
    who = g.identity(r, actor)
    if not edited:
        return who, None
    message = f"Edit postmortem {ref} (changes made in the file)"
    return who, g.commit_paths(r, edited, [], message, who)


@dataclass
class _Draft:
    """The postmortem to write, where, and what its files held before (to restore on failure)."""

    md: Path
    created: bool
    text: str
    dropped: list[str]
    evidence: Path
    charts: list[Path]  # drawn already, into the repo
    saved: dict[str, bytes | None]  # None: the file did not exist
    stale: list[Path]  # tracked charts no longer drawn


def _draft(
    r: Any,
    root: Path,
    incident: Incident,
    events: list[Event],
    settings: Any,
    template: str | None,
    *,
    slo: bool,
    transport: Any,
) -> _Draft:
    """Render the postmortem (drawing its charts beside it), merged into the one already there."""
    md = target_path(root, incident)
    created = not md.exists()
    asset_dir = md.parent / ASSETS / md.stem
    link = f"{ASSETS}/{md.stem}/"
    ctx = build.make_context(incident, events, settings=settings, slo=slo, transport=transport)
    ctx.evidence_link = link + build.EVIDENCE_FILE
    old_assets = set(asset_dir.glob("*.png")) if asset_dir.is_dir() else set()
    pre_charts = {_rel(root, p): p.read_bytes() for p in old_assets}
    out = build.render(
        ctx, template_dirs(Path(settings.base_dir)), template, chart_dir=asset_dir, link_prefix=link
    )
    text, dropped = out.markdown, []
    if not created:
        from mlsre.postmortem.blocks import merge

        merged = merge(md.read_text(encoding="utf-8"), out.markdown)
        text, dropped = merged.text, merged.dropped
    evidence = asset_dir / build.EVIDENCE_FILE
    saved = _saved(root, [md, evidence], pre_charts, out.charts)
    stale = sorted(p for p in old_assets if p not in set(out.charts) and _tracked(r, root, p))
    return _Draft(md, created, text, dropped, evidence, out.charts, saved, stale)


def _saved(
    root: Path, files: list[Path], pre_charts: dict[str, bytes], charts: list[Path]
) -> dict[str, bytes | None]:
    """What each file to be written held before (None: absent), charts as before drawing."""
    saved = {_rel(root, p): p.read_bytes() if p.exists() else None for p in files}
    saved.update(pre_charts)
    saved.update({_rel(root, p): None for p in charts if _rel(root, p) not in pre_charts})
    return saved


def _write_and_commit(
    r: Any, root: Path, draft: _Draft, incident: Incident, events: list[Event], who: Identity
) -> str | None:
    """Write and commit the draft; on any failure, put back what the files held before."""
    from mlsre.integrations import git as g

    written = [draft.md, draft.evidence, *draft.charts]
    verb = "Add" if draft.created else "Update"
    message = (
        f"{verb} postmortem {incident.ref}: {incident.title}\n\n"
        f"Generated by mlsre from {len(events)} recorded events of {incident.ref}."
    )
    try:
        draft.md.parent.mkdir(parents=True, exist_ok=True)
        # no secret, no terminal escape
        draft.md.write_text(visible(redact(draft.text)), encoding="utf-8")
        draft.evidence.parent.mkdir(parents=True, exist_ok=True)
        draft.evidence.write_text(redact(build.evidence_json(incident, events)), encoding="utf-8")
        commit: str | None = g.commit_paths(
            r, [_rel(root, p) for p in written], [_rel(root, p) for p in draft.stale], message, who
        )
    except (MlsreError, OSError) as exc:
        g.restore(r, [_rel(root, p) for p in written], draft.saved)
        if isinstance(exc, OSError):
            raise IntegrationError(f"cannot write the postmortem into {root}: {exc}") from None
        raise
    return commit


def _record(
    store: Store,
    incident: Incident,
    closing: Event | None,
    commit: str | None,
    actor: str,
    *,
    root: Path,
    md: Path,
    branch: str,
) -> None:
    """Record the closing (if any) and the publication (if a commit was made)."""
    if closing is not None:
        store.append(incident.id, closing.kind, closing.data, closing.actor, closing.at)
    if commit is not None:
        store.append(
            incident.id,
            EventKind.POSTMORTEM_PUBLISHED,
            {"path": _rel(root, md), "repo": str(root), "branch": branch, "commit": commit},
            actor,
            utcnow(),
        )


def _push(r: Any, remote: str, branch: str) -> tuple[bool, str | None, str | None]:
    """(pushed, error, hint): a failed push keeps the local commit."""
    from mlsre.integrations import git as g

    try:
        g.push(r, remote, branch)
    except g.PushFailed as exc:
        return False, exc.message, exc.hint
    return True, None, None


def _closing_event(incident: Incident, actor: str, at: datetime) -> Event | None:
    if incident.status is not Status.RESOLVED:
        return None
    return Event(
        incident.id,
        incident.last_seq + 1,
        at,
        actor,
        EventKind.CLOSED,
        {"note": "postmortem published"},
    )


def _rel(root: Path, p: Path) -> str:
    try:
        return p.resolve().relative_to(root).as_posix()
    except ValueError:
        raise UsageError(f"{p} is outside the repository {root}") from None


def _tracked(repo: Any, root: Path, p: Path) -> bool:
    return bool(repo.git.ls_files("--", _rel(root, p)).strip())
