"""Moving a registry alias safely: rollback and promote, verified by reading back.

Rollback target, in order: an explicit ``to``; the ``previous`` alias; else the newest READY
version below the current one. After moving the alias we read it back, and remember the move in
a registered-model tag ``mlsre.rollback.<alias>`` so a second run is a no-op even without a
``previous`` alias (it would otherwise walk one more version back each time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlsre.errors import IntegrationError, MlsreError, NotFoundError, ValidationError
from mlsre.integrations.mlflow import MlflowClient, ModelVersion
from mlsre.timeutil import iso, utcnow

MARKER = "mlsre.rollback."


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


class MoveFailed(IntegrationError):
    """Moving the alias was attempted and did not verifiably work; ``attempt`` says how far it
    got, so the incident records the attempt (a timed-out POST may still have been applied)."""

    def __init__(self, message: str, attempt: dict[str, Any], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.attempt = attempt


def _move_alias(mc: MlflowClient, model: str, alias: str, before: str | None, to: str) -> None:
    """Set ``alias`` to ``to`` and read it back; a failure says whether it may have happened."""
    from mlsre.integrations.http import FailureKind, HttpFailure

    attempt: dict[str, Any] = {
        "system": "mlflow",
        "model": model,
        "alias": alias,
        "from_version": before,
        "to_version": to,
        "verified": False,
    }
    try:
        mc.set_alias(model, alias, to)
    except MlsreError as exc:
        # An answer that never came (timeout, cut off) may hide a move that did happen.
        unknown = isinstance(exc, HttpFailure) and exc.kind in (
            FailureKind.TIMEOUT,
            FailureKind.UNREACHABLE,
            FailureKind.BAD_JSON,
        )
        outcome = "unknown" if unknown else "failed"
        raise MoveFailed(
            f"moving {model}@{alias} to {to} {'may have failed' if unknown else 'failed'}: "
            f"{exc.message}",
            {**attempt, "outcome": outcome, "error": exc.message},
            hint="check the alias in the registry (`mlsre model versions "
            f"{model}`) before trying again",
        ) from None
    try:
        check = mc.version_by_alias(model, alias).version
    except MlsreError as exc:
        raise MoveFailed(
            f"moved {model}@{alias} to {to} but could not read it back: {exc.message}",
            {**attempt, "outcome": "unverified", "error": exc.message},
            hint=f"check the alias in the registry (`mlsre model versions {model}`)",
        ) from None
    if check != to:
        raise MoveFailed(
            f"moved {model}@{alias} to {to} but reading it back gives {check}",
            {**attempt, "outcome": "mismatch", "read_back": check},
            hint="someone else may be changing the registry; check it in the MLflow UI",
        )


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
    _move_alias(mc, model, alias, current.version, target.version)
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
