"""The shapes every change source returns, and the report ``incident changes`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ChangeKind(StrEnum):
    MODEL = "model"  # a model version deployed, an alias moved
    DATA = "data"  # a training dataset or a feature source changed
    CODE = "code"  # a commit
    CONFIG = "config"  # a config flip, a feature flag
    INFRA = "infra"  # a node pool, a library upgrade, a database migration


class Source(StrEnum):
    REGISTRY = "registry"  # MLflow: versions created, deploy tags, recorded alias moves
    LINEAGE = "lineage"  # the training runs of the live and the previous version
    GIT = "git"  # commits in the repositories under `changes.repos`
    METRICS = "metrics"  # a new version label in the serving metrics
    RECORDED = "recorded"  # `mlsre change record` / the team's change log


@dataclass
class Change:
    kind: ChangeKind
    source: Source
    at: datetime  # UTC: when the change reached production (or was committed, for code)
    summary: str
    model: str | None = None
    service: str | None = None
    link: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    score: float = 0.0  # 0..100, set by the ranking
    reasons: list[str] = field(default_factory=list)  # the score in plain words


@dataclass
class RecordedChange:
    """A row of the team's change log in the incident store."""

    id: int
    at: datetime
    kind: ChangeKind
    summary: str
    actor: str
    model: str | None = None
    service: str | None = None
    recorded_at: datetime | None = None


@dataclass
class LineageSide:
    version: str
    run_id: str | None = None
    commit: str | None = None
    repo_url: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    datasets: list[dict[str, str]] = field(default_factory=list)  # name, digest, source, context


@dataclass
class LineageDiff:
    """The live version against the one before it: what its training changed."""

    model: str
    live: LineageSide
    previous: LineageSide
    lines: list[str] = field(default_factory=list)  # "data changed: ...", "params changed: ..."
    deployed_at: datetime | None = None  # when the live version reached production


@dataclass
class ChangePoint:
    """Where the failing signal shifted (Pettitt's test on a failing step's range evidence)."""

    at: datetime
    step: str
    before: float
    after: float
    p_value: float


@dataclass
class ChangeReport:
    incident: str | None
    anchor: datetime  # what proximity is measured against
    anchor_reason: str  # "incident start" or "change point of <step>"
    window_s: float
    changes: list[Change] = field(default_factory=list)
    lineage: LineageDiff | None = None
    change_point: ChangePoint | None = None
    notes: list[str] = field(default_factory=list)  # a source that could not be read, one line
