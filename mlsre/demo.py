"""``mlsre demo``: the whole incident story in a fresh workspace, with no servers.

Prometheus and MLflow answers are a REPLAY of a recorded scenario (version 4 of fraud-detector
went live and is ~7x slower); the drift step is computed for real on bundled sample data; the
postmortem is committed to a real, new local git repository.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlsre.incident.model import ActionType, EventKind, Role, Severity
from mlsre.paths import bundled_dir

MODEL = "fraud-detector"
# The recorded scenario's evaluation time: 45 minutes after version 4 went live.
SCENARIO_AT = datetime(2026, 11, 28, 18, 14, tzinfo=UTC)
ON_CALL = "alice (demo)"
ACTIONS = [
    ("Canary gate on p99 per model version before promotion", ActionType.DETECT, "ml-platform"),
    ("Load-test new versions (deeper trees) before promotion", ActionType.PREVENT, "fraud-ml"),
    ("Alert on feature PSI for amount above 0.25", ActionType.DETECT, "fraud-ml"),
]
SCRIBE = "bob (demo)"


@dataclass
class RunSummary:
    runbook: str
    outcome: str
    steps: dict[str, str]  # step -> status
    highlights: list[str] = field(default_factory=list)


@dataclass
class DemoReport:
    workspace: str
    incident: str
    replayed_from: list[str]
    runs: list[RunSummary]
    postmortem: str
    postmortem_commit: str | None
    timeline_events: int


def _replay(name: str) -> Path:
    return bundled_dir("data") / f"replay-{name}.json"


def run_demo(root: Path, say: Callable[[str], None] = lambda _: None) -> DemoReport:
    from mlsre.drift.samples import sample_paths
    from mlsre.incident.service import add_action, open_incident, record
    from mlsre.incident.store import open_store
    from mlsre.postmortem.publish import publish
    from mlsre.runbook.engine import Engine, RunOptions, Unattended
    from mlsre.runbook.runner import load, replay_transport
    from mlsre.settings import load_settings
    from mlsre.workspace import init_workspace

    init_workspace(root)
    settings, _ = load_settings(root / "mlsre.yaml")
    store = open_store(settings.store.url)
    now = datetime.now(UTC)
    inc = open_incident(
        store,
        title=f"{MODEL}: p99 latency 7x and errors up after a deploy",
        severity=Severity.SEV2,
        actor="alertmanager",
        model=MODEL,
        service="fraud-scoring",
        summary="ModelLatencyP99High fired for fraud-detector; checkout fraud checks are timing out.",
        started=(now - timedelta(minutes=45)).isoformat(),
    )
    say(f"Opened {inc.ref} for {MODEL} (SEV2), started 45 minutes ago")
    record(store, inc.id, EventKind.ACKNOWLEDGED, ON_CALL, {"note": "paged; looking"})
    record(
        store,
        inc.id,
        EventKind.ROLE_ASSIGNED,
        ON_CALL,
        {"role": Role.COMMANDER.value, "person": ON_CALL},
    )
    record(
        store,
        inc.id,
        EventKind.ROLE_ASSIGNED,
        ON_CALL,
        {"role": Role.SCRIBE.value, "person": SCRIBE},
    )

    runs: list[RunSummary] = []
    engine = Engine(store, settings, Unattended(yes=True))
    reference, current = sample_paths()
    plan = [
        ("latency-regression", {"model": MODEL}),
        (
            "data-drift",
            {"model": MODEL, "reference_data": str(reference), "current_data": str(current)},
        ),
    ]
    for runbook_id, inputs in plan:
        say(f"Running runbook {runbook_id} (replay of recorded Prometheus/MLflow answers)")
        runbook = load(runbook_id, settings)
        options = RunOptions(
            inputs=inputs, at=SCENARIO_AT, transport=replay_transport(_replay(runbook_id))
        )
        report = engine.run(runbook, options, store.get(inc.id), actor=ON_CALL)
        summary = RunSummary(
            runbook_id, report.outcome.value, {o.step: o.status.value for o in report.steps}
        )
        for o in report.steps:
            if o.status.value in ("failed", "passed") and (
                o.changes or o.kind.startswith("drift.") or o.status.value == "failed"
            ):
                summary.highlights.append(f"{o.step}: {o.status.value} — {o.summary}")
        for line in summary.highlights[:6]:
            say(f"  {line}")
        runs.append(summary)

    record(
        store,
        inc.id,
        EventKind.MITIGATED,
        ON_CALL,
        {"note": "champion rolled back from version 4 to 3"},
    )
    record(
        store,
        inc.id,
        EventKind.NOTE,
        SCRIBE,
        {"text": "p99 back under 300 ms ten minutes after the rollback"},
    )
    for title, kind, owner in ACTIONS:
        add_action(store, inc.id, title=title, type=kind, actor=ON_CALL, owner=owner)
    record(
        store,
        inc.id,
        EventKind.RESOLVED,
        ON_CALL,
        {
            "resolution": "Rolled fraud-detector back to version 3; version 4 (deeper trees: max_depth and num_leaves up) stays out until it is load-tested."
        },
    )
    say(f"Mitigated and resolved {inc.ref}")

    result = publish(store, inc.id, settings, actor=ON_CALL, slo=False)
    say(
        f"Published the postmortem: postmortems/{result.path} (commit {(result.commit or '')[:10]})"
    )
    return DemoReport(
        workspace=str(root),
        incident=inc.ref,
        replayed_from=[str(_replay(r)) for r, _ in plan],
        runs=runs,
        postmortem=str(Path(result.repo) / result.path),
        postmortem_commit=result.commit,
        timeline_events=len(store.events(inc.id)),
    )
