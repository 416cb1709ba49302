"""A readiness scorecard: per model, items that pass, fail or are unknown, and a score."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mlsre.errors import ExitCode


class ItemStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"  # could not tell: a server down, or the subsystem is not configured


@dataclass
class Item:
    id: str
    title: str
    status: ItemStatus
    reason: str
    fix: str | None = None  # the command or config that makes it pass


@dataclass
class Scorecard:
    model: str
    items: list[Item] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Share of items that pass, 0-100: unknown is not evidence of readiness."""
        if not self.items:
            return 0.0
        passed = sum(1 for i in self.items if i.status is ItemStatus.PASS)
        return round(100.0 * passed / len(self.items), 1)

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for i in self.items if i.status is s) for s in ItemStatus}


@dataclass
class ReadinessReport:
    scorecards: list[Scorecard]
    min_score: float
    at: str

    @property
    def ok(self) -> bool:
        return all(c.score >= self.min_score for c in self.scorecards)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.ok else ExitCode.FAILED

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "min_score": self.min_score,
            "at": self.at,
            "models": [
                {
                    "model": c.model,
                    "score": c.score,
                    "passes": c.score >= self.min_score,
                    "counts": c.counts(),
                    "items": [
                        {
                            "id": i.id,
                            "title": i.title,
                            "status": i.status.value,
                            "reason": i.reason,
                            "fix": i.fix,
                        }
                        for i in c.items
                    ],
                }
                for c in self.scorecards
            ],
        }
