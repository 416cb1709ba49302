"""``mlsre model``: every subcommand of the group is registered here.

versions, rollback and promote (gated on a canary judgement) live in this module; fallback and
restore in :mod:`mlsre.cli.model_fallback` (registered at the end).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from mlsre.cli import common, model_fallback, output
from mlsre.cli.common import (
    AsOpt,
    AtOpt,
    ConfigInputOpt,
    DryRunOpt,
    IncidentOpt,
    JsonOpt,
    StepOpt,
    YesOpt,
)

if TYPE_CHECKING:
    from mlsre.integrations.mlflow import MlflowClient

app = typer.Typer(
    help="Model registry: versions and rollback.\n\nExample: mlsre model versions fraud-detector",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Registered model name.", metavar="NAME")]


def _client(ctx: typer.Context) -> MlflowClient:
    from mlsre.integrations.mlflow import MlflowClient

    settings = common.settings(ctx)
    return MlflowClient(settings.registry)


@app.command("versions")
def versions(ctx: typer.Context, name: NameArg, as_json: JsonOpt = False) -> None:
    """List a model's versions, newest first, with their aliases and status.

    Example: mlsre model versions fraud-detector --json
    """
    found = sorted(_client(ctx).versions(name), key=_newest_first)
    if as_json:
        output.print_json({"model": name, "versions": found})
        return
    from mlsre.cli.model_view import render_versions

    render_versions(name, found)


def _newest_first(v: Any) -> tuple[int, int, str]:
    number = int(v.version) if str(v.version).isdigit() else -1
    return (-number, -(v.created_ms or 0), str(v.version))


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    name: NameArg,
    alias: Annotated[str, typer.Option("--alias", help="The alias to move back.")] = "champion",
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Target version (default: alias 'previous', else the READY one below)."
        ),
    ] = None,
    incident: IncidentOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move an alias (champion by default) back to the previous version, and read it back.

    Running it again changes nothing. With --incident the move goes on the incident's timeline.

    Example: mlsre model rollback fraud-detector --incident INC-7 --yes
    """
    from mlsre.errors import UsageError
    from mlsre.steps.model_registry.moves import rollback as do_rollback

    mc = _client(ctx)
    incident_id = _check_incident(ctx, incident) if incident else None
    plan = do_rollback(mc, name, alias, to, incident=incident, dry_run=True)
    if plan.dry_run and not dry_run and not yes:
        question = (
            f"Move {name}@{alias} from version {plan.before} to {plan.after} ({plan.reason})?"
        )
        if not sys.stdin.isatty():
            raise UsageError(f"{question} Needs confirmation", hint="rerun with --yes to confirm")
        if not typer.confirm(question, default=False):
            raise typer.Exit(1)
    from mlsre.steps.model_registry.moves import MoveFailed

    try:
        move = (
            plan
            if dry_run or not plan.dry_run
            else do_rollback(mc, name, alias, to, incident=incident)
        )
    except MoveFailed as exc:
        if incident_id is not None:  # the attempt and how it ended go on the timeline
            _record_attempt(ctx, incident_id, exc.attempt, as_)
        raise
    event: Any = None
    if move.changed and incident_id is not None:
        event = _record(ctx, incident_id, move, as_)
    if as_json:
        output.print_json({"move": move, "event": event})
        return
    from mlsre.cli.model_view import render_move

    render_move(move, event, incident, None)


def _check_incident(ctx: typer.Context, incident: str) -> int:
    """The incident must exist before we touch the registry (never change, then fail to record)."""
    from mlsre.incident.model import parse_id

    n = parse_id(incident)
    store = common.store(ctx)
    try:
        store.get(n)
    finally:
        store.close()
    return n


def _record(ctx: typer.Context, incident_id: int, move: Any, as_: str | None) -> Any:
    from mlsre.actor import resolve_actor
    from mlsre.incident.model import EventKind
    from mlsre.incident.service import record

    store = common.store(ctx)
    try:
        data = {
            "model": move.model,
            "alias": move.alias,
            "from_version": move.before,
            "to_version": move.after,
            "verified": move.verified,
            "reason": move.reason,
            "via": "mlsre model rollback",
        }
        _, event = record(store, incident_id, EventKind.MODEL_CHANGED, resolve_actor(as_), data)
    finally:
        store.close()
    return event


# -- promote: gated on a canary judgement ---------------------------------------------------------


