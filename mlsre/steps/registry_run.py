"""What the ``registry.*`` step kinds do; ``mlsre model ...`` commands share :func:`rollback`.

Rollback target, in order: an explicit ``to``; the ``previous`` alias; else the newest READY
version below the current one. After moving the alias we read it back, and remember the move in
a registered-model tag ``mlsre.rollback.<alias>`` so a second run is a no-op even without a
``previous`` alias (it would otherwise walk one more version back each time).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from mlsre.errors import IntegrationError, MlsreError, NotFoundError, ValidationError
from mlsre.integrations.mlflow import MlflowClient, ModelVersion
from mlsre.steps.base import StepContext, StepResult, StepStatus
from mlsre.steps.evidence import bounded, error_result
from mlsre.timeutil import human_duration, iso, utcnow

MARKER = "mlsre.rollback."


def client(ctx: StepContext) -> MlflowClient:
    return MlflowClient(ctx.settings.registry, ctx.transport)


def version_dict(v: ModelVersion) -> dict[str, Any]:
    return asdict(v)


@dataclass
class AliasMove:
    """The outcome of a rollback or promotion: what moved, from where to where, verified."""

    model: str
    alias: str
    before: str | None
    after: str
    changed: bool
    verified: bool
    reason: str
    dry_run: bool = False
    also: list[dict[str, Any]] = field(default_factory=list)  # e.g. `previous` moved too

    def change(self) -> dict[str, Any]:
        return {
            "system": "mlflow",
            "model": self.model,
            "alias": self.alias,
            "before": self.before,
            "after": self.after,
            # the incident timeline's model_changed event reads these two
            "from_version": self.before,
            "to_version": self.after,
            "verified": self.verified,
            "reason": self.reason,
        }


def _marker(value: str | None, current: ModelVersion) -> dict[str, Any] | None:
    """The recorded rollback that left the alias at ``current``, if that is what happened."""
    try:
        data = json.loads(value or "")
    except ValueError:
        return None
    if isinstance(data, dict) and str(data.get("to")) == current.version:
        return data
    return None


def rollback(
    mc: MlflowClient,
    model: str,
    alias: str = "champion",
    to: str | None = None,
    previous_alias: str = "previous",
    *,
    incident: str | None = None,
    dry_run: bool = False,
) -> AliasMove:
    current = mc.version_by_alias(model, alias)
    if to:
        target, reason = mc.resolve(model, to), f"requested {to}"
    else:
        info = mc.get_model(model)
        if previous_alias in info.aliases:
            target = mc.get_version(model, info.aliases[previous_alias])
            reason = f"alias {previous_alias!r}"
        else:
            done = _marker(info.tags.get(MARKER + alias), current)
            if done is not None:
                why = f"already rolled back from {done.get('from')} to {done.get('to')}"
                return AliasMove(model, alias, current.version, current.version, False, True, why)
            below = [
                v
                for v in mc.versions(model)
                if v.status == "READY" and 0 <= v.number < current.number
            ]
            if not below:
                raise NotFoundError(
                    f"{model} has no READY version below {current.version} to roll back to",
                    hint="name one with --to VERSION (or `to:` in the runbook)",
                )
            target, reason = below[-1], f"newest READY version below {current.version}"
    if target.status != "READY":
        raise ValidationError(f"{model} version {target.version} is {target.status}, not READY")
    if target.version == current.version:
        return AliasMove(
            model,
            alias,
            current.version,
            current.version,
            False,
            True,
            f"{alias} already points at version {current.version} ({reason})",
        )
    if dry_run:
        return AliasMove(
            model, alias, current.version, target.version, False, False, reason, dry_run=True
        )
    mc.set_alias(model, alias, target.version)
    check = mc.version_by_alias(model, alias)
    if check.version != target.version:
        raise IntegrationError(
            f"moved {model}@{alias} to {target.version} but reading it back gives {check.version}",
            hint="someone else may be changing the registry; check it in the MLflow UI",
        )
    marker = {
        "from": current.version,
        "to": target.version,
        "at": iso(utcnow()),
        "incident": incident,
    }
    mc.set_model_tag(model, MARKER + alias, json.dumps(marker))
    return AliasMove(model, alias, current.version, target.version, True, True, reason)


def promote(
    mc: MlflowClient,
    model: str,
    version: str,
    alias: str,
    previous_alias: str | None,
    *,
    dry_run: bool = False,
) -> AliasMove:
    target = mc.resolve(model, version)
    try:
        current: ModelVersion | None = mc.version_by_alias(model, alias)
    except NotFoundError:
        current = None
    before = current.version if current else None
    if before == target.version:
        return AliasMove(model, alias, before, target.version, False, True, "already there")
    if dry_run:
        return AliasMove(
            model, alias, before, target.version, False, False, "promote", dry_run=True
        )
    mc.set_alias(model, alias, target.version)
    also: list[dict[str, Any]] = []
    if previous_alias and before:
        mc.set_alias(model, previous_alias, before)
        also.append({"alias": previous_alias, "after": before})
    verified = mc.version_by_alias(model, alias).version == target.version
    if not verified:
        raise IntegrationError(
            f"moved {model}@{alias} to {target.version} but it reads back differently"
        )
    return AliasMove(model, alias, before, target.version, True, True, "promote", also=also)


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
    """Seconds since the version went live behind the alias, as of ``now``, and how we know."""
    for key in ("deployed_at", "promoted_at"):
        raw = v.tags.get(key, "")
        try:
            return now - float(raw), f"version tag {key}"
        except ValueError:
            continue
    try:
        mark = json.loads(tags.get(MARKER + alias, "{}"))
        if isinstance(mark, dict) and str(mark.get("to")) == v.version and mark.get("at"):
            from mlsre.timeutil import parse_time

            return now - parse_time(str(mark["at"])).timestamp(), "mlsre rollback record"
    except (ValueError, MlsreError):
        pass
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
        return error_result(exc)
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
