"""What a preflight finds: per step a status, findings, and ``--input`` overrides that would help."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mlsre.errors import ExitCode


class CheckStatus(StrEnum):
    OK = "ok"  # ran against the live systems: the check works as written
    NO_DATA = "no_data"  # metrics and labels exist, but nothing matched right now
    UNKNOWN_METRIC = "unknown_metric"
    MISSING_LABEL = "missing_label"
    UNKNOWN_LABEL_VALUE = "unknown_label_value"
    REGISTRY_MISSING = "registry_missing"  # the model or alias does not exist
    BROKEN = "broken"  # bad query, template or parameters: cannot run as written
    UNREACHABLE = "unreachable"  # could not check: a server down, slow or garbled
    NOT_RUN = "not_run"  # mutating, asks a person, or off for these inputs

    @property
    def broken(self) -> bool:
        """Would the runbook not work at 03:00 because of this?"""
        return self in _BROKEN

    @property
    def rank(self) -> int:
        return _RANK.index(self)


_BROKEN = frozenset(
    {
        CheckStatus.UNKNOWN_METRIC,
        CheckStatus.MISSING_LABEL,
        CheckStatus.UNKNOWN_LABEL_VALUE,
        CheckStatus.REGISTRY_MISSING,
        CheckStatus.BROKEN,
    }
)
# worst first
_RANK = [
    CheckStatus.BROKEN,
    CheckStatus.UNKNOWN_METRIC,
    CheckStatus.MISSING_LABEL,
    CheckStatus.UNKNOWN_LABEL_VALUE,
    CheckStatus.REGISTRY_MISSING,
    CheckStatus.UNREACHABLE,
    CheckStatus.NO_DATA,
    CheckStatus.OK,
    CheckStatus.NOT_RUN,
]


def worst(statuses: Sequence[CheckStatus], default: CheckStatus = CheckStatus.OK) -> CheckStatus:
    return min(statuses, key=lambda s: s.rank) if statuses else default


def first_suggestions(suggestions: Iterable[dict[str, str]]) -> dict[str, str]:
    """Suggested ``--input`` values merged: the first one for each input wins."""
    out: dict[str, str] = {}
    for suggest in suggestions:
        for k, v in suggest.items():
            out.setdefault(k, v)
    return out


@dataclass
class Finding:
    status: CheckStatus
    message: str
    metric: str | None = None
    label: str | None = None
    value: str | None = None
    did_you_mean: list[str] = field(default_factory=list)
    suggest: dict[str, str] = field(default_factory=dict)  # input name -> value that would fix it


@dataclass
class StepCheck:
    step: str
    title: str
    kind: str
    status: CheckStatus
    summary: str
    findings: list[Finding] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)

    @property
    def suggest(self) -> dict[str, str]:
        return first_suggestions(f.suggest for f in self.findings)


@dataclass
class RunbookCheck:
    id: str
    title: str
    status: CheckStatus
    inputs: dict[str, Any] = field(default_factory=dict)
    steps: list[StepCheck] = field(default_factory=list)
    problem: str | None = None  # the runbook could not be checked at all (e.g. missing input)
    suggest: dict[str, str] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def works(self) -> bool:
        return not self.status.broken


@dataclass
class PreflightReport:
    runbooks: list[RunbookCheck]
    at: str
    duration_s: float = 0.0
    invalid: list[str] = field(default_factory=list)  # runbook files that do not even load

    @property
    def ok(self) -> bool:
        return not self.invalid and all(r.works for r in self.runbooks)

    @property
    def exit_code(self) -> ExitCode:
        if not self.ok:
            return ExitCode.FAILED
        if any(r.status is CheckStatus.UNREACHABLE for r in self.runbooks):
            return ExitCode.CHECK_ERROR
        return ExitCode.OK

    def suggest(self) -> dict[str, str]:
        """Every runbook's suggested ``--input`` overrides, the first one for each input."""
        return first_suggestions(r.suggest for r in self.runbooks)

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in CheckStatus}
        for r in self.runbooks:
            for s in r.steps:
                out[s.status.value] += 1
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "at": self.at,
            "duration_s": round(self.duration_s, 3),
            "counts": self.counts(),
            "suggest": self.suggest(),
            "invalid": self.invalid,
            "runbooks": [
                {
                    "id": r.id,
                    "title": r.title,
                    "status": r.status.value,
                    "works": r.works,
                    "problem": r.problem,
                    "suggest": r.suggest,
                    "inputs": r.inputs,
                    "steps": [
                        {
                            "step": s.step,
                            "title": s.title,
                            "kind": s.kind,
                            "status": s.status.value,
                            "summary": s.summary,
                            "queries": s.queries,
                            "suggest": s.suggest,
                            "findings": [
                                {
                                    "status": f.status.value,
                                    "message": f.message,
                                    "metric": f.metric,
                                    "label": f.label,
                                    "value": f.value,
                                    "did_you_mean": f.did_you_mean,
                                    "suggest": f.suggest,
                                }
                                for f in s.findings
                            ],
                        }
                        for s in r.steps
                    ],
                }
                for r in self.runbooks
            ],
        }
