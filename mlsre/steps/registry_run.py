"""What the ``registry.*`` step kinds do (alias moves themselves: :mod:`registry_moves`)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

from mlsre.errors import MlsreError
from mlsre.integrations.mlflow import MlflowClient, ModelVersion
from mlsre.steps.base import StepContext, StepResult, StepStatus
from mlsre.steps.evidence import bounded, error_result
from mlsre.steps.registry_moves import MARKER, AliasMove, promote, rollback
from mlsre.timeutil import human_duration, parse_time, utcnow


def client(ctx: StepContext) -> MlflowClient:
    return MlflowClient(ctx.settings.registry, ctx.transport)


def version_dict(v: ModelVersion) -> dict[str, Any]:
    return asdict(v)


# -- step runs ------------------------------------------------------------------------------------


def _incident_id(ctx: StepContext) -> str | None:
    inc = ctx.incident or {}
    value = inc.get("ref") or inc.get("id")
    return str(value) if value else None


def run_versions(params: Any, ctx: StepContext) -> StepResult:
    try:
        versions = client(ctx).versions(params.model)
    except MlsreError as exc:
        return error_result(exc)
    if params.limit:
        versions = versions[-params.limit :]
    rows = [version_dict(v) for v in versions]
    samples = [
        {
            "value": float(v.number),
            "version": v.version,
            "status": v.status,
            "aliases": v.aliases,
            "labels": {"version": v.version, "status": v.status},
        }
        for v in versions
    ]
    aliases = {a: v.version for v in versions for a in v.aliases}
    latest = versions[-1].version if versions else None
    shown = ", ".join(
        f"{v.version}{'(' + ','.join(v.aliases) + ')' if v.aliases else ''}" for v in versions
    )
    return StepResult(
        summary=f"{params.model}: versions {shown or 'none'}",
        output={"model": params.model, "versions": rows, "aliases": aliases, "latest": latest},
        samples=samples,
        evidence={"versions": bounded(rows)},
    )


def _since(
    v: ModelVersion, tags: dict[str, str], alias: str, now: float
) -> tuple[float | None, str]:
    """Seconds since the version went live behind the alias, as of ``now``, and how we know.

    MLflow keeps no alias history: our own rollback record wins (a rolled-back version went live
    again just now), then the version's ``deployed_at``/``promoted_at`` tag, then its creation.
    """
    try:
        mark = json.loads(tags.get(MARKER + alias) or "{}")
    except ValueError:
        mark = None
    if isinstance(mark, dict) and str(mark.get("to")) == v.version and mark.get("at"):
        try:
            # an --at run in the past may follow a rollback made just now: not negative
            age = max(0.0, now - parse_time(str(mark["at"])).timestamp())
            return age, "mlsre rollback record"
        except MlsreError:
            pass
    for key in ("deployed_at", "promoted_at"):
        try:
            return now - float(v.tags.get(key, "")), f"version tag {key}"
        except ValueError:
            continue
    if v.created_ms:
        return now - v.created_ms / 1000, "version creation time (MLflow keeps no alias history)"
    return None, "unknown"


def run_current(params: Any, ctx: StepContext) -> StepResult:
    try:
        mc = client(ctx)
        v = mc.version_by_alias(params.model, params.alias)
        info = mc.get_model(params.model)
    except MlsreError as exc:
        return error_result(exc)
    now = (ctx.at or utcnow()).timestamp()
    age, source = _since(v, info.tags, params.alias, now)
    sample = {
        "value": float(v.number),
        "version": v.version,
        "alias": params.alias,
        "age_s": age if age is not None else math.nan,
        "status": v.status,
        "labels": {"model": params.model, "alias": params.alias, "version": v.version},
    }
    ago = f", live for {human_duration(age)} ({source})" if age is not None else ""
    return StepResult(
        summary=f"{params.model}@{params.alias} is version {v.version}{ago}",
        output={**version_dict(v), "alias": params.alias, "age_s": age, "age_source": source},
        samples=[sample],
        evidence={"version": version_dict(v)},
    )


def _diff(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"key": k, "a": a.get(k), "b": b.get(k), "changed": a.get(k) != b.get(k)}
        for k in sorted(set(a) | set(b))
    ]


def run_compare(params: Any, ctx: StepContext) -> StepResult:
    try:
        mc = client(ctx)
        va, vb = mc.resolve(params.model, params.a), mc.resolve(params.model, params.b)
        ra = mc.run(va.run_id) if va.run_id else None
        rb = mc.run(vb.run_id) if vb.run_id else None
    except MlsreError as exc:
        return error_result(exc)
    metrics = _diff(ra.metrics if ra else {}, rb.metrics if rb else {})
    param_rows = _diff(ra.params if ra else {}, rb.params if rb else {})
    out: dict[str, Any] = {
        "a": {"ref": params.a, "version": va.version},
        "b": {"ref": params.b, "version": vb.version},
        "params": param_rows,
        "metrics": metrics,
        "tags": _diff(va.tags, vb.tags),
    }
    samples = [
        {
            "value": (m["a"] - m["b"])
            if isinstance(m["a"], float) and isinstance(m["b"], float)
            else math.nan,
            "a": m["a"],
            "b": m["b"],
            "labels": {"metric": m["key"]},
        }
        for m in metrics
    ]
    changed = [p["key"] for p in param_rows if p["changed"]]
    return StepResult(
        summary=f"{params.model} {params.a}=v{va.version} vs {params.b}=v{vb.version}: "
        f"{len(changed)} params differ ({', '.join(changed[:5]) or 'none'})",
        output=out,
        samples=samples,
        evidence={"compare": bounded(out)},
    )


def run_rollback(params: Any, ctx: StepContext) -> StepResult:
    try:
        move = rollback(
            client(ctx),
            params.model,
            params.alias,
            params.to,
            params.previous_alias,
            incident=_incident_id(ctx),
            dry_run=ctx.dry_run,
        )
    except MlsreError as exc:
        result = error_result(exc)
        attempt = getattr(exc, "attempt", None)  # MoveFailed: the attempt goes on the incident
        if isinstance(attempt, dict):
            result.changes = [attempt]
        return result
    return _move_result(move, "rolled back")


def run_promote(params: Any, ctx: StepContext) -> StepResult:
    try:
        move = promote(
            client(ctx),
            params.model,
            params.version,
            params.alias,
            params.previous_alias,
            dry_run=ctx.dry_run,
        )
    except MlsreError as exc:
        return error_result(exc)
    return _move_result(move, "promoted")


def _move_result(move: AliasMove, verb: str) -> StepResult:
    where = f"{move.model}@{move.alias}"
    if move.dry_run:
        summary = f"would move {where} from {move.before} to {move.after} ({move.reason})"
    elif move.changed:
        summary = f"{verb} {where}: {move.before} -> {move.after} ({move.reason}), verified"
    else:
        summary = f"no change: {move.reason}"
    sample = {
        "value": float(move.after) if move.after.isdigit() else math.nan,
        "before": move.before,
        "after": move.after,
        "changed": move.changed,
        "labels": {"model": move.model, "alias": move.alias},
    }
    return StepResult(
        status=StepStatus.PASSED,
        summary=summary,
        output=asdict(move),
        samples=[sample],
        evidence={"move": asdict(move)},
        changes=[move.change()] if move.changed else [],
    )
