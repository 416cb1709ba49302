"""The bundled runbooks, end to end, against a real Prometheus and a real MLflow registry.

The scenario (tests/support/scenario_fraud.py) is known by construction: version 4 of fraud-detector
goes live at T0 and is ~7x slower with 10x the errors; `amount` drifts; the `country` feature
pipeline breaks at T0+30m. Each run is then exported and replayed with `mlsre runbook test`,
so every bundled runbook also has a replay test that needs no server.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from mlsre.drift.samples import sample_paths
from tests.support import scenario_fraud as scenario
from tests.support.fixtures_servers import MlflowServer, PromServer
from tests.support.helpers import ok, run

REFERENCE, CURRENT = sample_paths()
AT = scenario.T0 + 45 * 60  # 45 minutes into the incident
# The scenario holds 3 hours of history before T0; the runbook's default is a day-old baseline.
EXTRA_INPUTS = {
    "accuracy-decay": ["-i", "baseline_offset=2h"],
    # Raw-row drift on the bundled fraud samples: computed for real in the run and the replay.
    "data-drift": ["-i", f"reference_data={REFERENCE}", "-i", f"current_data={CURRENT}"],
}


def _workspace(root: Path, prom: PromServer, reg: MlflowServer) -> None:
    ok("init", str(root))
    (root / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prom.url}', timeout_s: 10}}\nregistry: {{url: '{reg.url}'}}\n"
    )


def _run(runbook: str, incident: str, *extra: str) -> tuple[int, dict[str, Any]]:
    r = run(
        "runbook",
        "run",
        runbook,
        "--incident",
        incident,
        "--non-interactive",
        "--yes",
        "--at",
        str(AT),
        "-i",
        f"model={scenario.MODEL}",
        "--json",
        *extra,
    )
    assert "Traceback" not in r.stderr, r.stderr
    return r.exit_code, json.loads(r.stdout)


def _champion(reg: MlflowServer) -> str:
    resp = requests.get(
        f"{reg.url}/api/2.0/mlflow/registered-models/alias",
        params={"name": scenario.MODEL, "alias": "champion"},
        timeout=10,
    )
    return str(resp.json()["model_version"]["version"])


def _open(title: str) -> str:
    started = datetime.fromtimestamp(scenario.T0 + 60, UTC).isoformat()
    return str(
        json.loads(
            ok(
                "incident", "open", title, "--model", scenario.MODEL, "--started", started, "--json"
            ).stdout
        )["id"]
    )


def _replay_matches(runbook: str, ref: str, report: dict[str, Any], tmp: Path) -> None:
    export = tmp / f"{runbook}-export.json"
    export.write_text(ok("incident", "export", ref).stdout)
    record_to = os.environ.get("RECORD_MLSRE_REPLAYS")
    if record_to:  # regenerate the recordings `mlsre demo` replays (see mlsre/demo.py)
        from mlsre.integrations.recording import find_exchanges

        exchanges = find_exchanges(json.loads(export.read_text()))
        data = {"format": "mlsre-replay/v1", "runbook": runbook, "at": AT, "exchanges": exchanges}
        Path(record_to, f"replay-{runbook}.json").write_text(json.dumps(data, indent=1) + "\n")
    args = [
        "runbook",
        "test",
        runbook,
        "--replay",
        str(export),
        "--at",
        str(AT),
        "-i",
        f"model={scenario.MODEL}",
        *EXTRA_INPUTS.get(runbook, []),
        "--expect-status",
        report["outcome"],
    ]
    for s in report["steps"]:
        if s["kind"] not in ("registry.rollback", "registry.promote", "manual"):
            args += ["--expect-step", f"{s['step']}={s['status']}"]
    r = run(*args)
    assert r.exit_code == 0, r.stdout + r.stderr


@pytest.mark.prometheus
@pytest.mark.mlflow
@pytest.mark.usefixtures("store_backend")  # the whole story, on SQLite and on PostgreSQL
def test_latency_runbook_points_at_version_4_and_rolls_back(
    isolated: Path, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    _workspace(isolated, prometheus_server, registry)
    ref = _open("fraud-detector p99 7x")
    assert _champion(registry) == "4"
    code, rep = _run("latency-regression", ref)
    steps = {s["step"]: s for s in rep["steps"]}
    assert steps["p99-by-version"]["status"] == "failed"
    assert "version=4" in steps["p99-by-version"]["summary"]
    compare = steps["p99-vs-before-deploy"]
    assert compare["status"] == "failed"
    assert "4" in json.dumps(compare["output"])  # names the version that went live
    assert steps["rollback"]["status"] == "passed"
    assert _champion(registry) == "3"
    events = json.loads(ok("incident", "timeline", ref, "--json").stdout)
    changes = [e["data"] for e in events if e["kind"] == "model_changed"]
    assert changes and changes[0]["from_version"] == "4" and changes[0]["to_version"] == "3"
    assert code == 1 and rep["outcome"] == "unhealthy"
    _replay_matches("latency-regression", ref, rep, isolated)


# The verdicts the scenario makes right by construction: step -> (status, text in its summary).
VERDICTS: dict[str, dict[str, tuple[str, str]]] = {
    "error-rate": {
        "error-ratio-by-version": ("failed", "version=4"),
        "errors-vs-before-deploy": ("failed", "version 4 went live at 2026-11-28 17:29"),
        "rollback": ("passed", "4 -> 3"),
    },
    "data-drift": {
        "psi-by-feature": ("failed", "feature=amount"),
        "raw-data-drift": ("failed", "drift"),
        "nulls-rule-out": ("failed", "feature=country"),
    },
    "feature-pipeline": {
        "null-ratio-by-feature": ("failed", "feature=country"),
        "feature-table-freshness": ("failed", "table=country_lookup"),
    },
    "bad-model-deploy": {
        "live-version": ("passed", "version 4"),
        "errors-vs-before": ("failed", ""),
        "latency-vs-before": ("failed", ""),
        "rollback": ("passed", "4 -> 3"),
    },
    "accuracy-decay": {"score-histogram-drift": ("failed", "psi")},
    "training-serving-skew": {},
    "stale-model": {},
}


@pytest.mark.prometheus
@pytest.mark.mlflow
@pytest.mark.parametrize("runbook", sorted(VERDICTS))
def test_bundled_runbook_reaches_its_verdict_and_replays(
    runbook: str, isolated: Path, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    _workspace(isolated, prometheus_server, registry)
    ref = _open(f"{runbook} drill")
    code, rep = _run(runbook, ref, *EXTRA_INPUTS.get(runbook, []))
    assert rep["outcome"] == "unhealthy" and code == 1
    errors = [s for s in rep["steps"] if s["status"] == "error"]
    assert not errors, errors
    steps = {s["step"]: s for s in rep["steps"]}
    for step, (status, text) in VERDICTS[runbook].items():
        assert steps[step]["status"] == status, (step, steps[step]["summary"])
        assert text in steps[step]["summary"], (step, steps[step]["summary"])
    if "rollback" in VERDICTS[runbook]:
        assert _champion(registry) == "3"
    _replay_matches(runbook, ref, rep, isolated)
