"""SLO status and incident impact, computed from Prometheus at an explicit time.

Each number is one instant query of :func:`mlsre.slo.promql.error_ratio` evaluated at ``at``:
the error ratio over 5m ... 3d gives the burn rates, the one over the SLO's period gives the
budget remaining. When a query returns several series (an SLI not aggregated to one), the worst
is used. No data (no traffic, or NaN from 0/0) is ``None``, never zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mlsre.slo import budget
from mlsre.slo.promql import error_ratio, prom_duration
from mlsre.slo.spec import Slo


class Querier(Protocol):
    """What status needs from Prometheus: a ``PrometheusClient`` or anything with its ``query``."""

    def query(
        self, promql: str, at: datetime | None = None, *, timeout_s: float | None = None
    ) -> Any: ...


@dataclass
class SloStatus:
    name: str
    service: str
    display_name: str | None
    objective: float
    window: str
    budgeting: str
    indicator: str
    at: datetime
    sli: float | None  # good share over the period (1 - error ratio)
    error_ratio: float | None  # over the period
    budget_remaining: float | None  # share of the period's budget left; < 0 = overspent
    burn_rates: dict[str, float | None]
    exhaustion_s: float | None  # at the EXHAUSTION_WINDOW burn rate; 0 = spent; None = not burning
    exhaustion_window: str
    alert: budget.AlertState
    firing: list[str] = field(default_factory=list)
    queries: dict[str, str] = field(default_factory=dict)
    history_s: float | None = None  # seconds of data in the period (None: none at all)
    history_note: str | None = None  # said when the period holds less history than its length


@dataclass
class SloImpact:
    """Error budget an incident window [start, end] consumed, for the postmortem."""

    name: str
    service: str
    objective: float
    window: str
    start: datetime
    end: datetime
    error_ratio: float | None
    burn_rate: float | None
    budget_consumed: float | None  # share of the period's budget, e.g. 0.0139 = 1.39%
    error: str | None = None  # why it could not be computed (Prometheus down, bad query)
    budget_remaining: float | None = None  # at ``end``, exactly as ``slo status --at end``
    history_note: str | None = None


def worst(result: Any) -> float | None:
    """The highest finite-or-infinite value among the samples; None when empty or all NaN."""
    values = [s.value for s in getattr(result, "samples", []) if not math.isnan(s.value)]
    return max(values) if values else None


def error_ratio_at(
    client: Querier, slo: Slo, window_s: int, at: datetime
) -> tuple[float | None, str]:
    promql = error_ratio(slo, window_s)
    return worst(client.query(promql, at)), promql


def history_seconds(client: Querier, slo: Slo, at: datetime) -> float | None:
    """How much of the period before ``at`` holds data for the SLI (None: no data at all).

    One coarse subquery over the period finds the first step with a value, a fine one (a
    minute) finds the first minute within it.
    """
    probe = error_ratio(slo, 300 if slo.slice_s <= 300 else slo.slice_s)
    coarse = max(60, slo.window_s // 1440)
    span = prom_duration(slo.window_s - 1)
    first = worst_min(client.query(f"min_over_time(timestamp({probe})[{span}:{coarse}s])", at))
    if first is None:
        return None
    if coarse > 60:
        fine_at = datetime.fromtimestamp(min(first + coarse, at.timestamp()), at.tzinfo)
        q = f"min_over_time(timestamp({probe})[{prom_duration(2 * coarse)}:1m])"
        first = worst_min(client.query(q, fine_at)) or first
    return max(0.0, at.timestamp() - first)


def worst_min(result: Any) -> float | None:
    values = [s.value for s in getattr(result, "samples", []) if math.isfinite(s.value)]
    return min(values) if values else None


def history_note(history_s: float | None, slo: Slo) -> str | None:
    if history_s is None:
        return f"no data in the {slo.window} period"
    if history_s >= slo.window_s - 120:  # a step or two short of the period is the whole of it
        return None
    return (
        f"the {slo.window} period holds only {_hours(history_s)} of history: "
        "the budget counts that time, the rest of the period is not known"
    )


def _hours(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:.1f} days" if days >= 3 else f"{seconds / 3600:.1f} hours"


def slo_status(client: Querier, slo: Slo, at: datetime) -> SloStatus:
    """Burn rates, the budget left and the alert state as of ``at``.

    When the period holds less history than its length (a new SLO, a young Prometheus), the
    budget spent is what that history spent at its error ratio, not that ratio stretched over
    the whole period, so the figure agrees with the incident impact a postmortem reports.
    """
    queries: dict[str, str] = {}
    burn: dict[str, float | None] = {}
    for window, seconds in budget.WINDOWS.items():
        ratio, queries[window] = error_ratio_at(client, slo, seconds, at)
        burn[window] = budget.burn_rate(ratio, slo.objective)
    period_ratio, queries[slo.window] = error_ratio_at(client, slo, slo.window_s, at)
    history = history_seconds(client, slo, at)
    span = slo.window_s if history is None else min(float(slo.window_s), history)
    consumed = budget.budget_consumed(period_ratio, slo.objective, span, slo.window_s)
    remaining = None if consumed is None else 1.0 - consumed
    window = budget.EXHAUSTION_WINDOW
    return SloStatus(
        name=slo.name,
        service=slo.service,
        display_name=slo.display_name,
        objective=slo.objective,
        window=slo.window,
        budgeting=slo.budgeting.value,
        indicator=slo.indicator.value,
        at=at,
        sli=None if period_ratio is None else 1.0 - period_ratio,
        error_ratio=period_ratio,
        budget_remaining=remaining,
        burn_rates=burn,
        exhaustion_s=budget.time_to_exhaustion(remaining, burn[window], slo.window_s),
        exhaustion_window=window,
        alert=budget.alert_state(burn),
        firing=[a.name for a in budget.firing(burn)],
        queries=queries,
        history_s=history,
        history_note=history_note(history, slo),
    )


def slo_impact(client: Querier, slo: Slo, start: datetime, end: datetime) -> SloImpact:
    """Budget consumed in [start, end]: burn rate over the window x its share of the period.

    Raises :class:`~mlsre.errors.MlsreError` subclasses when Prometheus fails; see
    :func:`incident_impact` for the forgiving form a postmortem wants.
    """
    seconds = max(1, round((end - start).total_seconds()))
    ratio, _ = error_ratio_at(client, slo, seconds, end)
    at_end = slo_status(client, slo, end)
    return SloImpact(
        name=slo.name,
        service=slo.service,
        objective=slo.objective,
        window=slo.window,
        start=start,
        end=end,
        error_ratio=ratio,
        burn_rate=budget.burn_rate(ratio, slo.objective),
        budget_consumed=budget.budget_consumed(ratio, slo.objective, seconds, slo.window_s),
        budget_remaining=at_end.budget_remaining,
        history_note=at_end.history_note,
    )


def incident_impact(
    settings: Any,
    start: datetime,
    end: datetime,
    *,
    names: list[str] | None = None,
    service: str | None = None,
    transport: Any = None,
) -> list[SloImpact]:
    """Impact on every workspace SLO (or those ``names``, or of ``service``) for a postmortem.

    Never raises for one SLO's failure: its :attr:`SloImpact.error` says what went wrong, so a
    postmortem renders even when Prometheus has lost the data or is down.
    """
    from mlsre.errors import MlsreError
    from mlsre.integrations.prometheus import PrometheusClient

    slos = load_workspace_slos(settings)
    if names is not None:
        slos = [s for s in slos if s.name in names]
    if service is not None:
        slos = [s for s in slos if s.service == service]
    client = PrometheusClient(settings.prometheus, transport)
    out: list[SloImpact] = []
    for slo in slos:
        try:
            out.append(slo_impact(client, slo, start, end))
        except MlsreError as exc:
            out.append(
                SloImpact(
                    slo.name,
                    slo.service,
                    slo.objective,
                    slo.window,
                    start,
                    end,
                    None,
                    None,
                    None,
                    exc.message,
                )
            )
    return out


def load_workspace_slos(settings: Any) -> list[Slo]:
    """The SLOs under the workspace's ``slo_paths`` (relative to mlsre.yaml)."""
    from mlsre.slo.spec import load_slos

    return load_slos(settings.resolve(p) for p in settings.slo_paths)
