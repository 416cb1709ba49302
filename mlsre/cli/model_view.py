"""How the model registry's answers look: versions, a moved alias, a gated promotion."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlsre.cli import output

if TYPE_CHECKING:
    from mlsre.canary.promote import Promotion
    from mlsre.integrations.mlflow import ModelVersion
    from mlsre.steps.model_registry.moves import AliasMove


def _when(ms: int) -> str:
    from datetime import UTC, datetime

    from mlsre.timeutil import iso

    return iso(datetime.fromtimestamp(ms / 1000, UTC)) if ms else ""


def render_versions(name: str, versions: list[ModelVersion]) -> None:
    rows = [
        [
            v.version,
            ",".join(v.aliases),
            v.status,
            _when(v.created_ms),
            v.run_id[:12],
            " ".join(v.description.split()),  # whole: a terminal wraps it, a pipe keeps it
        ]
        for v in versions
    ]
    output.table(name, ["version", "aliases", "status", "created", "run", "description"], rows)


def render_move(move: AliasMove, event: Any, incident: str | None, verb: str | None) -> None:
    """A rollback, fallback or restore: what would move, what moved, or why nothing did."""
    where = f"{move.model}@{move.alias}"
    if move.dry_run:
        output.line(f"would move {where} from {move.before} to {move.after} ({move.reason})")
    elif move.changed:
        done = f"{verb} {where}" if verb else where
        output.line(f"{done}: {move.before} -> {move.after} ({move.reason}), verified", tone="ok")
        if event is not None:
            output.line(f"recorded on {incident} (event {event.seq})")
    else:
        output.line(f"no change: {move.reason}")


def render_promotion(result: Promotion, event: Any, incident: str | None) -> None:
    if result.judgement is not None:
        from mlsre.cli.canary import render

        render(result.judgement)
    where = f"{result.model}@{result.alias}"
    tone: output.Tone | None = "ok" if result.promoted else None
    output.line(f"{where} -> {result.version}: {result.reason}", tone=tone)
    if event is not None:
        output.line(f"recorded on {incident} (event {event.seq})")
