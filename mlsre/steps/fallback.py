"""Step kind ``registry.fallback``: serve the model's designated fallback version.

The move itself (and ``mlsre model fallback``/``restore``) lives in
:mod:`mlsre.steps.registry_fallback`; results are shaped like a rollback's, so the engine records
the move as a model change on the incident.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from mlsre.steps.base import StepContext, StepResult


class FallbackParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="Registered model name, e.g. fraud-detector.")
    alias: str = Field("champion", min_length=1, description="The serving alias to move.")
    fallback_alias: str | None = Field(
        None,
        min_length=1,
        description="Alias that names the fallback version (default: registry.fallback_alias, "
        "'fallback').",
    )


class RegistryFallback:
    """Move the serving alias to the fallback version (confirm-gated); verified; idempotent."""

    name: ClassVar[str] = "registry.fallback"
    Params: ClassVar[type[BaseModel]] = FallbackParams
    mutating: ClassVar[bool] = True

    def describe(self, params: Any) -> str:
        named = params.fallback_alias or "the configured fallback alias"
        return f"move alias {params.alias!r} of {params.model} to its fallback version ({named})"

    def run(self, params: Any, ctx: StepContext) -> StepResult:
        from mlsre.errors import MlsreError
        from mlsre.steps.evidence import error_result
        from mlsre.steps.registry_fallback import fallback
        from mlsre.steps.registry_run import _incident_id, _move_result, client

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


KINDS: list[type] = [RegistryFallback]
