"""``mlsre slo``: list SLOs, show their error budget and burn rates, generate Prometheus rules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlsre.cli import common, output
from mlsre.cli.common import AtOpt, JsonOpt

if TYPE_CHECKING:
    from mlsre.slo.spec import Slo
    from mlsre.slo.status import SloStatus

app = typer.Typer(
    help="SLOs, error budgets, burn rates and Prometheus rules.\n\n"
    "Example: mlsre slo status fraud-latency-p99 --at 2026-11-28T03:10:00Z",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """SLOs (OpenSLO v1 files under slo_paths), error budgets, burn rates and Prometheus rules.

    Example: mlsre slo status fraud-latency-p99 --at 2026-11-28T03:10:00Z
    """


def _workspace(ctx: typer.Context) -> tuple[Any, list[Slo]]:
    from mlsre.errors import NotFoundError
    from mlsre.slo.status import load_workspace_slos

    settings = common.settings(ctx)
    slos = load_workspace_slos(settings)
    if not slos:
        where = ", ".join(str(settings.resolve(p)) for p in settings.slo_paths)
        raise NotFoundError(
            f"no SLOs found in {where}",
            hint="add OpenSLO files there (see docs/slo.md and docs/examples/slos/), "
            "or set slo_paths in mlsre.yaml",
        )
    return settings, slos


@app.command("list")
def list_slos(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List the workspace's SLOs: objective, window, budgeting method and where each is defined.

    Example: mlsre slo list --json
    """
    _, slos = _workspace(ctx)
    if json:
        output.print_json([_summary(s) for s in slos])
        return
    rows = [
        [
            s.name,
            s.service,
            _pct(s.objective),
            s.window,
            s.budgeting.value,
            s.indicator.value,
            s.location,
        ]
        for s in slos
    ]
    output.table(None, ["SLO", "SERVICE", "OBJECTIVE", "WINDOW", "BUDGETING", "SLI", "FILE"], rows)


def _summary(s: Slo) -> dict[str, Any]:
    return {
        "name": s.name,
        "service": s.service,
        "display_name": s.display_name,
        "objective": s.objective,
        "window": s.window,
        "budgeting": s.budgeting.value,
        "indicator": s.indicator.value,
        "file": s.path,
        "line": s.line,
    }


@app.command("status")
def status(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="One SLO (default: all of them).")] = None,
    at: AtOpt = None,
    json: JsonOpt = False,
) -> None:
    """Error budget left, burn rates over 5m..3d, time to exhaustion and the alert state.

    Alert state follows the multiwindow multi-burn-rate rule: page when the burn rate is above
    14.4 over 1h and 5m, or above 6 over 6h and 30m; ticket when above 1 over 3d and 6h.

    Example: mlsre slo status fraud-availability --at -2h --json
    """
    from mlsre.errors import IntegrationError
    from mlsre.integrations.http import FailureKind, HttpFailure
    from mlsre.integrations.prometheus import PrometheusClient
    from mlsre.slo.spec import find_slo
    from mlsre.slo.status import slo_status
    from mlsre.timeutil import parse_time, utcnow

    settings, slos = _workspace(ctx)
    when = parse_time(at) if at else utcnow()
    chosen = [find_slo(slos, name)] if name else slos
    client = PrometheusClient(settings.prometheus)
    results: list[SloStatus] = []
    failed: list[str] = []
    for slo in chosen:
        try:
            results.append(slo_status(client, slo, when))
        except HttpFailure as exc:
            # Prometheus answered but refused this SLO's query (bad PromQL, execution error):
            # show the other SLOs. Unreachable, timeouts and auth failures stop everything.
            if len(chosen) == 1 or exc.kind is not FailureKind.HTTP:
                raise
            failed.append(f"{slo.name} ({slo.location}): {exc.message}")
    if json:
        output.print_json(results)
    else:
        for i, st in enumerate(results):
            if i:
                output.line()
            _render(st)
    if failed:
        for msg in failed:
            output.err(f"error: {msg}")
        raise IntegrationError(
            f"{len(failed)} of {len(chosen)} SLO(s) could not be computed",
            hint="fix the queries in the SLO files named above (try them in the Prometheus UI)",
        )


