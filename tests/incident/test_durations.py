"""One definition of an incident's durations, used by `incident show`, `incident stats` and the
postmortem: the three agree on the same incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlsre.incident.durations import durations
from mlsre.incident.model import Incident, Severity, Status
from mlsre.incident.stats import group_stats
from mlsre.postmortem.context import build_context
from tests.support.helpers import ok, ok_json

T = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)


def _incident(**kw: object) -> Incident:
    base: dict[str, object] = {
        "id": 1,
        "title": "t",
        "severity": Severity.SEV2,
        "status": Status.RESOLVED,
        "opened_at": T + timedelta(minutes=30),
        "started_at": T,
    }
    base.update(kw)
    return Incident(**base)  # type: ignore[arg-type]


def test_resolving_without_mitigation_ends_the_impact_everywhere() -> None:
    inc = _incident(
        acknowledged_at=T + timedelta(minutes=35), resolved_at=T + timedelta(minutes=90)
    )
    d = durations(inc, T + timedelta(days=1))
    assert (d.to_detect_s, d.to_acknowledge_s) == (1800, 300)
    assert d.to_mitigate_s == d.impact_s == d.to_resolve_s == d.elapsed_s == 5400
    stats = group_stats("all", [inc])
    assert stats.time_to_mitigate.median_s == 5400 and stats.time_to_detect.median_s == 1800
    ctx = build_context(inc, [])
    assert (ctx.impact_s, ctx.duration_s, ctx.time_to_detect_s) == (5400, 5400, 1800)


def test_ongoing_impact_is_none_and_elapsed_runs_to_now() -> None:
    inc = _incident(status=Status.ACKNOWLEDGED)
    d = durations(inc, T + timedelta(hours=2))
    assert d.impact_s is None and d.to_mitigate_s is None and d.elapsed_s == 7200
    mitigated = _incident(status=Status.MITIGATED, mitigated_at=T + timedelta(minutes=50))
    assert durations(mitigated, T + timedelta(hours=5)).impact_s == 3000


def test_a_start_after_the_page_counts_as_zero_not_negative() -> None:
    inc = _incident(started_at=T + timedelta(hours=1), opened_at=T)
    assert durations(inc, T + timedelta(hours=2)).to_detect_s == 0.0


def test_show_and_stats_print_the_same_figures(isolated: object) -> None:
    ok("incident", "open", "p99", "--started", "-30m")
    ok("incident", "resolve", "INC-1", "-r", "fixed")
    shown = ok_json("incident", "show", "INC-1")["durations"]
    stats = ok_json("incident", "stats")
    assert shown["to_mitigate_s"] == shown["impact_s"] == shown["to_resolve_s"]
    mitigate = stats["overall"]["time_to_mitigate"]["median_s"]
    assert abs(mitigate - shown["to_mitigate_s"]) < 1e-6
