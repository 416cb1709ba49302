"""``mlsre incident``: open, track and close incidents. Thin: parse, call, render."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlsre.cli import common, output
from mlsre.cli.common import AsOpt, IncidentArg, JsonOpt, config_path
from mlsre.incident.model import ActionType, EventKind, Role, Severity, Status, parse_id

if TYPE_CHECKING:
    from mlsre.incident.model import Event, Incident
    from mlsre.incident.store import Store

app = typer.Typer(
    help="Open, track and close incidents.\n\nExample: mlsre incident open 'fraud p99 up' --severity SEV2",
    no_args_is_help=True,
)
action_app = typer.Typer(
    help="Action items of an incident.\n\nExample: mlsre incident action add INC-7 'Alert on p99 per version'",
    no_args_is_help=True,
)
app.add_typer(action_app, name="action")


def _actor(flag: str | None) -> str:
    from mlsre.actor import resolve_actor

    return resolve_actor(flag)


def _record(
    ctx: typer.Context,
    incident: str,
    kind: EventKind,
    as_: str | None,
    as_json: bool,
    data: dict[str, object],
) -> None:
    from mlsre.incident.service import record
    from mlsre.incident.timeline import describe

    store = common.store(ctx)
    state, ev = record(store, parse_id(incident), kind, _actor(as_), data)
    if as_json:
        output.print_json({"incident": state, "event": ev})
    else:
        output.line(
            output.joined(f"{state.ref}: {describe(ev)}  [", output.styled(state.status.value), "]")
        )
    _deliver(ctx, store)


def _deliver(ctx: typer.Context, store: Store, settings: Any = None) -> None:
    """Send what the command queued (briefly); what is left goes with `notify flush`."""
    from mlsre.notify.service import after_command

    left = after_command(store, config_path(ctx), settings)
    if left:
        output.err(left)


@app.command("open")
def open_(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="What is wrong, in a few words.")],
    severity: Annotated[
        Severity, typer.Option("--severity", "-s", help="SEV1 (worst) .. SEV5.")
    ] = Severity.SEV3,
    model: Annotated[str | None, typer.Option(help="Registered model involved.")] = None,
    service: Annotated[str | None, typer.Option(help="Serving service involved.")] = None,
    summary: Annotated[str | None, typer.Option(help="A sentence of context.")] = None,
    started: Annotated[
        str | None,
        typer.Option(help="When the problem really began: -45m, or an ISO time (default: now)."),
    ] = None,
    commander: Annotated[str | None, typer.Option(help="Incident commander.")] = None,
    runbook: Annotated[
        str | None, typer.Option(help="Runbook for this failure mode: offered to start at once.")
    ] = None,
    drill: Annotated[
        bool, typer.Option("--drill", help="A test or game day: left out of `incident stats`.")
    ] = False,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open an incident.

    Example: mlsre incident open 'fraud-detector p99 latency 7x' -s SEV2 --model fraud-detector --started -45m
    """
    from mlsre.incident.service import open_incident
    from mlsre.notify.service import escalation_for, notify_settings

    store = common.store(ctx)
    notifying = notify_settings(config_path(ctx))  # once: the policy, then the delivery
    state = open_incident(
        store,
        title=title,
        severity=severity,
        actor=_actor(as_),
        model=model,
        service=service,
        summary=summary,
        started=started,
        commander=commander,
        escalation=escalation_for(notifying, severity.value, model, service),
        drill=drill,
    )
    if as_json:
        output.print_json(state)
    else:
        output.line(f"Opened {state.ref} [{state.severity.value}] {state.title}", tone="accent")
    _deliver(ctx, store, notifying)
    if runbook:
        _offer_runbook(ctx, state.ref, runbook, as_, as_json)


