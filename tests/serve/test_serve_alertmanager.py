"""A real Alertmanager sends to `mlsre serve`; the diagnosis runs on the real scenario."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixtures_serve import alertmanager
from tests.support.fixtures_servers import MODEL, MlflowServer, PromServer
from tests.support.helpers import ok_json
from tests.support.serve_support import serving, wait_for

pytestmark = [pytest.mark.alertmanager, pytest.mark.prometheus, pytest.mark.mlflow]


def _iso(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_alertmanager_webhook_opens_once_diagnoses_on_the_scenario_and_resolves(
    isolated: Path, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    (isolated / "mlsre.yaml").write_text(
        f"""\
prometheus: {{url: '{prometheus_server.url}'}}
registry: {{url: '{registry.url}', timeout_s: 30}}
alerts:
  routes:
    - name: latency
      match: {{alertname: ModelLatencyHigh}}
      runbook: latency-regression
      title: "{{{{ labels.model }}}} p99 latency {{{{ annotations.value }}}}"
      inputs: {{model: "{{{{ labels.model }}}}"}}
      evaluate_at: alert_start
"""
    )
    starts = _iso(prometheus_server.times.after)  # v4 has been live for 30 minutes
    labels = {"alertname": "ModelLatencyHigh", "model": MODEL, "severity": "page"}
    firing = {"labels": labels, "annotations": {"value": "7x"}, "startsAt": starts}

    def timeline() -> list[dict[str, Any]]:
        if not ok_json("incident", "list", "--all"):
            return []
        events: list[dict[str, Any]] = ok_json("incident", "timeline", "INC-1")
        return events

    with (
        serving(isolated, token="am-secret") as srv,
        alertmanager(isolated / "am", f"{srv.url}/api/v1/alerts/alertmanager", "am-secret") as am,
    ):
        am.inject([firing])
        assert wait_for(
            lambda: any(e["kind"] == "runbook_finished" for e in timeline()), timeout_s=60
        )
        am.inject([firing])  # Prometheus re-sends the firing alert every evaluation
        am.inject([{**firing, "endsAt": _iso(int(datetime.now(UTC).timestamp()) - 1)}])
        assert wait_for(lambda: any(e["kind"] == "alert_resolved" for e in timeline()), 30)
        rows = ok_json("incident", "list", "--all")
    assert [(r["ref"], r["severity"], r["title"], r["status"]) for r in rows] == [
        ("INC-1", "SEV2", f"{MODEL} p99 latency 7x", "open")
    ]
    events = timeline()
    firing_events = [e for e in events if e["kind"] == "alert_firing"]
    assert len(firing_events) == 1
    assert firing_events[0]["data"]["receiver"] == "mlsre"
    assert firing_events[0]["data"]["alerts"][0]["startsAt"] == starts
    verdicts = {
        e["data"]["step"]: e["data"]["status"] for e in events if e["kind"] == "step_result"
    }
    assert verdicts["p99-by-version"] == "failed"  # version 4 is over the objective
    assert verdicts["p99-vs-before-deploy"] == "failed"  # about 7x since the version change
    assert verdicts["live-version"] == "passed"
    assert verdicts["rollback"] == "skipped"  # not in auto_mitigate: waits for a person
    started = next(e for e in events if e["kind"] == "runbook_started")
    assert started["data"]["at"] == starts and started["data"]["inputs"]["model"] == MODEL
    assert events[-1]["kind"] == "alert_resolved"
