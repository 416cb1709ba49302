"""The readiness items, each measured live: one function per item, listed in :data:`ITEMS`.

After Google's ML Test Score monitoring tests (Breck et al.) and SRE production-readiness
reviews. Metric names and labels are the ones the runbooks use (their input defaults, or the
``--input`` overrides), so "ready" means "the runbooks would find what they look for".

Subsystems mlsre does not have yet answer ``unknown: not configured`` with what would fix it.
They are wired through :func:`hook`: once a module provides the named function (escalation
policies: ``mlsre.notify.escalation_policy_for(settings, model)``; game days:
``mlsre.chaos.last_game_day(settings, model)``), the item starts measuring with no change here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mlsre.errors import MlsreError
from mlsre.preflight.diagnose import Memo, Metadata, diagnose
from mlsre.preflight.promql import Matcher, QueryNeeds, Selector
from mlsre.readiness.report import Item, ItemStatus
from mlsre.runbook.model import Runbook

GAME_DAY_MAX_AGE = timedelta(days=90)
STATUS_CODES = "[1-5][0-9][0-9]"


@dataclass
class Context:
    """What every item may use; servers are asked once per key for all models and items."""

    settings: Any
    at: datetime
    runbooks: list[Runbook]
    overrides: dict[str, str] = field(default_factory=dict)
    transport: Any = None
    memo: Memo = field(default_factory=Memo)
    meta: Metadata | None = None

    def __post_init__(self) -> None:
        self.meta = Metadata(self.prometheus(), self.at)

    def prometheus(self) -> Any:
        from mlsre.integrations.prometheus import PrometheusClient

        return PrometheusClient(self.settings.prometheus, self.transport)

    def mlflow(self) -> Any:
        from mlsre.integrations.mlflow import MlflowClient

        return MlflowClient(self.settings.registry, self.transport)

    def input(self, name: str) -> str:
        """An input's value: the override, else its default in the first runbook declaring it."""
        if name in self.overrides:
            return self.overrides[name]
        for rb in self.runbooks:
            spec = rb.input_specs().get(name)
            if spec is not None and isinstance(spec.default, str) and spec.default:
                return spec.default
        return name

    def rules(self) -> list[dict[str, Any]]:
        groups = self.memo.get(("rules",), lambda: self.prometheus().rules())
        return [r for g in groups for r in g.get("rules") or [] if isinstance(r, dict)]

    def slos(self) -> list[Any]:
        from mlsre.slo.status import load_workspace_slos

        return self.memo.get(("slos",), lambda: load_workspace_slos(self.settings))


def _unknown(exc: MlsreError, what: str) -> tuple[ItemStatus, str]:
    return ItemStatus.UNKNOWN, f"could not ask {what}: {exc.message}"


# -- metrics ---------------------------------------------------------------------------------


def _metric_item(
    ctx: Context,
    model: str,
    metrics: list[tuple[str, str]],
    need_label: str | None = None,
) -> tuple[ItemStatus, str, str | None]:
    from mlsre.preflight.suggest import suggest

    assert ctx.meta is not None
    label = ctx.input("model_label")
    names = []
    findings = []
    for inp, suffix in metrics:
        name = ctx.input(inp) + suffix
        matchers = [Matcher(label, "=", model)]
        if need_label:  # a label of HTTP-style status codes, as the runbooks' error_codes read
            matchers.append(Matcher(ctx.input(need_label), "=~", STATUS_CODES))
        names.append(f"{name}{{{label}={model!r}}}")
        try:
            findings += diagnose(QueryNeeds((Selector(name, tuple(matchers)),)), ctx.meta)
        except MlsreError as exc:
            status, reason = _unknown(exc, "Prometheus")
            return status, reason, None
    if not findings:
        return ItemStatus.PASS, f"{', '.join(names)}: series in the last hour", None
    values = {i: ctx.input(i) for i, _ in metrics} | {"model_label": label, "model": model}
    if need_label:
        values[need_label] = ctx.input(need_label)
    fixes = {k: v for f in findings for k, v in suggest(f, values, set(values)).items()}
    fix = (
        "point the runbooks at your names: "
        + " ".join(f"--input {k}={v}" for k, v in fixes.items())
        if fixes
        else f"export {', '.join(names)} (see docs/metrics.md), or name yours with --input "
        + " ".join(f"{i}=NAME" for i, _ in metrics)
    )
    return ItemStatus.FAIL, "; ".join(f.message for f in findings), fix


