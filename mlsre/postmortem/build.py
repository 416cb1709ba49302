"""From an incident in the store to postmortem markdown (and charts), shared by render and publish."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mlsre.incident.model import Event, EventKind, Incident, apply, fold
from mlsre.incident.store import Store
from mlsre.postmortem.context import (
    PostmortemContext,
    SloImpactSection,
    SloRow,
    build_context,
)

EVIDENCE_FILE = "evidence.json"
SECRET_KEYS = ("authorization", "token", "password", "secret", "api_key", "apikey", "cookie")


@dataclass
class Rendered:
    context: PostmortemContext
    markdown: str
    charts: list[Path] = field(default_factory=list)


def load(store: Store, incident_id: int) -> tuple[Incident, list[Event]]:
    """The incident and its events, leaving out the postmortem's own publication records.

    The state is folded from those events, so publishing (which records an event) does not
    change what the next publication says.
    """
    store.get(incident_id)  # NotFoundError with the store's hint when there is no such incident
    events = [e for e in store.events(incident_id) if e.kind is not EventKind.POSTMORTEM_PUBLISHED]
    return fold(events), events


def people(incident: Incident, events: list[Event]) -> list[str]:
    from mlsre.postmortem.context import people_names

    return people_names(incident, events)


def with_event(
    incident: Incident, events: list[Event], extra: Event | None
) -> tuple[Incident, list[Event]]:
    """The incident as it will be once ``extra`` is recorded (so the text matches the record)."""
    if extra is None:
        return incident, events
    import copy

    return apply(copy.deepcopy(incident), extra), [*events, extra]


def slo_section(
    settings: Any, incident: Incident, end: datetime, transport: Any = None
) -> SloImpactSection:
    """Budget consumed in the incident window; "not available" (never an error) when it cannot be."""
    from mlsre.errors import MlsreError

    try:
        from mlsre.slo.status import incident_impact, load_workspace_slos

        slos = load_workspace_slos(settings)
        if not slos:
            return SloImpactSection(
                False, "no SLOs are configured (add OpenSLO files under slo_paths)"
            )
        ours = {n for n in (incident.service, incident.model) if n}
        mine = [s.name for s in slos if s.service in ours] if ours else [s.name for s in slos]
        if not mine:
            return SloImpactSection(False, f"no SLO is defined for {' or '.join(sorted(ours))}")
        quick = _quick_settings(settings)
        impacts = incident_impact(quick, incident.started_at, end, names=mine, transport=transport)
    except (MlsreError, OSError, ValueError) as exc:
        return SloImpactSection(False, f"SLO impact could not be computed ({exc})")
    rows = [
        SloRow(
            i.name,
            i.objective,
            i.error_ratio,
            i.burn_rate,
            i.budget_consumed,
            i.error,
            i.budget_remaining,
            i.history_note,
        )
        for i in impacts
    ]
    if rows and all(r.error for r in rows):
        return SloImpactSection(False, f"Prometheus did not answer ({rows[0].error})")
    return SloImpactSection(True, None, rows, end)


def make_context(
    incident: Incident,
    events: list[Event],
    *,
    settings: Any = None,
    slo: bool = True,
    transport: Any = None,
) -> PostmortemContext:
    """The postmortem's facts; with ``slo`` (and settings), Prometheus is asked for the SLO
    impact and for the range of every failing instant check (so each gets a chart)."""
    from mlsre.postmortem.evidence import charts, runbook_runs
    from mlsre.postmortem.signals import gather
    from mlsre.timeutil import utcnow

    end = incident.resolved_at or (events[-1].at if events else incident.opened_at)
    runs = runbook_runs(events)
    if not slo or settings is None:
        section = SloImpactSection(False, "not requested")
        client = None
    else:
        section = slo_section(settings, incident, end, transport)
        client = _quick_client(settings, transport)
    signals = gather(runs, incident.started_at, end, utcnow(), charts(events), client)
    return build_context(incident, events, section, signals)


def _quick_settings(settings: Any) -> Any:
    """One quick retry at most: a postmortem must not wait minutes for a Prometheus that is gone."""
    return settings.model_copy(
        update={
            "prometheus": settings.prometheus.model_copy(
                update={"retries": min(settings.prometheus.retries, 1)}
            )
        }
    )


def _quick_client(settings: Any, transport: Any) -> Any:
    from mlsre.integrations.prometheus import PrometheusClient

    return PrometheusClient(_quick_settings(settings).prometheus, transport)


def render(
    ctx: PostmortemContext,
    template_dirs: list[Path],
    template: str | None = None,
    *,
    chart_dir: Path | None = None,
    link_prefix: str = "",
) -> Rendered:
    """Markdown for ``ctx``; with ``chart_dir``, the charts are drawn there and linked."""
    from mlsre.postmortem.render import render_markdown

    drawn: list[Path] = []
    if chart_dir is not None and ctx.charts:
        from mlsre.postmortem.charts import draw_all
        from mlsre.postmortem.story import deploy_moments
        from mlsre.postmortem.timeline import Moment

        marks = [*ctx.moments, *(Moment(n, at) for n, at in deploy_moments(ctx.story))]
        if ctx.what_changed is not None and ctx.what_changed.change_point_at is not None:
            marks.append(Moment("change point", ctx.what_changed.change_point_at))
        drawn = draw_all(ctx.charts, marks, chart_dir)
        for chart in ctx.charts:
            chart.link = f"{link_prefix}{chart.name}.png"
    return Rendered(ctx, render_markdown(ctx, template_dirs, template), drawn)


def evidence_json(incident: Incident, events: list[Event]) -> str:
    """The incident's whole record as JSON, secrets removed, stable for the same events."""
    from mlsre.jsonutil import plain
    from mlsre.redaction import redact_data

    data = {
        "incident": plain(incident),
        "events": [plain(e) for e in events if e.kind is not EventKind.POSTMORTEM_PUBLISHED],
    }
    clean = plain(_hide_secret_keys(redact_data(data)))
    return json.dumps(clean, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def _hide_secret_keys(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {
            k: "***"
            if any(s in str(k).lower() for s in SECRET_KEYS) and isinstance(v, str)
            else _hide_secret_keys(v)
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_hide_secret_keys(v) for v in obj]
    return obj
