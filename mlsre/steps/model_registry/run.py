"""What the ``registry.*`` step kinds do (alias moves themselves: :mod:`.moves`, :mod:`.fallback`)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

from mlsre.errors import MlsreError
from mlsre.integrations.mlflow import MlflowClient, ModelVersion
from mlsre.steps.base import StepContext, StepResult, StepStatus
from mlsre.steps.evidence import bounded, error_result
from mlsre.steps.model_registry.kinds import (
    CompareParams,
    CurrentParams,
    FallbackParams,
    PromoteParams,
    RollbackParams,
    VersionsParams,
)
from mlsre.steps.model_registry.moves import MARKER, AliasMove, promote, rollback
from mlsre.timeutil import human_duration, iso, parse_time, utcnow


def client(ctx: StepContext) -> MlflowClient:
    return MlflowClient(ctx.settings.registry, ctx.transport)


def version_dict(v: ModelVersion) -> dict[str, Any]:
    return asdict(v)


# -- step runs ------------------------------------------------------------------------------------


def _incident_id(ctx: StepContext) -> str | None:
    inc = ctx.incident or {}
    value = inc.get("ref") or inc.get("id")
    return str(value) if value else None


def run_versions(params: VersionsParams, ctx: StepContext) -> StepResult:
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
        summary=f"{params.model}: versions {shown or 'none'}"
        + (" (the registry as it is now)" if ctx.at is not None else ""),
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
    from mlsre.steps.model_registry.fallback import live_since

    try:
        mark = json.loads(tags.get(MARKER + alias) or "{}")
    except ValueError:
        mark = None
    records = []  # (when, source): the newest record that put this version live wins
    if isinstance(mark, dict) and str(mark.get("to")) == v.version and mark.get("at"):
        records.append((str(mark["at"]), "mlsre rollback record"))
    fell_back = live_since(tags, alias, v.version)
    if fell_back:
        records.append((fell_back, "mlsre fallback record"))
    for when, source in sorted(records, reverse=True):
        try:
            # an --at run in the past may follow a rollback made just now: not negative
            age = max(0.0, now - parse_time(when).timestamp())
            return age, source
        except MlsreError:
            pass
    live, record = v.went_live()
    if live is None:
        return None, "unknown"
    if record == "created":
        return now - live, "version creation time (MLflow keeps no alias history)"
    return now - live, f"version tag {record}"


def _moved_after(tags: dict[str, str], alias: str, current: str, at: float) -> dict[str, Any]:
    """Our own record of a rollback that moved ``alias`` to ``current`` after ``at`` (or {})."""
    try:
        mark = json.loads(tags.get(MARKER + alias) or "{}")
        moved = parse_time(str(mark["at"])).timestamp() if isinstance(mark, dict) else None
    except (ValueError, KeyError, MlsreError):
        return {}
    if moved is None or str(mark.get("to")) != current or moved <= at or not mark.get("from"):
        return {}
    return dict(mark)


def run_current(params: CurrentParams, ctx: StepContext) -> StepResult:
    try:
        mc = client(ctx)
        v = mc.version_by_alias(params.model, params.alias)
        info = mc.get_model(params.model)
        now_version = v.version
        moved = (
            _moved_after(info.tags, params.alias, v.version, ctx.at.timestamp()) if ctx.at else {}
        )
        if moved:  # under --at, before our own rollback: the alias named the version it left
            v = mc.get_version(params.model, str(moved["from"]))
    except MlsreError as exc:
        return error_result(exc)
    now = (ctx.at or utcnow()).timestamp()
    age, source = _since(v, info.tags if not moved else {}, params.alias, now)
    where = f"{params.model}@{params.alias}"
    if moved:
        summary = (
            f"{where} was version {v.version} at {iso(ctx.at)} (reconstructed from the mlsre"
            f" rollback record of {moved['at']}; now {now_version})"
        )
    elif ctx.at is not None and age is not None and age < 0:
        summary = (
            f"{where} is version {v.version} now, which went live after {iso(ctx.at)}"
            f" ({source}): this shows the present, not {iso(ctx.at)}"
        )
        age = None
    else:
        ago = f", live for {human_duration(age)} ({source})" if age is not None else ""
        then = (
            f" as of {iso(ctx.at)} (MLflow keeps no alias history: the alias as it is now)"
            if ctx.at is not None
            else ""
        )
        summary = f"{where} is version {v.version}{ago}{then}"
    sample = {
        "value": float(v.number),
        "version": v.version,
        "alias": params.alias,
        "age_s": age if age is not None else math.nan,
        "status": v.status,
        "labels": {"model": params.model, "alias": params.alias, "version": v.version},
    }
    return StepResult(
        summary=summary,
        output={
            **version_dict(v),
            "alias": params.alias,
            "age_s": age,
            "age_source": source,
            "version_now": now_version,
            "reconstructed": bool(moved),
        },
        samples=[sample],
        evidence={"version": version_dict(v)},
    )


def _diff(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"key": k, "a": a.get(k), "b": b.get(k), "changed": a.get(k) != b.get(k)}
        for k in sorted(set(a) | set(b))
    ]


def run_compare(params: CompareParams, ctx: StepContext) -> StepResult:
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
    summary = f"{params.model} {params.b}=v{vb.version} -> {params.a}=v{va.version}: " + "; ".join(
        f"{what} {_changes(rows)}" for what, rows in (("params", param_rows), ("metrics", metrics))
    )
    if ctx.at is not None:
        summary += " (the registry as it is now)"
    return StepResult(
        summary=summary,
        output=out,
        samples=samples,
        evidence={"compare": bounded(out)},
    )


def _changes(rows: list[dict[str, Any]], limit: int = 4) -> str:
    """``algo xgboost -> lightgbm, max_depth 8 -> (none)``: old (b) to new (a) of what differs."""

    def shown(v: Any) -> str:
        return "(none)" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)

    changed = [r for r in rows if r["changed"]]
    text = ", ".join(f"{r['key']} {shown(r['b'])} -> {shown(r['a'])}" for r in changed[:limit])
    more = f" (+{len(changed) - limit} more)" if len(changed) > limit else ""
    return (text + more) if changed else "all the same"


def run_rollback(params: RollbackParams, ctx: StepContext) -> StepResult:
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


def run_promote(params: PromoteParams, ctx: StepContext) -> StepResult:
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


def _planned(move: AliasMove) -> str:
    if move.before == move.after:
        return f"nothing to change: {move.reason}"
    before = f"from version {move.before} " if move.before else ""
    return f"move {move.alias} of {move.model} {before}to {move.after} ({move.reason})"


def preview_rollback(params: RollbackParams, ctx: StepContext) -> str:
    mc = client(ctx)
    move = rollback(mc, params.model, params.alias, params.to, params.previous_alias, dry_run=True)
    return _planned(move)


def preview_promote(params: PromoteParams, ctx: StepContext) -> str:
    move = promote(
        client(ctx), params.model, params.version, params.alias, params.previous_alias, dry_run=True
    )
    return _planned(move)


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


def run_fallback(params: FallbackParams, ctx: StepContext) -> StepResult:
    """Serve the model's designated fallback version (``registry.fallback``)."""
    from mlsre.steps.model_registry.fallback import fallback

    alias = params.fallback_alias or ctx.settings.registry.fallback_alias
    try:
        move = fallback(
            client(ctx),
            params.model,
            params.alias,
            alias,
            incident=_incident_id(ctx),
            dry_run=ctx.dry_run,
        )
    except MlsreError as exc:
        return error_result(exc)
    result = _move_result(move, "fell back")
    result.changes = [{**c, "action": "fallback"} for c in result.changes]
    return result