def latency(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    return _metric_item(ctx, model, [("latency_metric", "_bucket")])


def errors(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    return _metric_item(ctx, model, [("requests_metric", "")], need_label="code_label")


def traffic(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    return _metric_item(ctx, model, [("requests_metric", "")])


def predictions(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    return _metric_item(ctx, model, [("score_metric", "_bucket")])


def features(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    return _metric_item(ctx, model, [("psi_metric", ""), ("null_metric", "")])


# -- SLOs and alerts ---------------------------------------------------------------------------


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
        status, reason = _unknown(exc, "Prometheus for its rules")
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
        status, reason = _unknown(exc, "Prometheus for its rules")
        return status, reason, None
    mine = [r for r in rules if _alert_is_for(r, model)]
    try:  # alerts firing now carry labels their rule only computes (sum by (model) ...)
        firing = ctx.memo.get(("alerts",), lambda: ctx.prometheus().alerts())
    except MlsreError:
        firing = []
    mine += [
        {"name": (a.get("labels") or {}).get("alertname"), "labels": a.get("labels") or {}}
        for a in firing
        if _alert_is_for({"labels": a.get("labels")}, model)
    ]
    if not mine:
        return (
            ItemStatus.FAIL,
            f"no alerting rule loaded in Prometheus is about {model}: nobody would be paged",
            "`mlsre slo rules` generates burn-rate alerts from the model's SLOs",
        )
    by_alert = {a for rb in ctx.runbooks for a in rb.triggers.alerts}
    by_slo = {s for rb in ctx.runbooks for s in rb.triggers.slos}
    uncovered = sorted(
        {
            str(r.get("name"))
            for r in mine
            if r.get("name") not in by_alert
            and (r.get("labels") or {}).get("mlsre_slo") not in by_slo
        }
    )
    names = sorted({str(r.get("name")) for r in mine})
    if not uncovered:
        return ItemStatus.PASS, f"every alert has a runbook: {', '.join(names)}", None
    return (
        ItemStatus.FAIL,
        f"no runbook's triggers cover {', '.join(uncovered)}",
        "add the alert to triggers.alerts (or its SLO to triggers.slos) of the runbook that "
        "handles it",
    )


# -- runbooks, registry, process -------------------------------------------------------------


def runbooks_preflight(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    from mlsre.preflight.check import check_runbooks

    wanted = {**ctx.overrides, "model": model}
    declared = {n for rb in ctx.runbooks for n in rb.input_specs()}
    report = check_runbooks(
        ctx.runbooks,
        ctx.settings,
        inputs={k: v for k, v in wanted.items() if k in declared},
        at=ctx.at,
        transport=ctx.transport,
        meta=ctx.meta,
    )
    cmd = f"`mlsre runbook check --live -i model={model}`"
    broken = [r for r in report.runbooks if not r.works]
    if broken:
        fixes = {k: v for r in broken for k, v in r.suggest.items()}
        hint = " ".join(f"--input {k}={v}" for k, v in fixes.items())
        return (
            ItemStatus.FAIL,
            f"{len(broken)} of {len(report.runbooks)} runbooks would not work: "
            + ", ".join(f"{r.id} ({r.status.value})" for r in broken),
            f"{cmd} shows why" + (f"; try {hint}" if hint else ""),
        )
    if report.exit_code != 0:
        return ItemStatus.UNKNOWN, "some runbook steps could not be checked", f"{cmd} shows which"
    return ItemStatus.PASS, f"all {len(report.runbooks)} runbooks pass the live preflight", None


def _registry_answer(exc: MlsreError) -> tuple[ItemStatus, str, str | None]:
    """A missing model/alias/version is a fail; a registry that cannot answer is unknown."""
    from mlsre.errors import NotFoundError, ValidationError

    if isinstance(exc, NotFoundError | ValidationError):
        return ItemStatus.FAIL, exc.message, exc.hint
    status, reason = _unknown(exc, "the registry")
    return status, reason, exc.hint


def rollback_target(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    from mlsre.steps.registry_moves import rollback

    alias = ctx.input("alias")
    try:
        plan = rollback(ctx.mlflow(), model, alias, dry_run=True)
    except MlsreError as exc:
        return _registry_answer(exc)
    if plan.dry_run:
        return (
            ItemStatus.PASS,
            f"{alias} {plan.before} would roll back to {plan.after} ({plan.reason})",
            None,
        )
    return ItemStatus.PASS, plan.reason, None


def fallback_designated(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    from mlsre.steps.registry_fallback import designate_hint, fallback_target

    named = ctx.settings.registry.fallback_alias
    alias = ctx.input("alias")
    try:
        mc = ctx.mlflow()
        target = fallback_target(mc, model, named)
        serving = mc.version_by_alias(model, alias).version
    except MlsreError as exc:
        return _registry_answer(exc)
    if target.version == serving:
        return (
            ItemStatus.FAIL,
            f"the fallback ({named}={target.version}) is the version {alias} serves: falling back "
            "would change nothing",
            designate_hint(model),
        )
    return ItemStatus.PASS, f"{named}={target.version} (READY); {alias} serves {serving}", None


def postmortem_repo(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    from mlsre.doctor import CheckStatus, check_postmortems

    check = check_postmortems(ctx.settings)
    ok = check.status is not CheckStatus.FAIL
    return (ItemStatus.PASS if ok else ItemStatus.FAIL), check.detail, check.hint


def hook(module: str, function: str) -> Callable[..., Any] | None:
    """``module.function`` when a subsystem provides it (None: not in this mlsre)."""
    import importlib

    try:
        found = getattr(importlib.import_module(module), function, None)
    except ImportError:
        return None
    return found if callable(found) else None


def escalation_policy(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    policy_for = hook("mlsre.notify", "escalation_policy_for")
    if policy_for is None:
        return (
            ItemStatus.UNKNOWN,
            "not configured: this mlsre has no paging or escalation policies yet",
            f"route {model}'s alerts to an on-call rotation in Alertmanager; an escalation "
            "policy in mlsre.yaml once paging lands",
        )
    policy = policy_for(ctx.settings, model)
    if policy:
        return ItemStatus.PASS, f"escalation policy {policy}", None
    return ItemStatus.FAIL, f"no escalation policy covers {model}", "add one in mlsre.yaml"


def game_day(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    last_game_day = hook("mlsre.chaos", "last_game_day")
    if last_game_day is None:
        return (
            ItemStatus.UNKNOWN,
            "not configured: this mlsre records no game days yet",
            f"run a game day for {model} (inject a failure, walk its runbook) and record it",
        )
    last = last_game_day(ctx.settings, model)
    if last is None:
        return ItemStatus.FAIL, f"no game day recorded for {model}", "run one"
    age = ctx.at - last
    if age <= GAME_DAY_MAX_AGE:
        return ItemStatus.PASS, f"last game day {age.days} day(s) ago", None
    return ItemStatus.FAIL, f"last game day {age.days} days ago (> 90)", "run one"


ItemCheck = Callable[[Context, str], tuple[ItemStatus, str, str | None]]
ITEMS: list[tuple[str, str, ItemCheck]] = [
    ("metrics.latency", "Latency metric exists for the model", latency),
    ("metrics.errors", "Error metric exists (requests by status code)", errors),
    ("metrics.traffic", "Traffic metric exists", traffic),
    ("metrics.predictions", "Prediction-distribution metric exists", predictions),
    ("metrics.features", "Feature-quality metrics exist (drift and nulls)", features),
    ("slo.defined", "SLOs are defined", slos_defined),
    ("slo.rules_loaded", "SLO rules are loaded in Prometheus", slo_rules_loaded),
    ("alerts.runbooks", "Every alert for the model has a runbook", alerts_have_runbooks),
    ("runbooks.preflight", "The runbooks pass `runbook check --live`", runbooks_preflight),
    ("registry.rollback_target", "A rollback target exists", rollback_target),
    ("registry.fallback", "A fallback model is designated", fallback_designated),
    ("postmortems.repo", "A postmortem repository is configured", postmortem_repo),
    ("escalation.policy", "An escalation policy covers the model", escalation_policy),
    ("gameday.recent", "A game day ran within 90 days", game_day),
]


def run_item(ctx: Context, model: str, item_id: str, title: str, check: ItemCheck) -> Item:
    try:
        status, reason, fix = check(ctx, model)
    except MlsreError as exc:  # an item's server trouble is that item's unknown, not the end
        status, reason, fix = ItemStatus.UNKNOWN, exc.message, exc.hint
    return Item(item_id, title, status, reason, fix)
