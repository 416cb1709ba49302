"""Promotion gated on a canary judgement: judge first, move the alias only on pass.

Idempotent: when the alias already points at the version nothing is judged or moved. Every
gated judgement is recorded on the registered model as the tag ``mlsre.canary.<version>``
(verdict, score, window, config), and a promotion as ``mlsre.promote.<alias>`` (from, to,
when, the judgement), because the registry keeps no alias history of its own. The CLI also
puts both on an incident when asked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlsre.canary.judge import Judgement, Verdict
from mlsre.canary.run import JudgeOptions, run_judge
from mlsre.errors import NotFoundError, UsageError
from mlsre.integrations.mlflow import MlflowClient
from mlsre.steps.model_registry.moves import AliasMove, promote
from mlsre.timeutil import iso, utcnow

PROMOTE_TAG = "mlsre.promote."
CANARY_TAG = "mlsre.canary."


@dataclass
class Promotion:
    model: str
    version: str
    alias: str
    promoted: bool
    reason: str
    move: AliasMove | None = None
    judgement: Judgement | None = None
    verdict: Verdict | None = None  # the gate's verdict after --marginal-is
    tags: list[str] = field(default_factory=list)  # registry tags written


@dataclass
class PromoteRequest:
    model: str
    version: str
    alias: str = "champion"
    previous_alias: str | None = "previous"
    gate: str | None = None  # a CanaryConfig file, "default", or None (no gate)
    baseline: str | None = None  # default: the version behind `alias`
    judge: JudgeOptions | None = None  # window and inputs for the judge
    marginal_is: Verdict = Verdict.FAIL
    dry_run: bool = False


def _current(mc: MlflowClient, model: str, alias: str) -> str | None:
    try:
        return mc.version_by_alias(model, alias).version
    except NotFoundError:
        return None


def gated_promote(mc: MlflowClient, settings: Any, req: PromoteRequest) -> Promotion:
    target = mc.resolve(req.model, req.version)
    current = _current(mc, req.model, req.alias)
    if current == target.version:
        why = f"{req.alias} already points at version {target.version}"
        return Promotion(req.model, target.version, req.alias, False, why)
    judgement: Judgement | None = None
    verdict: Verdict | None = None
    tags: list[str] = []
    if req.gate is not None:
        baseline = req.baseline or current
        if baseline is None:
            raise UsageError(
                f"{req.model} has no alias {req.alias!r} to compare the canary with",
                hint="name the baseline version with --baseline",
            )
        opts = req.judge or JudgeOptions(req.model, target.version, baseline)
        opts.model, opts.canary, opts.baseline = req.model, target.version, baseline
        opts.config = None if req.gate == "default" else req.gate
        judgement = run_judge(opts, settings)
        verdict = judgement.verdict
        if verdict is Verdict.MARGINAL:
            verdict = req.marginal_is
        if not req.dry_run:
            key = CANARY_TAG + target.version
            mc.set_model_tag(req.model, key, json.dumps(summary(judgement)))
            tags.append(key)
        if verdict is not Verdict.PASS:
            return Promotion(
                req.model,
                target.version,
                req.alias,
                False,
                f"not promoted: the canary judgement is {judgement.verdict.value} "
                f"({judgement.reason})",
                judgement=judgement,
                verdict=verdict,
                tags=tags,
            )
    move = promote(
        mc, req.model, target.version, req.alias, req.previous_alias, dry_run=req.dry_run
    )
    if move.changed:
        record = {
            "from": move.before,
            "to": move.after,
            "at": iso(utcnow()),
            "gate": summary(judgement) if judgement else None,
        }
        mc.set_model_tag(req.model, PROMOTE_TAG + req.alias, json.dumps(record))
        tags.append(PROMOTE_TAG + req.alias)
    reason = "would promote" if move.dry_run else ("promoted" if move.changed else move.reason)
    return Promotion(
        req.model,
        target.version,
        req.alias,
        move.changed,
        reason,
        move=move,
        judgement=judgement,
        verdict=verdict,
        tags=tags,
    )


TAG_MAX = 4000  # MLflow refuses tag values over 5000 characters


def summary(j: Judgement) -> dict[str, Any]:
    """What a record keeps of a judgement (small enough for a registry tag: with many
    metrics, only those that did not pass are named)."""
    out: dict[str, Any] = {
        "canary": j.canary,
        "baseline": j.baseline,
        "verdict": j.verdict.value,
        "score": j.score,
        "reason": j.reason[:300],
        "window": [j.start, j.end],
        "config": j.config[:200],
        "metrics": {r.name: r.classification.value for r in j.metrics},
    }
    if len(json.dumps(out)) > TAG_MAX:
        failing = {r.name: r.classification.value for r in j.metrics if r.classification != "Pass"}
        out["metrics"] = dict(list(failing.items())[:50])
        out["metrics_total"] = len(j.metrics)
    return out
