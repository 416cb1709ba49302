"""``mlsre model fallback`` and ``mlsre model restore``: serve the fallback model, and go back.

Registered on the ``model`` group by :mod:`mlsre.cli.model`; the logic is
:mod:`mlsre.steps.model_registry.fallback`, which the ``registry.fallback`` step kind shares.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from mlsre.cli import common, output
from mlsre.cli.common import AsOpt, DryRunOpt, IncidentOpt, JsonOpt, YesOpt

NameArg = Annotated[str, typer.Argument(help="Registered model name.", metavar="NAME")]
AliasOpt = Annotated[str, typer.Option("--alias", help="The serving alias to move.")]


def _confirm(question: str) -> None:
    from mlsre.errors import UsageError

    if not sys.stdin.isatty():
        raise UsageError(f"{question} Needs confirmation", hint="rerun with --yes to confirm")
    if not typer.confirm(question, default=False):
        raise typer.Exit(1)


def _incident_exists(ctx: typer.Context, ref: str) -> int:
    from mlsre.cli.model import _check_incident

    return _check_incident(ctx, ref)


def _record(ctx: typer.Context, incident_id: int, move: Any, action: str, as_: str | None) -> Any:
    from mlsre.actor import resolve_actor
    from mlsre.incident.model import EventKind
    from mlsre.incident.service import record

    data = {**move.change(), "action": action, "via": f"mlsre model {action}"}
    store = common.store(ctx)
    try:
        _, event = record(store, incident_id, EventKind.MODEL_CHANGED, resolve_actor(as_), data)
    finally:
        store.close()
    return event


def _show(move: Any, event: Any, incident: str | None, as_json: bool, verb: str) -> None:
    if as_json:
        output.print_json({"move": move, "event": event})
        return
    from mlsre.cli.model_view import render_move

    render_move(move, event, incident, verb)


def fallback(
    ctx: typer.Context,
    name: NameArg,
    alias: AliasOpt = "champion",
    fallback_alias: Annotated[
        str | None,
        typer.Option(
            "--fallback-alias",
            help="Alias naming the fallback version (default: registry.fallback_alias, 'fallback').",
        ),
    ] = None,
    designate: Annotated[
        str | None,
        typer.Option(
            "--designate",
            metavar="VERSION",
            help="Name VERSION the fallback (moves the fallback alias only; serving is untouched).",
        ),
    ] = None,
    incident: IncidentOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Serve the model's fallback version: move the serving alias to it, and read it back.

    The fallback is the version of the registry alias 'fallback' (a simpler or older, robust
    model). The version served before is recorded, so `mlsre model restore` can go back.
    Running it again changes nothing. With --incident the move goes on the incident's timeline.

    Example: mlsre model fallback fraud-detector --incident INC-7 --yes
    """
    from mlsre.integrations.mlflow import MlflowClient
    from mlsre.steps.model_registry import fallback as fb

    settings = common.settings(ctx)
    mc = MlflowClient(settings.registry)
    named = fallback_alias or settings.registry.fallback_alias
    if designate is not None:
        move = fb.designate(mc, name, designate, named, dry_run=dry_run)
        _show(move, None, None, as_json, "designated")
        return
    incident_id = _incident_exists(ctx, incident) if incident else None
    plan = fb.fallback(mc, name, alias, named, incident=incident, dry_run=True)
    if plan.dry_run and not dry_run and not yes:
        _confirm(
            f"Serve the fallback: move {name}@{alias} from version {plan.before} to "
            f"{plan.after} ({plan.reason})?"
        )
    move = (
        plan
        if dry_run or not plan.dry_run
        else fb.fallback(mc, name, alias, named, incident=incident)
    )
    event = (
        _record(ctx, incident_id, move, "fallback", as_) if move.changed and incident_id else None
    )
    _show(move, event, incident, as_json, "fell back")


def restore(
    ctx: typer.Context,
    name: NameArg,
    alias: AliasOpt = "champion",
    incident: Annotated[
        str | None,
        typer.Option(
            "--incident",
            help="Record the move on this incident (default: the one the fallback was recorded on).",
        ),
    ] = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move the serving alias back to the version it had before `mlsre model fallback`.

    The version comes from the fallback's record in the registry. If something else moved the
    alias since, nothing is changed and you are told why. Running it again changes nothing.

    Example: mlsre model restore fraud-detector --yes
    """
    from mlsre.errors import NotFoundError
    from mlsre.integrations.mlflow import MlflowClient
    from mlsre.steps.model_registry import fallback as fb

    mc = MlflowClient(common.settings(ctx).registry)
    if incident is None:  # the incident the fallback went on, when this store has it
        mark = fb.recorded(mc, name, alias)
        ref = str(mark.get("incident") or "") if mark else ""
        if ref:
            try:
                _incident_exists(ctx, ref)
                incident = ref
            except NotFoundError:
                output.err(f"note: {ref} (the fallback's incident) is not in this store")
    incident_id = _incident_exists(ctx, incident) if incident else None
    event = None
    if incident_id is not None and fb.recorded(mc, name, alias) is None:
        event = _fallback_event(ctx, incident_id, name, alias)
    plan = fb.restore(mc, name, alias, incident=incident, dry_run=True, event=event)
    if plan.dry_run and not dry_run and not yes:
        _confirm(
            f"Restore {name}@{alias}: move it from fallback version {plan.before} back to "
            f"{plan.after}?"
        )
    move = (
        plan
        if dry_run or not plan.dry_run
        else fb.restore(mc, name, alias, incident=incident, event=event)
    )
    event = (
        _record(ctx, incident_id, move, "restore", as_) if move.changed and incident_id else None
    )
    _show(move, event, incident, as_json, "restored")


def _fallback_event(ctx: typer.Context, incident_id: int, model: str, alias: str) -> Any:
    """The incident's last recorded fallback of ``model@alias`` as ``{from, to, at}``."""
    from mlsre.incident.model import EventKind
    from mlsre.timeutil import iso

    store = common.store(ctx)
    try:
        events = store.events(incident_id)
    finally:
        store.close()
    found = None
    for e in events:
        d = e.data
        if e.kind is EventKind.MODEL_CHANGED and (d.get("model"), d.get("alias")) == (model, alias):
            if d.get("action") == "fallback":
                found = {"from": d.get("from_version"), "to": d.get("to_version"), "at": iso(e.at)}
            elif d.get("action") == "restore":
                found = None  # already restored since
    return found
