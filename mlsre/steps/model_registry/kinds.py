"""Step kinds for the model registry (MLflow): versions, current, compare, rollback, promote,
fallback.

Only :mod:`mlsre.integrations.mlflow` speaks MLflow REST; the logic behind these kinds lives in
:mod:`mlsre.steps.model_registry.run`, which ``mlsre model ...`` commands share.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mlsre.steps.base import ReadCheck, StepContext, StepKind, StepResult


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="Registered model name, e.g. fraud-detector.")


class VersionsParams(_Params):
    limit: int | None = Field(None, ge=1, description="Only the newest N versions.")


class CurrentParams(_Params):
    alias: str = Field("champion", min_length=1, description="The alias to resolve.")


class CompareParams(_Params):
    a: str = Field("champion", min_length=1, description="Alias or version number (left side).")
    b: str = Field("previous", min_length=1, description="Alias or version number (right side).")


class RollbackParams(_Params):
    alias: str = Field("champion", min_length=1, description="The alias to move back.")
    to: str | None = Field(
        None,
        description="Target version number or alias; default: the `previous_alias` if set, "
        "else the newest READY version below the current one.",
    )
    previous_alias: str = Field("previous", min_length=1, description="Names the default target.")


class PromoteParams(_Params):
    version: str = Field(min_length=1, description="Version number (or alias) to promote.")
    alias: str = Field("champion", min_length=1, description="The alias to move to it.")
    previous_alias: str | None = Field(
        "previous", description="Moves to the version `alias` left (null: leave it alone)."
    )


class FallbackParams(_Params):
    alias: str = Field("champion", min_length=1, description="The serving alias to move.")
    fallback_alias: str | None = Field(
        None,
        min_length=1,
        description="Alias that names the fallback version (default: registry.fallback_alias, "
        "'fallback').",
    )


P = TypeVar("P", bound=BaseModel)


class _RegistryKind(StepKind[P]):
    """The registry keeps no history of its aliases: every registry kind reads (or moves) the
    present, whatever `--at` says."""

    shows_present = True


class RegistryVersions(_RegistryKind[VersionsParams]):
    """Versions of a model, numerically sorted, each with its aliases, status and tags."""

    name = "registry.versions"

    def describe(self, params: VersionsParams) -> str:
        return f"list versions of registered model {params.model}"

    def run(self, params: VersionsParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.model_registry.run import run_versions

        return run_versions(params, ctx)


class RegistryCurrent(_RegistryKind[CurrentParams]):
    """The version behind an alias and how long ago it went live."""

    name = "registry.current"

    def describe(self, params: CurrentParams) -> str:
        return f"resolve {params.model}@{params.alias}"

    def run(self, params: CurrentParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.model_registry.run import run_current

        return run_current(params, ctx)


class RegistryCompare(_RegistryKind[CompareParams]):
    """Params, metrics and tags of two versions side by side (e.g. champion vs previous)."""

    name = "registry.compare"

    def describe(self, params: CompareParams) -> str:
        return f"compare {params.model} {params.a} vs {params.b} (params, metrics, tags)"

    def run(self, params: CompareParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.model_registry.run import run_compare

        return run_compare(params, ctx)


class RegistryRollback(_RegistryKind[RollbackParams]):
    """Move an alias back (confirm-gated); read back to verify; a second run changes nothing."""

    name = "registry.rollback"
    mutating = True

    def describe(self, params: RollbackParams) -> str:
        target = params.to or f"the version of alias {params.previous_alias!r} (else the one below)"
        return f"move alias {params.alias!r} of {params.model} back to {target}"

    def preflight(self, raw_with: dict[str, Any], settings: Any) -> list[ReadCheck] | None:
        """The model and its serving alias must exist."""
        return [_current(raw_with, raw_with.get("alias") or "champion")]

    def preview(self, params: RollbackParams, ctx: StepContext) -> str:
        """What the rollback will change, read from the registry now (for the confirm prompt)."""
        from mlsre.steps.model_registry.run import preview_rollback

        return preview_rollback(params, ctx)

    def run(self, params: RollbackParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.model_registry.run import run_rollback

        return run_rollback(params, ctx)


class RegistryPromote(_RegistryKind[PromoteParams]):
    """Point an alias at a version (the old one moves to ``previous_alias``)."""

    name = "registry.promote"
    mutating = True

    def describe(self, params: PromoteParams) -> str:
        return f"point alias {params.alias!r} of {params.model} at version {params.version}"

    def preflight(self, raw_with: dict[str, Any], settings: Any) -> list[ReadCheck] | None:
        """The model must exist (and list its versions)."""
        return [ReadCheck("registry.versions", {"model": raw_with.get("model")})]

    def preview(self, params: PromoteParams, ctx: StepContext) -> str:
        from mlsre.steps.model_registry.run import preview_promote

        return preview_promote(params, ctx)

    def run(self, params: PromoteParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.model_registry.run import run_promote

        return run_promote(params, ctx)


class RegistryFallback(_RegistryKind[FallbackParams]):
    """Move the serving alias to the fallback version (confirm-gated); verified; idempotent.

    The move itself (shared with ``mlsre model fallback``/``restore``) is in
    :mod:`mlsre.steps.model_registry.fallback`; results are shaped like a rollback's, so the
    engine records the move as a model change on the incident."""

    name = "registry.fallback"
    mutating = True

    def describe(self, params: FallbackParams) -> str:
        named = params.fallback_alias or "the configured fallback alias"
        return f"move alias {params.alias!r} of {params.model} to its fallback version ({named})"

    def preflight(self, raw_with: dict[str, Any], settings: Any) -> list[ReadCheck] | None:
        """The model, its serving alias and its fallback alias must exist."""
        fallback_alias = raw_with.get("fallback_alias") or settings.registry.fallback_alias
        return [
            _current(raw_with, raw_with.get("alias") or "champion"),
            _current(
                raw_with,
                fallback_alias,
                if_missing=": no fallback designated; "
                "`mlsre model fallback {name} --designate VERSION` names one",
            ),
        ]

    def run(self, params: FallbackParams, ctx: StepContext) -> StepResult:
        from mlsre.steps.model_registry.run import run_fallback

        return run_fallback(params, ctx)


def _current(raw_with: dict[str, Any], alias: Any, if_missing: str = "") -> ReadCheck:
    """Stand-in check: ``registry.current`` of the step's model and ``alias``."""
    return ReadCheck(
        "registry.current", {"model": raw_with.get("model"), "alias": alias}, if_missing=if_missing
    )


KINDS: list[type[StepKind[Any]]] = [
    RegistryVersions,
    RegistryCurrent,
    RegistryCompare,
    RegistryRollback,
    RegistryPromote,
    RegistryFallback,
]
