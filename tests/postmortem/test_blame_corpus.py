"""The blameless lint measured on labelled sentences in postmortem style.

``blame_corpus.tsv`` (101 blameful, 101 blameless) was written alongside the person-as-cause
rules; ``blame_heldout.tsv`` (15 + 15) was written after them and never used to tune them, so
its figures are the honest estimate. docs/postmortems.md reports both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsre.postmortem.lint import lint_text

DATA = Path(__file__).parents[1] / "data"
NAMES = ["alice", "Bob Smith", "carol", "dana@example.com"]  # the people the incident knows


def _load(name: str) -> list[tuple[bool, str]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, text = line.split("\t")
        assert label in ("blame", "ok"), line
        rows.append((label == "blame", text))
    return rows


def _measure(rows: list[tuple[bool, str]]) -> tuple[float, float, list[str]]:
    flagged = [(blame, text, bool(lint_text(text, names=NAMES).findings)) for blame, text in rows]
    blameful = [f for f in flagged if f[0]]
    blameless = [f for f in flagged if not f[0]]
    recall = sum(hit for _, _, hit in blameful) / len(blameful)
    false_alarms = sum(hit for _, _, hit in blameless) / len(blameless)
    wrong = [text for blame, text, hit in flagged if blame != hit]
    return recall, false_alarms, wrong


def test_corpus_is_big_enough_and_balanced() -> None:
    rows = _load("blame_corpus.tsv")
    assert sum(b for b, _ in rows) >= 100 and sum(not b for b, _ in rows) >= 100
    assert len({t for _, t in rows}) == len(rows)  # no sentence twice


@pytest.mark.parametrize(
    ("corpus", "min_recall", "max_false_alarms"),
    [("blame_corpus.tsv", 0.90, 0.05), ("blame_heldout.tsv", 0.60, 0.05)],
)
def test_recall_and_false_alarms(corpus: str, min_recall: float, max_false_alarms: float) -> None:
    recall, false_alarms, wrong = _measure(_load(corpus))
    assert recall >= min_recall, (recall, wrong)
    assert false_alarms <= max_false_alarms, (false_alarms, wrong)