@app.command("rules")
def rules(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the rule file here (default: stdout)."),
    ] = None,
    runbook_url: Annotated[
        str,
        typer.Option(
            "--runbook-url",
            help="runbook_url annotation; {id} becomes the id of the runbook whose triggers.slos "
            "lists the SLO.",
        ),
    ] = "mlsre://runbooks/{id}",
) -> None:
    """Prometheus recording and alerting rules for every SLO (sloth's naming), checked by promtool.

    Example: mlsre slo rules -o /etc/prometheus/rules/mlsre-slos.yml
    """
    from mlsre.slo.rules import rules_yaml

    settings, slos = _workspace(ctx)
    text = rules_yaml(slos, _runbooks_for(settings), runbook_url=runbook_url)
    if out is None:
        output.line(text.rstrip("\n"))
        return
    out.write_text(text, encoding="utf-8")
    output.line(f"wrote recording and alerting rules for {len(slos)} SLO(s) to {out}")


def _runbooks_for(settings: Any) -> dict[str, str]:
    """SLO name -> id of the (first, by id) runbook in force whose ``triggers.slos`` lists it."""
    from mlsre.runbook.loader import discover

    mapping: dict[str, str] = {}
    for entry in sorted(discover(settings).in_force(), key=lambda e: e.id):
        rb = entry.runbook
        for slo in rb.triggers.slos if rb is not None else []:
            mapping.setdefault(slo, entry.id)
    return mapping


# -- human view -----------------------------------------------------------------------------


def _pct(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x * 100:.{digits}g}%"


def _rate(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _rate_tone(x: float | None) -> output.Tone:
    if x is None:
        return "muted"
    return "bad" if x > 6 else "warn" if x > 1 else "ok"


def _bar(fraction: float | None, width: int = 24) -> Any:
    """The error budget left as a bar: a rich ``Text`` (tones from the one style table)."""
    f = 0.0 if fraction is None else min(max(fraction, 0.0), 1.0)
    full = round(f * width)
    bar = output.text("█" * full, "ok" if f > 0.5 else "warn" if f > 0.2 else "bad")
    bar.append_text(output.text("░" * (width - full), "muted"))
    return bar


def _render(st: SloStatus) -> None:
    from mlsre.timeutil import human_duration, iso

    alert = st.alert.value
    tail = f"objective {_pct(st.objective, 4)} over {st.window}, at {iso(st.at)}"
    head = f"{st.name} ({st.service}): {tail}"
    left = "no data" if st.budget_remaining is None else f"{st.budget_remaining * 100:.1f}%"
    exhaustion = (
        "not burning"
        if st.exhaustion_s is None
        else "already spent"
        if st.exhaustion_s == 0
        else f"{human_duration(st.exhaustion_s)} at the {st.exhaustion_window} burn rate"
    )
    if not output.is_terminal():
        output.fields(
            [
                ("slo", head),
                ("sli", _pct(st.sli, 5)),
                ("budget left", left),
                ("burn rate", "  ".join(f"{w} {_rate(v)}" for w, v in st.burn_rates.items())),
                ("exhaustion", exhaustion),
                ("alert", alert + (f" ({', '.join(st.firing)})" if st.firing else "")),
                *([("history", st.history_note)] if st.history_note else []),
            ]
        )
        return
    text = output.text
    rates: list[Any] = []
    for w, v in st.burn_rates.items():
        rates += ["  " if rates else "", f"{w} ", text(_rate(v), _rate_tone(v))]
    firing = text(f" ({', '.join(st.firing)})", "muted") if st.firing else ""
    for shown in (
        [text(st.name, "accent"), " ", text(f"({st.service})", "muted"), f"  {tail}"],
        [f"  SLI          {_pct(st.sli, 5)}"],
        ["  budget left  ", _bar(st.budget_remaining), f" {left}"],
        ["  burn rate    ", *rates],
        [f"  exhaustion   {exhaustion}"],
        ["  alert        ", text(alert.upper(), output.tone_of(alert)), firing],
        *([["  history      ", text(st.history_note, "warn")]] if st.history_note else []),
    ):
        output.line(output.joined(*shown))
