"""What ``mlsre postmortem lint`` checks: a file, or an incident's published (or rendered) text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mlsre.errors import MlsreError, NotFoundError
from mlsre.incident.model import parse_id
from mlsre.incident.store import Store
from mlsre.postmortem import build
from mlsre.postmortem.lint import LintReport, lint_text

_REF = re.compile(r"^#[^\n]*?\bINC-(\d+)\b", re.M)


def lint_target(
    target: str, settings: Any, store: Store, extra_names: list[str] | None = None
) -> LintReport:
    """Lint ``target``: a markdown file, else an incident id (its published file if any)."""
    allow = settings.postmortems.lint_allowlist
    path = Path(target)
    extra = extra_names or []
    if path.is_file():
        from mlsre.yamlfile import read_text  # refuses binary, undecodable or huge files

        text = read_text(path)
        names = [*_names_in(text, store), *extra]
        return lint_text(text, names=names, allowlist=allow, source=str(path))
    if path.suffix or "/" in target:
        raise NotFoundError(f"no file {target}", hint="give a markdown file or an incident id")
    inc, events = build.load(store, parse_id(target))
    names = [*build.people(inc, events), *extra]
    root = settings.resolve(settings.postmortems.repo)
    if root.is_dir():
        from mlsre.postmortem.publish import find_existing

        existing = find_existing(root, inc.ref)
        if existing is not None:
            text = existing.read_text(encoding="utf-8")
            return lint_text(text, names=names, allowlist=allow, source=str(existing))
    from mlsre.postmortem.render import template_dirs

    ctx = build.make_context(inc, events, settings=settings, slo=False)
    text = build.render(ctx, template_dirs(Path(settings.base_dir))).markdown
    return lint_text(text, names=names, allowlist=allow, source=f"{inc.ref} (rendered)")


def _names_in(text: str, store: Store) -> list[str]:
    """The people of the incident a postmortem file is about (its title names it), if known."""
    m = _REF.search(text)
    if m is None:
        return []
    try:
        inc, events = build.load(store, int(m.group(1)))
    except MlsreError:
        return []
    return build.people(inc, events)
