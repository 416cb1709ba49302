"""Fallback models: move the serving alias to a designated fallback version, and back.

A model names its fallback with a registry alias (``fallback`` unless ``registry.fallback_alias``
says otherwise): a simpler rule-based model or an older, robust version. Falling back moves the
serving alias (``champion``) to it with the guarantees of a rollback: the target must be READY,
the move is read back, and a second run changes nothing. MLflow keeps no alias history, so before
moving we write what we are about to do into the registered-model tag ``mlsre.fallback.<alias>``;
``restore`` reads it to put the alias back on the version it had before, and refuses to guess
when something else has moved the alias since.
"""

from __future__ import annotations

import json
from typing import Any

from mlsre.errors import IntegrationError, NotFoundError, ValidationError
from mlsre.integrations.mlflow import MlflowClient, ModelVersion
from mlsre.steps.model_registry.moves import AliasMove, promote
from mlsre.timeutil import iso, utcnow

MARK = "mlsre.fallback."
DEFAULT_FALLBACK_ALIAS = "fallback"


def designate_hint(model: str) -> str:
    return (
        f"designate one: `mlsre model fallback {model} --designate VERSION` "
        "(a simpler or older, robust version), or set the alias in the MLflow UI"
    )


def recorded(mc: MlflowClient, model: str, alias: str) -> dict[str, Any] | None:
    """The last fallback mlsre recorded for ``model@alias`` (None when there is none)."""
    try:
        data = json.loads(mc.get_model(model).tags.get(MARK + alias) or "")
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("from") and data.get("to"):
        return data
    return None


def live_since(tags: dict[str, str], alias: str, version: str) -> str | None:
    """When mlsre's fallback record put ``version`` live behind ``alias`` (ISO), if it did."""
    try:
        mark = json.loads(tags.get(MARK + alias) or "")
    except ValueError:
        return None
    if not isinstance(mark, dict):
        return None
    if mark.get("restored_at") and str(mark.get("from")) == version:
        return str(mark["restored_at"])
    if not mark.get("restored_at") and str(mark.get("to")) == version and mark.get("at"):
        return str(mark["at"])
    return None


def fallback_target(mc: MlflowClient, model: str, fallback_alias: str) -> ModelVersion:
    """The designated fallback version; a clear refusal when none is designated."""
    info = mc.get_model(model)
    designated = info.aliases.get(fallback_alias)
    if designated is None:
        have = ", ".join(f"{a}={v}" for a, v in sorted(info.aliases.items())) or "none"
        raise NotFoundError(
            f"{model} has no fallback designated: no alias {fallback_alias!r} (aliases: {have})",
            hint=designate_hint(model),
        )
    target = mc.get_version(model, designated)
    if target.status != "READY":
        raise ValidationError(
            f"{model} fallback version {target.version} is {target.status}, not READY",
            hint=designate_hint(model),
        )
    return target


def fallback(
    mc: MlflowClient,
    model: str,
    alias: str = "champion",
    fallback_alias: str = DEFAULT_FALLBACK_ALIAS,
    *,
    incident: str | None = None,
    dry_run: bool = False,
) -> AliasMove:
    """Point ``alias`` at the version of ``fallback_alias``; verified; idempotent."""
    target = fallback_target(mc, model, fallback_alias)
    current = mc.version_by_alias(model, alias)
    reason = f"fallback alias {fallback_alias!r}"
    if current.version == target.version:
        why = f"{alias} already serves the fallback version {target.version}"
        return AliasMove(model, alias, current.version, current.version, False, True, why)
    if dry_run:
        return AliasMove(
            model, alias, current.version, target.version, False, False, reason, dry_run=True
        )
    # Written before the move: a crash in between leaves a record that restore can explain.
    mark = {
        "from": current.version,
        "to": target.version,
        "fallback_alias": fallback_alias,
        "at": iso(utcnow()),
        "incident": incident,
    }
    mc.set_model_tag(model, MARK + alias, json.dumps(mark))
    mc.set_alias(model, alias, target.version)
    _read_back(mc, model, alias, target.version)
    return AliasMove(model, alias, current.version, target.version, True, True, reason)


def restore(
    mc: MlflowClient,
    model: str,
    alias: str = "champion",
    *,
    incident: str | None = None,
    dry_run: bool = False,
    event: dict[str, Any] | None = None,
) -> AliasMove:
    """Put ``alias`` back on the version it had before the recorded fallback.

    The record is the registry tag; ``event`` (``{from, to, at}`` from the incident's
    model_changed event) stands in when the tag is gone.
    """
    mark = recorded(mc, model, alias) or event
    if mark is None:
        raise NotFoundError(
            f"no recorded fallback of {model}@{alias} to restore",
            hint=f"`mlsre model fallback {model}` records one; to move the alias by hand use "
            f"`mlsre model rollback {model} --alias {alias} --to VERSION`",
        )
    before, fell_to = str(mark["from"]), str(mark["to"])
    current = mc.version_by_alias(model, alias)
    if current.version == before:
        why = f"{alias} is already on version {before}, the one it had before the fallback"
        return AliasMove(model, alias, before, before, False, True, why)
    if current.version != fell_to or mark.get("restored_at"):
        raise ValidationError(
            f"{model}@{alias} is version {current.version}, not the fallback version {fell_to} "
            f"mlsre moved it to at {mark.get('at')}"
            + (f" (restored at {mark['restored_at']})" if mark.get("restored_at") else "")
            + ": something moved it since, so there is nothing safe to restore",
            hint=f"check `mlsre model versions {model}`; move it explicitly with "
            f"`mlsre model rollback {model} --alias {alias} --to VERSION`",
        )
    target = mc.get_version(model, before)
    if target.status != "READY":
        raise ValidationError(f"{model} version {before} is {target.status}, not READY")
    reason = f"version before the fallback of {mark.get('at')}"
    if dry_run:
        return AliasMove(model, alias, fell_to, before, False, False, reason, dry_run=True)
    mc.set_alias(model, alias, before)
    _read_back(mc, model, alias, before)
    done = {**mark, "restored_at": iso(utcnow()), "restored_incident": incident}
    done.setdefault("fallback_alias", DEFAULT_FALLBACK_ALIAS)
    mc.set_model_tag(model, MARK + alias, json.dumps(done))
    return AliasMove(model, alias, fell_to, before, True, True, reason)


def designate(
    mc: MlflowClient,
    model: str,
    version: str,
    fallback_alias: str = DEFAULT_FALLBACK_ALIAS,
    *,
    dry_run: bool = False,
) -> AliasMove:
    """Name ``version`` the fallback (moves the fallback alias only; serving is untouched)."""
    target = mc.resolve(model, version)
    if target.status != "READY":
        raise ValidationError(f"{model} version {target.version} is {target.status}, not READY")
    return promote(mc, model, target.version, fallback_alias, None, dry_run=dry_run)


def _read_back(mc: MlflowClient, model: str, alias: str, want: str) -> None:
    check = mc.version_by_alias(model, alias)
    if check.version != want:
        raise IntegrationError(
            f"moved {model}@{alias} to {want} but reading it back gives {check.version}",
            hint="someone else may be changing the registry; check it in the MLflow UI",
        )
