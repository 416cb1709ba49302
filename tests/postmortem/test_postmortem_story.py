"""What the runbook runs found, told once: findings, checks that could not run, run lines,
the mitigated time and change points, on events recorded through the real store (no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlsre.incident.model import EventKind, Severity
from mlsre.incident.service import open_incident
from mlsre.incident.store import Store, open_store
from mlsre.postmortem import build
from mlsre.postmortem.render import template_dirs
from mlsre.postmortem.signals import change_point
from tests.support.fixtures_postmortem import at

Q_ERR = 'sum(rate(errors{model="m"}[5m])) / sum(rate(requests{model="m"}[5m]))'


def _run(store: Store, inc: int, minute: float, run: str, runbook: str, steps: list[Any]) -> None:
    data: dict[str, Any] = {
        "run": run,
        "runbook": runbook,
        "title": runbook,
        "inputs": {},
        "at": None,
    }
    store.append(inc, EventKind.RUNBOOK_STARTED, data, "ann", at(minute))
    for i, (step, kind, phase, status, summary, output) in enumerate(steps):
        store.append(
            inc,
            EventKind.STEP_RESULT,
            {
                "run": run,
                "step": step,
                "kind": kind,
                "phase": phase,
                "status": status,
                "summary": summary,
                "duration_s": 0.1,
                "attempts": 1,
                "output": output,
            },
            "ann",
            at(minute + 0.1 * (i + 1)),
        )
    finished = {"run": run, "runbook": runbook, "outcome": "unhealthy"}
    store.append(inc, EventKind.RUNBOOK_FINISHED, finished, "ann", at(minute + 1))


def _incident(tmp_path: Path) -> tuple[Store, int]:
    store = open_store(f"sqlite:///{tmp_path / 'pm.db'}")
    inc = open_incident(
        store, title="m errors", severity=Severity.SEV2, actor="ann", model="m", at=at(10),
        started=at(0).isoformat(),
    )  # fmt: skip
    down = "cannot reach Prometheus at http://127.0.0.1:9 (connection refused)"
    errors = ("errors", "prometheus.query", "diagnose", "failed", "expect `value < 0.01` broken by 0.05", {"query": Q_ERR})  # fmt: skip
    for n, minute in enumerate((12, 20)):  # the same runbook run twice: the same findings
        _run(store, inc.id, minute, f"run-a{n}", "error-rate", [
            errors,
            ("traffic", "prometheus.query", "diagnose", "error", down, {}),
            ("rollback", "registry.rollback", "mitigate", "skipped", "awaiting approval", {}),
            ("recovered", "wait", "verify", "failed", "still not holding", {"query": Q_ERR}),
        ])  # fmt: skip
    _run(store, inc.id, 25, "run-b", "bad-deploy", [
        ("errors-vs-before", "prometheus.compare", "diagnose", "failed", "expect `ratio < 2` broken by 10",
         {"query": Q_ERR.replace("5m", "10m"), "baseline": "version_change", "version": "4",
          "previous_version": "3", "changed_at": at(0).isoformat(),
          "samples": [{"now": 0.05, "baseline": 0.005, "labels": {}}]}),
        ("errors-now", "prometheus.query", "diagnose", "failed", "expect `value < 0.01` broken by 0.05", {"query": Q_ERR}),
        ("rollback", "registry.rollback", "mitigate", "passed", "rolled back m@champion: 4 -> 3", {}),
        ("recovered", "wait", "verify", "failed", "still not holding", {"query": Q_ERR}),
    ])  # fmt: skip
    store.append(inc.id, EventKind.MITIGATED, {"note": "rolled back"}, "ann", at(40))
    store.append(inc.id, EventKind.RESOLVED, {"resolution": "v3"}, "ann", at(50))
    return store, inc.id


def test_findings_are_ranked_deduplicated_and_unknowns_listed_apart(tmp_path: Path) -> None:
    store, inc = _incident(tmp_path)
    state, events = build.load(store, inc)
    ctx = build.make_context(state, events, slo=False)
    story = ctx.story
    # the deploy comparison first; the query found by three checks is one finding
    assert [f.step for f in story.findings] == ["errors-vs-before", "errors-now"]
    assert story.findings[0].tied_to_change
    assert "0.05 now vs 0.005 before version 4 went live at 17:29 (10x)" in story.findings[0].detail
    assert story.findings[1].found_by == ["error-rate/errors", "bad-deploy/errors-now"]
    # verify steps are never findings; the two after the skipped rollback are counted apart
    assert story.left_out_verify == 2
    assert [(u.where, u.times) for u in story.unknown] == [("error-rate/traffic", 2)]
    md = build.render(ctx, template_dirs(tmp_path)).markdown
    causes = md.split("## Root causes and trigger")[1].split("## Resolution")[0]
    assert (
        "2 verify check(s) that ran after a mitigation that did not run are not findings." in causes
    )
    assert (
        "Could not run (health unknown): `error-rate/traffic` (cannot reach Prometheus at"
        " http://127.0.0.1:9 (connection refused), 2 times)." in causes
    )
    assert "recovered" not in causes
    # the mitigation: the rollback step at 17:54:18, before the `mitigate` command at 18:09
    assert ctx.mitigated_by_step and ctx.mitigated_at == at(25.3)
    timeline = md.split("## Timeline")[1].split("## Detection")[0]
    runs = [ln for ln in timeline.splitlines() if "Ran runbook `" in ln]
    assert len(runs) == 3 and "failing: `errors`" in runs[0] and "recovered" not in runs[0]
    assert "| 2026-11-28 17:29:00 | *observed* | Version 4 went live (replacing version 3)" in md
    assert "| 2026-11-28 17:54:18 | **mitigated** | First successful mitigation step `bad-deploy/rollback`" in md  # fmt: skip
    assert "Same findings as run `run-a0`." in md


def test_change_point_finds_a_step_and_ignores_noise() -> None:
    flat = [(float(t), 1.0 + (0.01 if t % 2 else -0.01)) for t in range(40)]
    assert change_point(flat) is None
    step = [(float(t), 0.0 if t < 25 else 0.42) for t in range(40)]
    found = change_point(step)
    assert found is not None and found[0] == 25.0 and found[1:] == (0.0, 0.42)
    assert change_point(step[:5]) is None  # too short to say
    assert change_point([(float(t), float("nan")) for t in range(40)]) is None


def test_prometheus_down_costs_one_question_and_one_line(tmp_path: Path) -> None:
    from mlsre.settings import load_settings
    from tests.support.faulty_server import refused_url

    store, inc = _incident(tmp_path)
    (tmp_path / "mlsre.yaml").write_text(f"prometheus: {{url: '{refused_url()}', retries: 0}}\n")
    settings, _ = load_settings(tmp_path / "mlsre.yaml")
    state, events = build.load(store, inc)
    ctx = build.make_context(state, events, settings=settings)
    assert ctx.charts == []
    md = build.render(ctx, template_dirs(tmp_path)).markdown
    notes = [ln for ln in md.splitlines() if ln.startswith("Charts: no chart for")]
    assert len(notes) == 1, notes
    assert "errors-now (cannot reach Prometheus" in notes[0]  # asked once (one per query)...
    assert "errors-vs-before (Prometheus did not answer)" in notes[0]  # ...then not again
    ctx = build.make_context(state, events, settings=settings, slo=False)  # --no-slo
    assert "errors-now (Prometheus was not asked)" in str(ctx.chart_note)
