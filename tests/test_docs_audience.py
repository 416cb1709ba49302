"""User docs speak to users: no notes meant for the people building mlsre."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# How team notes look: a tracker number, a session handle, who-did-what on which branch.
TEAM_NOTES = re.compile(
    r"\bissue[- ]?#?\d+|\bh\d{2}[a-z]\b|\bthe lead\b|other engineers|previous session"
    r"|\bmain's\b|\bworktree\b",
    re.IGNORECASE,
)


def _user_docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_pattern_finds_what_it_looks_for() -> None:
    for note in ("see issue 13", "issue-13 probe", "done by h14o", "other engineers' tests"):
        assert TEAM_NOTES.search(note), note
    for text in ("a ticket alert", "the comms lead", "--branch", "pull request"):
        assert not TEAM_NOTES.search(text), text


def test_user_docs_carry_no_team_notes() -> None:
    docs = _user_docs()
    assert len(docs) > 10
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in docs
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if TEAM_NOTES.search(line)
    ]
    assert not found, "\n".join(found)
