"""A realistic fraud-detector incident built through the store API, and real git repositories.

The incident: version 4 of ``fraud-detector`` went live at ``T0``; p99 latency rose about 7x and
errors 10x. The alert opened the incident 12 minutes later; the bad-model-deploy runbook found
the regression, charted the latency (a range series), saw feature drift, and rolled the
``champion`` alias back from 4 to 3. Mitigated at T0+31m, resolved at T0+58m, with action items.
Step results carry the data the engine records (see ``Engine._finish``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mlsre.incident.model import ActionType, EventKind, Severity
from mlsre.incident.service import open_incident
from mlsre.incident.store import Store, open_store

T0 = datetime(2026, 11, 28, 17, 29, tzinfo=UTC)
RUN = "run-7f3a"
COMMANDER = "Dana Kim"
SCRIBE = "luis"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def latency_points() -> list[list[float]]:
    """p99 seconds each minute from T0-60m to T0+45m: 0.08, then 0.57 until the rollback."""
    out = []
    for m in range(-60, 46):
        v = 0.08 if m < 0 or m >= 31 else 0.57
        out.append([at(m).timestamp(), v])
    return out


def _step(
    store: Store,
    inc: int,
    minute: float,
    step: str,
    kind: str,
    status: str,
    summary: str,
    *,
    phase: str = "diagnose",
    output: Any = None,
    samples: list[dict[str, Any]] | None = None,
    changes: list[dict[str, Any]] | None = None,
    evidence: dict[str, Any] | None = None,
    actor: str = COMMANDER,
) -> None:
    store.append(
        inc,
        EventKind.STEP_STARTED,
        {"run": RUN, "step": step, "kind": kind, "phase": phase, "description": f"{kind} {step}"},
        actor,
        at(minute),
    )
    store.append(
        inc,
        EventKind.STEP_RESULT,
        {
            "run": RUN,
            "step": step,
            "kind": kind,
            "phase": phase,
            "status": status,
            "summary": summary,
            "duration_s": 0.21,
            "attempts": 1,
            "output": output if output is not None else {},
            "samples": samples or [],
            "changes": changes or [],
            "evidence": evidence or {},
        },
        actor,
        at(minute + 0.2),
    )


def build_incident(store: Store) -> int:
    """Record the whole story; returns the incident id. About forty events."""
    inc = open_incident(
        store,
        title="fraud-detector p99 latency 7x after version 4",
        severity=Severity.SEV2,
        actor="alertmanager",
        model="fraud-detector",
        service="fraud-api",
        summary="Checkout fraud scoring slowed down and timed out for some payments.",
        started=T0.isoformat(),
        commander=COMMANDER,
        at=at(12),
    ).id
    store.append(
        inc, EventKind.ROLE_ASSIGNED, {"role": "scribe", "person": SCRIBE}, COMMANDER, at(13)
    )
    store.append(inc, EventKind.ACKNOWLEDGED, {"note": "looking"}, COMMANDER, at(14))
    store.append(
        inc,
        EventKind.NOTE,
        {"text": "p99 up since 17:29, when version 4 went live"},
        SCRIBE,
        at(15),
    )
    store.append(
        inc,
        EventKind.RUNBOOK_STARTED,
        {
            "run": RUN,
            "runbook": "bad-model-deploy",
            "title": "Bad model deploy",
            "inputs": {"model": "fraud-detector"},
        },
        COMMANDER,
        at(16),
    )
    _step(store, inc, 16, "live-version", "registry.current", "passed", "fraud-detector@champion = version 4 (promoted 28m ago)",
          output={"model": "fraud-detector", "version": "4", "alias": "champion"})  # fmt: skip
    _step(store, inc, 17, "errors-vs-before", "prometheus.compare", "failed",
          "{}: 0.05 vs 0.005 before (10x)", output={"ratio": 10.0, "now": 0.05, "baseline": 0.005},
          samples=[{"value": 10.0, "ratio": 10.0, "now": 0.05, "baseline": 0.005, "labels": {}}])  # fmt: skip
    _step(store, inc, 18, "latency-vs-before", "prometheus.compare", "failed",
          "{}: 0.57 vs 0.08 before (7.125x)", output={"ratio": 7.125})  # fmt: skip
    series = [{"labels": {"model": "fraud-detector"}, "points": latency_points()}]
    query = (
        "histogram_quantile(0.99, sum by (le) (rate(model_request_duration_seconds_bucket[5m])))"
    )
    _step(store, inc, 19, "latency-trend", "prometheus.range", "passed",
          "model=fraud-detector: last 0.57 (min 0.08, max 0.57) ▁▁▁█████",
          output={"query": query, "start": "", "end": "", "step_s": 60.0, "samples": [], "series": series},
          evidence={"request": {"query": query}, "data": {"series": series}})  # fmt: skip
    drift_table = {"columns": ["column", "method", "statistic", "p-value", "verdict"],
                   "rows": [["amount", "psi", 0.35, None, "drift"], ["merchant_id", "psi", 0.1213, None, "ok"],
                            ["hour", "psi", 0.01, None, "ok"]]}  # fmt: skip
    _step(store, inc, 20, "amount-drift", "drift.compare", "failed",
          "amount: PSI 0.35 (major); merchant_id: PSI 0.12 (moderate)",
          output={"dataset_drift": False, "table": drift_table})  # fmt: skip
    _step(store, inc, 21, "country-nulls", "prometheus.query", "failed",
          "feature=country: 0.42 null")  # fmt: skip
    change = {"system": "mlflow", "model": "fraud-detector", "alias": "champion", "before": "4", "after": "3",
              "from_version": "4", "to_version": "3", "verified": True, "reason": "p99 regressed 7x at the version change"}  # fmt: skip
    _step(store, inc, 28, "rollback", "registry.rollback", "passed",
          "champion: 4 -> 3 (verified)", phase="mitigate", changes=[change],
          output={"model": "fraud-detector", "alias": "champion", "before": "4", "after": "3"})  # fmt: skip
    store.append(
        inc,
        EventKind.MODEL_CHANGED,
        {"run": RUN, "step": "rollback", **change},
        COMMANDER,
        at(28.3),
    )
    _step(
        store, inc, 30, "verify-errors", "prometheus.query", "passed", "{}: 0.004", phase="verify"
    )
    store.append(
        inc,
        EventKind.RUNBOOK_FINISHED,
        {
            "run": RUN,
            "runbook": "bad-model-deploy",
            "outcome": "unhealthy",
            "counts": {"passed": 4, "failed": 4},
        },
        COMMANDER,
        at(30.5),
    )
    store.append(inc, EventKind.MITIGATED, {"note": "rolled back to version 3"}, COMMANDER, at(31))
    store.append(
        inc,
        EventKind.SEVERITY_CHANGED,
        {"severity": "SEV3", "reason": "mitigated"},
        COMMANDER,
        at(33),
    )
    store.append(
        inc,
        EventKind.ESCALATED,
        {"to": "data-platform", "reason": "country_lookup stale"},
        SCRIBE,
        at(35),
    )
    store.append(
        inc,
        EventKind.NOTE,
        {"text": "country_lookup table stopped refreshing at 15:59"},
        SCRIBE,
        at(40),
    )
    actions = [
        ("Alert on p99 per model version", ActionType.DETECT, "ml-platform", "https://tracker.example/ML-101"),
        ("Canary gate before moving champion", ActionType.PREVENT, COMMANDER, None),
        ("Freshness SLO for country_lookup", ActionType.PREVENT, "data-platform", None),
    ]  # fmt: skip
    for n, (title, kind, owner, link) in enumerate(actions):
        data = {
            "title": title,
            "type": kind.value,
            "owner": owner,
            "due": "2026-12-15",
            "link": link,
        }
        store.append(inc, EventKind.ACTION_ADDED, data, SCRIBE, at(45 + n))
    store.append(inc, EventKind.ACTION_DONE, {"action": 1}, SCRIBE, at(50))
    store.append(
        inc,
        EventKind.RESOLVED,
        {"resolution": "champion rolled back to version 3; version 4 quarantined"},
        COMMANDER,
        at(58),
    )
    return inc


@dataclass
class PostmortemEnv:
    """A workspace whose postmortem repo is a real clone-like repo with a bare ``origin``."""

    ws: Path
    repo: Path
    origin: Path
    store: Store
    incident: int

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return git(cwd or self.repo, *args)


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def make_repo(root: Path) -> tuple[Path, Path]:
    """A bare ``origin`` and a repository with one commit pushed to it; returns (repo, origin)."""
    origin = root / "origin.git"
    repo = root / "postmortems"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    git(repo, "config", "user.name", "Pat Writer")
    git(repo, "config", "user.email", "pat@example.com")
    (repo / "README.md").write_text("# Postmortems\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "Start the postmortem repo")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    return repo, origin


@pytest.fixture
def pm_env(tmp_path: Path) -> Iterator[PostmortemEnv]:
    ws = tmp_path / "ws"
    (ws / "slos").mkdir(parents=True)
    repo, origin = make_repo(tmp_path)
    (ws / "mlsre.yaml").write_text(
        f"store: {{url: sqlite:///{ws / 'mlsre.db'}}}\n"
        f"postmortems: {{repo: {repo}, remote: origin, branch: main}}\n"
        "slo_paths: [./slos]\n"
    )
    # The store the CLI would use: MLSRE_STORE_URL when a test runs on PostgreSQL.
    store = open_store(os.environ.get("MLSRE_STORE_URL") or f"sqlite:///{ws / 'mlsre.db'}")
    inc = build_incident(store)
    yield PostmortemEnv(ws, repo, origin, store, inc)
    store.close()
