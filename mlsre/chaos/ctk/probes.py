"""Chaos Toolkit probes: the verdicts of mlsre's own checks. Each returns ``noticed``: whether
the check would have stopped or flagged the fault (its gate failed, or it could not tell)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "data_check_verdict",
    "drift_verdict",
    "runbook_verdict",
    "serving_version",
    "slo_verdict",
]


def data_check_verdict(current: str, reference: str, target: str | None = None) -> dict[str, Any]:
    """``mlsre data check CURRENT --reference REFERENCE [--target T]``: noticed = it fails."""
    from mlsre.drift.gates import Gates
    from mlsre.drift.quality import Severity, check_file

    report = check_file(Path(current), reference=Path(reference), gates=Gates(target=target))
    errors = [f.message for f in report.findings if f.severity is Severity.ERROR]
    return {"noticed": not report.passed, "passed": report.passed, "errors": errors[:10]}


def drift_verdict(reference: str, current: str, fail_on: list[str] | None = None) -> dict[str, Any]:
    """``mlsre drift compare REF CUR --fail-on-drift [--fail-on COLS]``: noticed = it fails."""
    from mlsre.drift.compare import CompareOptions, compare_files, gate_failures

    report = compare_files(Path(reference), Path(current), CompareOptions())
    reasons = gate_failures(report, dataset=True, columns=list(fail_on or []))
    drifted = [c.column for c in report.columns if c.status.value == "drift"]
    return {
        "noticed": bool(reasons),
        "drifted": bool(reasons),
        "reasons": reasons,
        "drifted_columns": drifted,
        "drift_share": report.drift_share,
    }


def runbook_verdict(
    runbook: str,
    replay: str | None = None,
    inputs: dict[str, str] | None = None,
    at: str | None = None,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``mlsre runbook test RUNBOOK --replay FILE [--at T]`` (without a replay: against the
    configured servers, as of ``at``) on a throwaway incident: the run's outcome (healthy,
    unhealthy, error). Noticed = anything but healthy: a failed check, or one that could not
    run (we do not know, which is not "all is well")."""
    from mlsre.chaos.ctk._settings import activity_settings
    from mlsre.runbook.engine import Unattended
    from mlsre.runbook.runner import test
    from mlsre.timeutil import parse_time

    settings = activity_settings(configuration)
    report = test(
        runbook,
        settings,
        Path(replay) if replay else None,
        dict(inputs or {}),
        parse_time(at) if at else None,
        Unattended(yes=True),
    )
    outcome = report.outcome.value
    steps = {o.step: o.status.value for o in report.steps}
    return {"noticed": outcome != "healthy", "outcome": outcome, "steps": steps}


def slo_verdict(
    slo: str | None = None, at: str | None = None, configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``mlsre slo status [--at T]`` against the configured Prometheus: noticed = an SLO's
    error budget is spent or one of its burn-rate alerts fires."""
    from mlsre.chaos.ctk._settings import activity_settings
    from mlsre.integrations.prometheus import PrometheusClient
    from mlsre.slo.status import load_workspace_slos, slo_status
    from mlsre.timeutil import parse_time, utcnow

    settings = activity_settings(configuration)
    when = parse_time(at) if at else utcnow()
    client = PrometheusClient(settings.prometheus)
    bad, seen = [], []
    for spec in load_workspace_slos(settings):
        if slo is not None and spec.name != slo:
            continue
        status = slo_status(client, spec, when)
        seen.append(spec.name)
        spent = status.budget_remaining is not None and status.budget_remaining <= 0
        if spent or status.firing:
            bad.append(spec.name)
    return {"noticed": bool(bad), "unhealthy": bad, "slos": seen}


def serving_version(
    model: str, alias: str = "champion", configuration: dict[str, Any] | None = None
) -> str:
    """The version ``model@alias`` points at in the configured registry (a steady state)."""
    from mlsre.chaos.ctk._settings import activity_settings
    from mlsre.integrations.mlflow import MlflowClient

    settings = activity_settings(configuration)
    return MlflowClient(settings.registry).version_by_alias(model, alias).version