def _offer_runbook(
    ctx: typer.Context, ref: str, runbook: str, as_: str | None, as_json: bool
) -> None:
    import sys

    command = f"mlsre runbook run {runbook} --incident {ref}"
    if as_json or not (sys.stdin.isatty() and sys.stdout.isatty()):
        if not as_json:
            output.line(f"Start the runbook with: {command}")
        return
    from rich.prompt import Confirm

    question = output.text(f"Start runbook {runbook} now?")  # a path or id: data, never markup
    if not Confirm.ask(question, default=True, console=output.console()):
        output.line(f"Later: {command}")
        return
    from mlsre.cli.runbook_run import run

    ctx.invoke(run, ctx, runbook=runbook, incident=ref, as_=as_)


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        list[Status] | None, typer.Option("--status", help="Only these statuses.")
    ] = None,
    severity: Annotated[
        list[Severity] | None, typer.Option("--severity", "-s", help="Only these severities.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Only incidents of this model.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Include resolved and closed incidents.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(min=1, max=1_000_000, help="At most this many (newest first)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List incidents, newest first (open ones only unless --all or --status).

    Example: mlsre incident list --severity SEV1 --severity SEV2
    """
    from mlsre.incident.model import ACTIVE
    from mlsre.incident.store import IncidentFilter

    statuses = tuple(status or ()) or (() if all_ else ACTIVE)
    rows = common.store(ctx).rows(
        IncidentFilter(
            statuses=statuses, severities=tuple(severity or ()), model=model, limit=limit
        )
    )
    if as_json:
        output.print_json(rows)
        return
    if not rows:
        output.line(
            "No incidents."
            if all_ or status
            else "No open incidents (use --all to see every incident)."
        )
        return
    from mlsre.timeutil import human_duration, iso, utcnow

    now = utcnow()
    output.table(
        None,
        ["ID", "SEV", "STATUS", "TITLE", "MODEL", "OPENED", "AGE"],
        [
            [
                r.ref,
                output.styled(r.severity.value),
                output.styled(r.status.value),
                r.title,
                r.model or "",
                iso(r.opened_at),
                human_duration((now - r.opened_at).total_seconds()),
            ]
            for r in rows
        ],
    )


@app.command()
def show(
    ctx: typer.Context,
    incident: IncidentArg,
    events: Annotated[
        int,
        typer.Option(min=0, max=100_000, help="How many of the latest timeline entries to show."),
    ] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Show an incident: state, roles, durations, latest timeline entries.

    Example: mlsre incident show INC-7
    """
    from mlsre.incident.service import show_data
    from mlsre.timeutil import human_duration, iso

    store = common.store(ctx)
    iid = parse_id(incident)
    data = show_data(store, iid, events)  # the same JSON serve's incident API answers
    state, d, evs = data["incident"], data["durations"], data["events"]
    if as_json:
        output.print_json(data)
        return
    output.line(f"{state.ref} [{state.severity.value}] {state.title}", tone="accent")
    pairs = [
        ("status", state.status.value + (" (a drill: not in stats)" if state.drill else "")),
        ("model", state.model or "-"),
        ("service", state.service or "-"),
        ("started", iso(state.started_at)),
        ("opened", iso(state.opened_at)),
        ("acknowledged", iso(state.acknowledged_at) or "-"),
        ("mitigated", iso(state.mitigated_at) or "-"),
        ("resolved", iso(state.resolved_at) or "-"),
        (
            "impact" if d.impact_s is not None else "impact so far",
            human_duration(d.impact_s if d.impact_s is not None else d.elapsed_s),
        ),
        ("time to ack", human_duration(d.to_acknowledge_s)),
        ("time to mitigate", human_duration(d.to_mitigate_s)),
    ]
    pairs += [(f"role {r}", p) for r, p in sorted(state.roles.items())]
    if state.summary:
        pairs.append(("summary", state.summary))
    if state.resolution:
        pairs.append(("resolution", state.resolution))
    if state.runbooks:
        pairs.append(("runbooks", ", ".join(state.runbooks)))
    open_actions = [a for a in state.actions if not a.done]
    pairs.append(("action items", f"{len(state.actions)} ({len(open_actions)} open)"))
    from mlsre.changes.service import likely_change

    likely = likely_change(store.events(iid))
    if likely:
        pairs.append(("likely related change", _change_line(likely)))
    output.fields(pairs)
    output.line()
    _render_events(evs, title=f"Latest {len(evs)} of {state.last_seq} events")


def _change_line(change: dict[str, object]) -> str:
    from mlsre.changes.service import at_text

    return f"{change.get('summary')} ({at_text(change.get('at'))}, score {change.get('score')})"


@app.command("escalate")
def escalate(
    ctx: typer.Context,
    incident: IncidentArg,
    level: Annotated[
        int | None,
        typer.Option(
            min=1, max=100, help="Escalate to this level of the policy (default: the next)."
        ),
    ] = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Escalate by hand: notify the next level of the incident's escalation policy now.

    Example: mlsre incident escalate INC-7 --level 2
    """
    from mlsre.incident.timeline import describe
    from mlsre.timeutil import utcnow

    store = common.store(ctx)
    done = store.escalate(parse_id(incident), _actor(as_), utcnow(), level=level)
    assert done is not None  # by hand: an impossible escalation raises instead
    state, ev = done
    if as_json:
        output.print_json({"incident": state, "event": ev})
    else:
        output.line(f"{state.ref}: {describe(ev)}")
    _deliver(ctx, store)


@app.command("changes")
def changes(
    ctx: typer.Context,
    incident: IncidentArg,
    window: Annotated[
        str | None,
        typer.Option(
            help="How far before the incident start to look (default: changes.window, 24h)."
        ),
    ] = None,
    record: Annotated[
        bool,
        typer.Option(help="Keep the ranking on the incident's timeline (and its postmortem)."),
    ] = True,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What changed before the incident, most likely cause first.

    Reads the model registry (versions, deploys, lineage of the live version against the one
    before: training code, params and datasets), the git repositories under `changes.repos`,
    version labels of the serving metrics and the team's change log (`mlsre change record`).
    Each change has a score with its reasons; a source that cannot be read is one note.

    Example: mlsre incident changes INC-7 --window 48h
    """
    from mlsre.changes.service import incident_changes
    from mlsre.timeutil import parse_duration

    settings = common.settings(ctx)
    span = parse_duration(window) if window else None
    report = incident_changes(
        common.store(ctx), settings, parse_id(incident), _actor(as_), window=span, record=record
    )
    if as_json:
        output.print_json(report)
        return
    from mlsre.cli.changes_view import render_report

    render_report(report)


def _render_events(evs: list[Event], *, title: str | None) -> None:
    from mlsre.incident.timeline import describe
    from mlsre.timeutil import iso

    output.table(
        title,
        ["#", "TIME (UTC)", "ACTOR", "EVENT"],
        [[str(e.seq), iso(e.at), e.actor, describe(e)] for e in evs],
    )


@app.command()
def timeline(ctx: typer.Context, incident: IncidentArg, as_json: JsonOpt = False) -> None:
    """The whole timeline of an incident, in UTC.

    Example: mlsre incident timeline INC-7
    """
    evs = common.store(ctx).events(parse_id(incident))
    if as_json:
        output.print_json(evs)
    else:
        _render_events(evs, title=None)


@app.command()
def follow(
    ctx: typer.Context,
    incident: IncidentArg,
    last: Annotated[
        int, typer.Option(min=0, max=100_000, help="Start with this many of the latest entries.")
    ] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line (an event), for tools.")
    ] = False,
) -> None:
    """Print the timeline's new entries as they happen, until Ctrl-C.

    PostgreSQL pushes each entry as it commits (LISTEN/NOTIFY); SQLite is polled cheaply.

    Leave it open in the scribe's or the comms lead's terminal.

    Example: mlsre incident follow INC-7 --json
    """
    import json
    import sys

    from mlsre.incident.follow import follow as follow_events
    from mlsre.incident.timeline import describe
    from mlsre.timeutil import iso

    for ev in follow_events(common.store(ctx), parse_id(incident), last=max(0, last)):
        if as_json:
            text = json.dumps(output.to_jsonable(ev), ensure_ascii=False, allow_nan=False)
            sys.stdout.write(text + "\n")
        else:
            output.line(f"{ev.seq}\t{iso(ev.at)}\t{ev.actor}\t{describe(ev)}")
        sys.stdout.flush()


NoteOpt = Annotated[str | None, typer.Option("--note", "-m", help="A sentence for the timeline.")]


@app.command()
def ack(
    ctx: typer.Context,
    incident: IncidentArg,
    note: NoteOpt = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Acknowledge an incident: someone is on it.

    Example: mlsre incident ack INC-7
    """
    _record(ctx, incident, EventKind.ACKNOWLEDGED, as_, as_json, {"note": note} if note else {})


@app.command()
def mitigate(
    ctx: typer.Context,
    incident: IncidentArg,
    note: NoteOpt = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark the impact as mitigated (users no longer hurt; root cause may remain).

    Example: mlsre incident mitigate INC-7 -m 'rolled fraud-detector back to v3'
    """
    _record(ctx, incident, EventKind.MITIGATED, as_, as_json, {"note": note} if note else {})


@app.command()
def resolve(
    ctx: typer.Context,
    incident: IncidentArg,
    resolution: Annotated[str, typer.Option("--resolution", "-r", help="What fixed it.")],
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Resolve an incident.

    Example: mlsre incident resolve INC-7 -r 'v4 rolled back; bad feature transform fixed in v5'
    """
    _record(ctx, incident, EventKind.RESOLVED, as_, as_json, {"resolution": resolution})


@app.command()
def reopen(
    ctx: typer.Context,
    incident: IncidentArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it is back.")] = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reopen a resolved or closed incident (it goes back to acknowledged).

    Example: mlsre incident reopen INC-7 --reason 'p99 up again'
    """
    _record(ctx, incident, EventKind.REOPENED, as_, as_json, {"reason": reason} if reason else {})


@app.command()
def close(
    ctx: typer.Context,
    incident: IncidentArg,
    note: NoteOpt = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close a resolved incident (normally done by `mlsre postmortem publish`).

    Example: mlsre incident close INC-7
    """
    _record(ctx, incident, EventKind.CLOSED, as_, as_json, {"note": note} if note else {})


@app.command()
def note(
    ctx: typer.Context,
    incident: IncidentArg,
    text: Annotated[str, typer.Argument(help="The note.")],
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a note to the timeline.

    Example: mlsre incident note INC-7 'p99 only up on version 4 pods'
    """
    if not text.strip():
        from mlsre.errors import UsageError

        raise UsageError("the note is empty")
    _record(ctx, incident, EventKind.NOTE, as_, as_json, {"text": text})


@app.command()
def assign(
    ctx: typer.Context,
    incident: IncidentArg,
    person: Annotated[str, typer.Argument(help="Who takes the role.")],
    role: Annotated[
        Role, typer.Option("--role", help="commander, scribe, ops or comms.")
    ] = Role.COMMANDER,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give someone a role on the incident.

    Example: mlsre incident assign INC-7 alice --role commander
    """
    _record(
        ctx, incident, EventKind.ROLE_ASSIGNED, as_, as_json, {"role": role.value, "person": person}
    )


@app.command()
def severity(
    ctx: typer.Context,
    incident: IncidentArg,
    level: Annotated[Severity, typer.Argument(help="SEV1 (worst) .. SEV5.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why.")] = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change the severity.

    Example: mlsre incident severity INC-7 SEV1 --reason 'all regions affected'
    """
    data: dict[str, object] = {"severity": level.value}
    if reason:
        data["reason"] = reason
    _record(ctx, incident, EventKind.SEVERITY_CHANGED, as_, as_json, data)


@action_app.command("add")
def action_add(
    ctx: typer.Context,
    incident: IncidentArg,
    title: Annotated[str, typer.Argument(help="What should be done.")],
    type_: Annotated[
        ActionType, typer.Option("--type", help="mitigate, prevent, detect or process.")
    ] = ActionType.PREVENT,
    owner: Annotated[str | None, typer.Option(help="Who owns it.")] = None,
    due: Annotated[str | None, typer.Option(help="Due date, YYYY-MM-DD.")] = None,
    link: Annotated[str | None, typer.Option(help="Ticket or bug link.")] = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an action item.

    Example: mlsre incident action add INC-7 'Canary gate on p99 per version' --type detect --owner bob
    """
    from mlsre.incident.service import add_action

    state = add_action(
        common.store(ctx),
        parse_id(incident),
        title=title,
        type=type_,
        actor=_actor(as_),
        owner=owner,
        due=due,
        link=link,
    )
    item = state.actions[-1]
    if as_json:
        output.print_json(item)
    else:
        output.line(f"{state.ref}: action item {item.id} added ({item.type.value}): {item.title}")


@action_app.command("list")
def action_list(ctx: typer.Context, incident: IncidentArg, as_json: JsonOpt = False) -> None:
    """List action items.

    Example: mlsre incident action list INC-7
    """
    state = common.store(ctx).get(parse_id(incident))
    if as_json:
        output.print_json(state.actions)
        return
    if not state.actions:
        output.line(f"{state.ref} has no action items.")
        return
    output.table(
        None,
        ["#", "TYPE", "STATUS", "TITLE", "OWNER", "DUE", "LINK"],
        [
            [
                str(a.id),
                a.type.value,
                "done" if a.done else "open",
                a.title,
                a.owner or "",
                a.due or "",
                a.link or "",
            ]
            for a in state.actions
        ],
    )


@action_app.command("done")
def action_done(
    ctx: typer.Context,
    incident: IncidentArg,
    number: Annotated[int, typer.Argument(help="Action item number (see action list).")],
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark an action item done.

    Example: mlsre incident action done INC-7 2
    """
    _record(ctx, incident, EventKind.ACTION_DONE, as_, as_json, {"action": number})


@app.command()
def drill(
    ctx: typer.Context,
    incident: IncidentArg,
    undo: Annotated[bool, typer.Option("--undo", help="It was a real incident after all.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why, for the timeline.")] = None,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark an incident as a test or drill, so `incident stats` leaves it out (--undo: count it).

    Example: mlsre incident drill INC-4 --reason "game day: corrupted amount column"
    """
    data: dict[str, object] = {"drill": not undo}
    if reason:
        data["reason"] = reason
    _record(ctx, incident, EventKind.DRILL_MARKED, as_, as_json, data)


@app.command()
def stats(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="Period start: -30d, or an ISO date.")] = "-90d",
    as_json: JsonOpt = False,
) -> None:
    """Time to detect / acknowledge / mitigate / resolve (median and p90) per severity and model.

    Detect and acknowledge count from the page (opened); mitigate and resolve from --started.

    Example: mlsre incident stats --since -30d
    """
    from mlsre.incident import stats as st
    from mlsre.incident.store import IncidentFilter
    from mlsre.timeutil import human_duration, parse_time

    start = parse_time(since)
    result = st.compute(common.store(ctx).incidents(IncidentFilter(since=start)), start)
    if as_json:
        output.print_json(result)
        return
    rows = []
    for kind, groups in (
        ("", [result.overall]),
        ("severity", result.by_severity),
        ("model", result.by_model),
    ):
        for g in groups:
            cells = [f"{kind} {g.group}".strip(), str(g.incidents)]
            for f in (
                g.time_to_detect,
                g.time_to_acknowledge,
                g.time_to_mitigate,
                g.time_to_resolve,
            ):
                cells.append(f"{human_duration(f.median_s)} / {human_duration(f.p90_s)}")
            rows.append(cells)
    output.table(
        f"Incidents since {since} (median / p90)",
        ["GROUP", "N", "DETECT", "ACK", "MITIGATE", "RESOLVE"],
        rows,
    )
    if result.drills_excluded:
        output.line(f"{result.drills_excluded} drill(s) not counted (see `mlsre incident drill`)")


@app.command()
def export(
    ctx: typer.Context,
    incident: Annotated[
        str | None, typer.Argument(help="Only this incident (default: all).")
    ] = None,
) -> None:
    """Print the full event log as JSON (backup, tooling, replay).

    Example: mlsre incident export > incidents.json
    """
    store = common.store(ctx)
    if incident:
        iid = parse_id(incident)
        incidents: list[Incident] = [store.get(iid)]
        evs = store.events(iid)
    else:
        from mlsre.incident.store import IncidentFilter

        incidents = store.incidents(IncidentFilter())
        evs = list(store.all_events())
    output.print_json({"format": "mlsre-export/v1", "incidents": incidents, "events": evs})
