"""Step kinds for the model registry (MLflow): versions, current, compare, rollback, promote.

Only :mod:`mlsre.integrations.mlflow` speaks MLflow REST; the logic behind these kinds lives in
:mod:`mlsre.steps.registry_run`, which ``mlsre model ...`` commands share.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from mlsre.steps.base import StepContext, StepResult


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


class RegistryVersions:
    """Versions of a model, numerically sorted, each with its aliases, status and tags."""

    name: ClassVar[str] = "registry.versions"
    Params: ClassVar[type[BaseModel]] = VersionsParams
    mutating: ClassVar[bool] = False

    def describe(self, params: Any) -> str:
        return f"list versions of registered model {params.model}"

    def run(self, params: Any, ctx: StepContext) -> StepResult:
        from mlsre.steps.registry_run import run_versions

        return run_versions(params, ctx)


class RegistryCurrent:
    """The version behind an alias and how long ago it went live."""

    name: ClassVar[str] = "registry.current"
    Params: ClassVar[type[BaseModel]] = CurrentParams
    mutating: ClassVar[bool] = False

    def describe(self, params: Any) -> str:
        return f"resolve {params.model}@{params.alias}"

    def run(self, params: Any, ctx: StepContext) -> StepResult:
        from mlsre.steps.registry_run import run_current

        return run_current(params, ctx)


class RegistryCompare:
    """Params, metrics and tags of two versions side by side (e.g. champion vs previous)."""

    name: ClassVar[str] = "registry.compare"
    Params: ClassVar[type[BaseModel]] = CompareParams
    mutating: ClassVar[bool] = False

    def describe(self, params: Any) -> str:
        return f"compare {params.model} {params.a} vs {params.b} (params, metrics, tags)"

    def run(self, params: Any, ctx: StepContext) -> StepResult:
        from mlsre.steps.registry_run import run_compare

        return run_compare(params, ctx)


class RegistryRollback:
    """Move an alias back (confirm-gated); read back to verify; a second run changes nothing."""

    name: ClassVar[str] = "registry.rollback"
    Params: ClassVar[type[BaseModel]] = RollbackParams
    mutating: ClassVar[bool] = True

    def describe(self, params: Any) -> str:
        target = params.to or f"the version of alias {params.previous_alias!r} (else the one below)"
        return f"move alias {params.alias!r} of {params.model} back to {target}"

    def preview(self, params: Any, ctx: StepContext) -> str:
        """What the rollback will change, read from the registry now (for the confirm prompt)."""
        from mlsre.steps.registry_run import preview_rollback

        return preview_rollback(params, ctx)

    def run(self, params: Any, ctx: StepContext) -> StepResult:
        from mlsre.steps.registry_run import run_rollback

        return run_rollback(params, ctx)


class RegistryPromote:
    """Point an alias at a version (the old one moves to ``previous_alias``)."""

    name: ClassVar[str] = "registry.promote"
    Params: ClassVar[type[BaseModel]] = PromoteParams
    mutating: ClassVar[bool] = True

    def describe(self, params: Any) -> str:
        return f"point alias {params.alias!r} of {params.model} at version {params.version}"

    def preview(self, params: Any, ctx: StepContext) -> str:
        from mlsre.steps.registry_run import preview_promote

        return preview_promote(params, ctx)

    def run(self, params: Any, ctx: StepContext) -> StepResult:
        from mlsre.steps.registry_run import run_promote

        return run_promote(params, ctx)


KINDS: list[type] = [
    RegistryVersions,
    RegistryCurrent,
    RegistryCompare,
    RegistryRollback,
    RegistryPromote,
]