@app.command("promote")
def promote_cmd(
    ctx: typer.Context,
    name: NameArg,
    version: Annotated[
        str, typer.Argument(help="Version (or alias) to promote.", metavar="VERSION")
    ],
    alias: Annotated[str, typer.Option("--alias", help="The alias to move to it.")] = "champion",
    previous_alias: Annotated[
        str, typer.Option("--previous-alias", help="Gets the version the alias left ('' : none).")
    ] = "previous",
    gate: Annotated[
        str | None,
        typer.Option(
            "--gate",
            help="Judge first with this CanaryConfig file ('default': the built-in one); "
            "promote only on pass.",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", help="Version the canary is judged against (default: --alias's)."
        ),
    ] = None,
    lookback: Annotated[
        str | None, typer.Option("--lookback", help="Judged window (default 30m).")
    ] = None,
    at: AtOpt = None,
    step: StepOpt = "1m",
    input_: ConfigInputOpt = None,
    marginal_is: Annotated[
        str,
        typer.Option(
            "--marginal-is",
            help="A marginal judgement counts as fail (default) or pass.",
            click_type=click.Choice(["fail", "pass"]),
        ),
    ] = "fail",
    incident: IncidentOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Point an alias (champion) at a version; with --gate, only if its canary judgement passes.

    The judgement and the move are recorded as registry tags (mlsre.canary.<version>,
    mlsre.promote.<alias>) and, with --incident, on the incident. Running it again changes
    nothing. Exit code: 0 promoted (or already), 1 the gate failed, 4 could not judge.

    Example: mlsre model promote fraud-detector 5 --gate canary.yaml --lookback 1h --yes
    """
    from mlsre.canary.judge import Verdict
    from mlsre.canary.promote import PromoteRequest, gated_promote
    from mlsre.canary.run import JudgeOptions
    from mlsre.errors import UsageError
    from mlsre.runbook.runner import parse_pairs

    if not dry_run and not yes and not sys.stdin.isatty():
        raise UsageError(
            f"promoting {name} {version} to {alias} needs confirmation",
            hint="rerun with --yes (or --dry-run to only see the judgement)",
        )
    if (
        not dry_run
        and not yes
        and not typer.confirm(
            f"Point {name}@{alias} at version {version}"
            + (" if the canary judgement passes?" if gate else "?"),
            default=False,
        )
    ):
        raise typer.Exit(1)
    settings = common.settings(ctx)
    incident_id = _check_incident(ctx, incident) if incident else None
    judge_opts = JudgeOptions(
        name,
        version,
        baseline or "",
        at=at,
        lookback=lookback,
        step=step,
        inputs=parse_pairs(input_ or []),
    )
    req = PromoteRequest(
        model=name,
        version=version,
        alias=alias,
        previous_alias=previous_alias or None,
        gate=gate,
        baseline=baseline,
        judge=judge_opts,
        marginal_is=Verdict(marginal_is),
        dry_run=dry_run,
    )
    from mlsre.integrations.mlflow import MlflowClient

    result = gated_promote(MlflowClient(settings.registry), settings, req)
    event: Any = None
    if incident_id is not None and not dry_run and (result.promoted or result.judgement):
        event = _record_promotion(ctx, incident_id, result, as_)
    if as_json:
        output.print_json({"promotion": result, "event": event})
    else:
        from mlsre.cli.model_view import render_promotion

        render_promotion(result, event, incident)
    if result.verdict is not None and result.verdict is not Verdict.PASS:
        raise typer.Exit(4 if result.verdict is Verdict.NODATA else 1)


def _record_promotion(ctx: typer.Context, incident_id: int, result: Any, as_: str | None) -> Any:
    from mlsre.actor import resolve_actor
    from mlsre.canary.promote import summary
    from mlsre.incident.model import EventKind
    from mlsre.incident.service import record

    gate = summary(result.judgement) if result.judgement is not None else None
    store = common.store(ctx)
    try:
        if result.promoted:
            move = result.move
            data = {
                "model": move.model,
                "alias": move.alias,
                "from_version": move.before,
                "to_version": move.after,
                "verified": move.verified,
                "reason": "promote",
                "gate": gate,
                "via": "mlsre model promote",
            }
            _, event = record(store, incident_id, EventKind.MODEL_CHANGED, resolve_actor(as_), data)
        else:
            text = f"canary gate refused promoting {result.model} {result.version}: {result.reason}"
            data = {"text": text, "gate": gate}
            _, event = record(store, incident_id, EventKind.NOTE, resolve_actor(as_), data)
    finally:
        store.close()
    return event


def _record_attempt(
    ctx: typer.Context, incident_id: int, attempt: dict[str, Any], as_: str | None
) -> None:
    from mlsre.actor import resolve_actor
    from mlsre.incident.model import EventKind
    from mlsre.incident.service import record

    store = common.store(ctx)
    try:
        data = {**attempt, "via": "mlsre model rollback"}
        record(store, incident_id, EventKind.MODEL_CHANGED, resolve_actor(as_), data)
    finally:
        store.close()


# Serving the fallback model, and going back, in their own module.
app.command("fallback")(model_fallback.fallback)
app.command("restore")(model_fallback.restore)
