"""Readiness items: SLOs defined, their rules loaded, every alert about the model has a runbook."""

from __future__ import annotations

from typing import Any

from mlsre.errors import MlsreError
from mlsre.readiness.context import Context, unknown
from mlsre.readiness.report import ItemStatus


def _model_slos(ctx: Context, model: str) -> list[Any]:
    return [s for s in ctx.slos() if s.service == model or model in (s.labels or {}).values()]


def slos_defined(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    try:
        mine = _model_slos(ctx, model)
    except MlsreError as exc:
        return ItemStatus.FAIL, f"the SLO files do not load: {exc.message}", "`mlsre slo list`"
    if mine:
        return ItemStatus.PASS, f"{len(mine)} SLO(s): {', '.join(s.name for s in mine)}", None
    where = ", ".join(ctx.settings.slo_paths)
    return (
        ItemStatus.FAIL,
        f"no SLO in {where} has spec.service {model!r}",
        f"add an OpenSLO file with `service: {model}` to {where} (see docs/slo.md)",
    )


def slo_rules_loaded(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    try:
        mine = _model_slos(ctx, model)
    except MlsreError as exc:
        return ItemStatus.UNKNOWN, f"the SLO files do not load: {exc.message}", "`mlsre slo list`"
    if not mine:
        return ItemStatus.UNKNOWN, "no SLO defined for the model", "define one first"
    try:
        loaded = {(r.get("labels") or {}).get("mlsre_slo") for r in ctx.rules()}
    except MlsreError as exc:
        status, reason = unknown(exc, "Prometheus for its rules")
        return status, reason, None
    missing = [s.name for s in mine if s.name not in loaded]
    if not missing:
        return ItemStatus.PASS, f"rules of {', '.join(s.name for s in mine)} are loaded", None
    return (
        ItemStatus.FAIL,
        f"Prometheus has no rules for SLO {', '.join(missing)}",
        "`mlsre slo rules -o slo-rules.yml`, add it to rule_files in prometheus.yml, reload",
    )


def _alert_is_for(rule: dict[str, Any], model: str) -> bool:
    labels = rule.get("labels") or {}
    if model in (labels.get("model"), labels.get("mlsre_service")):
        return True
    return f'"{model}"' in str(rule.get("query") or "")


def alerts_have_runbooks(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    try:
        rules = [r for r in ctx.rules() if r.get("type") == "alerting"]
    except MlsreError as exc:
        status, reason = unknown(exc, "Prometheus for its rules")
        return status, reason, None
    mine = [r for r in rules if _alert_is_for(r, model)] + _firing_for(ctx, model)
    if not mine:
        return (
            ItemStatus.FAIL,
            f"no alerting rule loaded in Prometheus is about {model}: nobody would be paged",
            "`mlsre slo rules` generates burn-rate alerts from the model's SLOs",
        )
    uncovered = _without_runbook(ctx, mine)
    names = sorted({str(r.get("name")) for r in mine})
    if not uncovered:
        return ItemStatus.PASS, f"every alert has a runbook: {', '.join(names)}", None
    return (
        ItemStatus.FAIL,
        f"no runbook's triggers cover {', '.join(uncovered)}",
        "add the alert to triggers.alerts (or its SLO to triggers.slos) of the runbook that "
        "handles it",
    )


def _firing_for(ctx: Context, model: str) -> list[dict[str, Any]]:
    """Alerts firing now carry labels their rule only computes (``sum by (model) ...``)."""
    try:
        firing = ctx.memo.get(("alerts",), lambda: ctx.prometheus().alerts())
    except MlsreError:
        return []
    labelled = [a.get("labels") or {} for a in firing]
    return [
        {"name": labels.get("alertname"), "labels": labels}
        for labels in labelled
        if _alert_is_for({"labels": labels}, model)
    ]


def _without_runbook(ctx: Context, alerts: list[dict[str, Any]]) -> list[str]:
    """Names of the alerts no runbook triggers on, by alert name or by the alert's SLO."""
    by_alert = {a for rb in ctx.runbooks for a in rb.triggers.alerts}
    by_slo = {s for rb in ctx.runbooks for s in rb.triggers.slos}
    return sorted(
        {
            str(r.get("name"))
            for r in alerts
            if r.get("name") not in by_alert
            and (r.get("labels") or {}).get("mlsre_slo") not in by_slo
        }
    )
