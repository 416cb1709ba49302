"""SLO status against a REAL Prometheus backfilled with numbers known by construction.

The scenario (``tests/support/fixtures_slo.py``): 100 requests a minute from START, none failing except
1 in 100 during the hour [E0, E1] = [START+24h, START+25h]. Against 99.9% over 30 days:

- at E1 the 5m, 30m and 1h burn rates are 0.01 / 0.001 = 10;
- 6h: 60 errors / 36,000 requests = 0.00167 -> 1.667; 1d: 60 / 144,000 -> 0.4167;
- 3d and the 30-day period only hold the 25 hours since START: 60 / 150,000 -> 0.4; those 25
  hours at burn 0.4 spent 0.4 * 25h / 720h = 1/72 of the budget (the rest of the period is not
  known, and `slo status` says so), so 71/72 remains; at burn 10 that lasts 71/72 * 72h;
- the incident hour itself consumed 10 * 1h / 720h = 1/72 of the budget: the same figure.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mlsre.integrations.prometheus import PrometheusClient
from mlsre.settings import PrometheusSettings, load_settings
from mlsre.slo.budget import AlertState
from mlsre.slo.spec import find_slo, load_slos
from mlsre.slo.status import incident_impact, slo_impact, slo_status
from tests.support.fixtures_slo import E0, E1, SloPrometheus, at

pytestmark = pytest.mark.prometheus


@pytest.fixture
def client(slo_prometheus: SloPrometheus) -> PrometheusClient:
    return PrometheusClient(PrometheusSettings(url=slo_prometheus.url, retries=0, timeout_s=20))


def test_one_percent_errors_for_an_hour_against_three_nines(
    client: PrometheusClient, slo_workspace: Path
) -> None:
    slo = find_slo(load_slos([slo_workspace / "slos"]), "demo-availability")
    st = slo_status(client, slo, at(E1))
    assert st.burn_rates == pytest.approx(
        {"5m": 10.0, "30m": 10.0, "1h": 10.0, "6h": 10 / 6, "1d": 10 / 24, "3d": 0.4}, rel=1e-6
    )
    assert st.error_ratio == pytest.approx(0.0004, rel=1e-6)
    assert st.sli == pytest.approx(0.9996, rel=1e-9)
    assert st.budget_remaining == pytest.approx(71 / 72, rel=1e-4)
    assert st.exhaustion_s == pytest.approx(71 / 72 * 72 * 3600, rel=1e-4)
    assert st.history_s == pytest.approx(25 * 3600, abs=120)
    assert st.history_note is not None and "holds only 25.0 hours of history" in st.history_note
    assert st.alert is AlertState.NONE and st.firing == []  # 10 < 14.4: worrying, not a page


def test_same_data_against_a_stricter_objective_pages(
    client: PrometheusClient, slo_workspace: Path
) -> None:
    slo = find_slo(load_slos([slo_workspace / "slos"]), "demo-availability-strict")
    st = slo_status(client, slo, at(E1))
    assert slo.objective == pytest.approx(0.9995)
    assert st.burn_rates["1h"] == pytest.approx(20.0, rel=1e-6)
    assert st.burn_rates["5m"] == pytest.approx(20.0, rel=1e-6)
    assert st.burn_rates["6h"] == pytest.approx(20 / 6, rel=1e-6)
    assert st.alert is AlertState.PAGE and st.firing == ["page-1h-5m"]
    assert st.budget_remaining == pytest.approx(1 - 0.8 * 25 / 720, rel=1e-4)


def test_after_the_errors_stop_the_short_windows_clear(
    client: PrometheusClient, slo_workspace: Path
) -> None:
    slo = find_slo(load_slos([slo_workspace / "slos"]), "demo-availability")
    st = slo_status(client, slo, at(E1 + 7200))
    assert st.burn_rates["1h"] == 0.0 and st.burn_rates["5m"] == 0.0
    assert st.burn_rates["6h"] == pytest.approx(10 / 6, rel=1e-6)
    assert st.exhaustion_s is None  # not burning
    assert st.budget_remaining == pytest.approx(1 - 60 / 162000 / 0.001 * 27 / 720, rel=1e-4)


def test_no_data_is_none_not_healthy(client: PrometheusClient, slo_workspace: Path) -> None:
    slo = find_slo(load_slos([slo_workspace / "slos"]), "demo-availability")
    st = slo_status(client, slo, at(E0 - 40 * 86400))  # long before the first sample
    assert set(st.burn_rates.values()) == {None}
    assert st.budget_remaining is None and st.sli is None and st.exhaustion_s is None
    assert st.alert is AlertState.NONE


def test_threshold_slo_counts_bad_time_slices(
    client: PrometheusClient, slo_workspace: Path
) -> None:
    slo = find_slo(load_slos([slo_workspace / "slos"]), "demo-feature-nulls")
    st = slo_status(client, slo, at(E1))
    # every 5-minute slice of the last hour had 50% nulls: error ratio 1 against a 1% budget
    assert st.burn_rates["1h"] == pytest.approx(100.0)
    assert st.burn_rates["5m"] == pytest.approx(100.0)
    assert st.alert is AlertState.PAGE
    # 13 bad slices (samples E0..E1 inclusive, on 5m boundaries) of the 301 since START
    # ... over the 25 hours of history in the 30-day period
    assert st.history_s is not None
    spent = 13 / 301 / 0.01 * st.history_s / (720 * 3600)
    assert st.history_s == pytest.approx(25 * 3600, abs=600)
    assert st.budget_remaining == pytest.approx(1 - spent)
    assert st.exhaustion_s == pytest.approx((1 - spent) * 720 * 3600 / 100)


def test_ratio_timeslices_count_slices_below_the_slice_target(
    client: PrometheusClient, slo_workspace: Path
) -> None:
    slo = find_slo(load_slos([slo_workspace / "slos"]), "demo-good-minutes")
    # every 5-minute slice of the error hour had a good ratio of 0.99 < 0.995: all bad
    st = slo_status(client, slo, at(E1))
    assert st.burn_rates["1h"] == pytest.approx(10.0)  # error ratio 1 against a 10% budget
    assert st.burn_rates["5m"] == pytest.approx(10.0)
    assert st.alert is AlertState.NONE
    # 12 bad slices of the 300 with data since START (the first has no 5m increase yet)
    assert st.history_s is not None
    assert st.budget_remaining == pytest.approx(1 - 12 / 300 / 0.1 * st.history_s / (720 * 3600))
    later = slo_status(client, slo, at(E1 + 3600))
    assert later.burn_rates["1h"] == 0.0


def test_incident_window_consumed_a_known_share_of_the_budget(
    client: PrometheusClient, slo_workspace: Path
) -> None:
    slos = load_slos([slo_workspace / "slos"])
    impact = slo_impact(client, find_slo(slos, "demo-availability"), at(E0), at(E1))
    assert impact.burn_rate == pytest.approx(10.0, rel=1e-6)
    assert impact.budget_consumed == pytest.approx(1 / 72, rel=1e-6)  # 1.39% of 30 days' budget
    strict = slo_impact(client, find_slo(slos, "demo-availability-strict"), at(E0), at(E1))
    assert strict.budget_consumed == pytest.approx(2 / 72, rel=1e-6)


def test_incident_impact_for_a_postmortem_reads_the_workspace_and_never_raises(
    slo_workspace: Path, tmp_path: Path
) -> None:
    settings, _ = load_settings(slo_workspace / "mlsre.yaml")
    rows = incident_impact(settings, at(E0), at(E1), service="slo-demo")
    by_name = {r.name: r for r in rows}
    assert set(by_name) == {
        "demo-availability",
        "demo-availability-strict",
        "demo-feature-nulls",
        "demo-good-minutes",
    }
    assert by_name["demo-availability"].budget_consumed == pytest.approx(1 / 72, rel=1e-6)
    assert all(r.error is None for r in rows)
    # Prometheus gone: each SLO says why instead of the postmortem failing
    settings.prometheus.url = "http://127.0.0.1:9"
    settings.prometheus.retries = 0
    down = incident_impact(
        settings, at(E0), at(E1) - timedelta(minutes=1), names=["demo-availability"]
    )
    assert len(down) == 1 and down[0].budget_consumed is None
    assert down[0].error and "127.0.0.1:9" in down[0].error
