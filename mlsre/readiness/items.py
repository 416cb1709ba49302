"""The readiness items, each measured live: one function per item, listed in :data:`ITEMS`.

After Google's ML Test Score monitoring tests (Breck et al.) and SRE production-readiness
reviews. Metric names and labels are the ones the runbooks use (their input defaults, or the
``--input`` overrides), so "ready" means "the runbooks would find what they look for".
Escalation policies come from :mod:`mlsre.notify.plan`, game days from the incident store
(:func:`mlsre.chaos.gameday.last_game_day`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from mlsre.errors import MlsreError
from mlsre.readiness.alerting import alerts_have_runbooks, slo_rules_loaded, slos_defined
from mlsre.readiness.context import Context, unknown
from mlsre.readiness.metrics import errors, features, latency, predictions, traffic
from mlsre.readiness.report import Item, ItemStatus

GAME_DAY_MAX_AGE = timedelta(days=90)


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
    status, reason = unknown(exc, "the registry")
    return status, reason, exc.hint


def rollback_target(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    from mlsre.steps.model_registry.moves import rollback

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
    from mlsre.steps.model_registry.fallback import designate_hint, fallback_target

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


def escalation_policy(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    from mlsre.notify.plan import policy_covering

    policy = policy_covering(ctx.settings, model)
    if policy:
        return ItemStatus.PASS, f"escalation policy {policy}", None
    return (
        ItemStatus.FAIL,
        f"no escalation policy covers {model}",
        "add one under escalation.policies in mlsre.yaml (see docs/notify.md)",
    )


def game_day(ctx: Context, model: str) -> tuple[ItemStatus, str, str | None]:
    from mlsre.chaos.gameday import last_game_day

    try:
        last = last_game_day(ctx.settings, model, before=ctx.at)
    except MlsreError as exc:
        return ItemStatus.UNKNOWN, f"cannot read the incident store: {exc.message}", None
    if last is None:
        return (
            ItemStatus.FAIL,
            f"no game day recorded for {model}",
            "run one: mlsre gameday run data-drift (see docs/chaos.md)",
        )
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
