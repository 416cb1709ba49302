"""Readiness items: the metrics the runbooks read exist for the model (names from their inputs)."""

from __future__ import annotations

from mlsre.errors import MlsreError
from mlsre.preflight.diagnose import diagnose
from mlsre.preflight.promql import Matcher, QueryNeeds, Selector
from mlsre.readiness.context import Context, unknown
from mlsre.readiness.report import ItemStatus

STATUS_CODES = "[1-5][0-9][0-9]"


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
            status, reason = unknown(exc, "Prometheus")
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
