"""Game days run end to end through chaostoolkit-lib, recorded as game-day incidents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlsre.chaos.sample import sample_paths
from mlsre.timeutil import iso
from tests.support.fixtures_servers import MODEL, MlflowServer
from tests.support.fixtures_slo import E0, E1, at
from tests.support.helpers import run, strict_json


def _env(tmp_path: Path) -> dict[str, str]:
    return {"MLSRE_STORE_URL": f"sqlite:///{tmp_path / 'store.db'}", "MLSRE_USER": "gameday-bot"}


def _events(tmp_path: Path, ref: str) -> list[dict[str, Any]]:
    r = run("incident", "timeline", ref, "--json", env=_env(tmp_path))
    assert r.exit_code == 0, r.output
    data = strict_json(r.stdout)
    events: list[dict[str, Any]] = data["events"] if isinstance(data, dict) else data
    return events


@pytest.mark.parametrize("name", ["data-drift", "feature-pipeline-nulls", "bad-deploy-replay"])
def test_bundled_game_days_pass(tmp_path: Path, name: str) -> None:
    work = tmp_path / "work"
    r = run("gameday", "run", name, "--workdir", str(work), "--json", env=_env(tmp_path))
    assert r.exit_code == 0, r.output
    report = strict_json(r.stdout)
    assert report["passed"] and report["status"] == "completed" and not report["deviated"]
    assert report["steady_before"] is True and report["steady_after"] is True
    assert report["missed"] == [] and len(report["noticed"]) >= 2
    phases = [a["phase"] for a in report["activities"]]
    assert phases[0] == "steady-state-before" and phases[-1] == "rollback"
    journal = json.loads(Path(report["journal"]).read_text())
    assert journal["status"] == "completed" and journal["rollbacks"]
    # every activity of the journal is on the timeline, in order
    events = _events(tmp_path, report["incident"])
    steps = [e["data"]["step"] for e in events if e["kind"] == "step_result"]
    ran = [r["activity"]["name"] for r in journal["steady_states"]["before"]["probes"]]
    ran += [r["activity"]["name"] for r in journal["run"]]
    ran += [r["activity"]["name"] for r in journal["steady_states"]["after"]["probes"]]
    ran += [r["activity"]["name"] for r in journal["rollbacks"]]
    assert [s.split(": ", 1)[1] for s in steps] == ran
    finished = next(e for e in events if e["kind"] == "runbook_finished")
    assert finished["data"]["evidence"]["kind"] == "chaostoolkit-journal"
    assert finished["data"]["evidence"]["data"]["status"] == "completed"


def test_a_missed_fault_fails_the_game_day_and_is_learned(tmp_path: Path) -> None:
    ref, nxt = sample_paths()
    probe = {
        "type": "probe",
        "name": "data-check-notices-tiny-noise",
        "provider": {
            "type": "python",
            "module": "mlsre.chaos.ctk.probes",
            "func": "data_check_verdict",
            "arguments": {"current": "${workdir}/noisy.parquet", "reference": str(ref)},
        },
    }
    experiment = {
        "title": "Tiny noise on amount",
        "description": "1% of amounts get Gaussian noise.",
        "steady-state-hypothesis": {
            "title": "clean batch passes",
            "probes": [
                {
                    **probe,
                    "name": "clean-batch-passes",
                    "tolerance": {"type": "jsonpath", "path": "$.passed", "expect": True},
                    "provider": {
                        **probe["provider"],  # type: ignore[dict-item]
                        "arguments": {"current": str(nxt), "reference": str(ref)},
                    },
                }
            ],
        },
        "method": [
            {
                "type": "action",
                "name": "add-noise",
                "provider": {
                    "type": "python",
                    "module": "mlsre.chaos.ctk.actions",
                    "func": "corrupt_dataset",
                    "arguments": {
                        "source": str(nxt),
                        "output": "${workdir}/noisy.parquet",
                        "faults": ["noise:column=amount,share=0.01,sigma=0.5"],
                    },
                },
            },
            probe,
        ],
        "rollbacks": [],
    }
    path = tmp_path / "tiny-noise.json"
    path.write_text(json.dumps(experiment))
    env = _env(tmp_path)
    r = run("gameday", "run", str(path), "--workdir", str(tmp_path / "w"), env=env)
    assert r.exit_code == 1
    assert "NOT noticed by data-check-notices-tiny-noise" in r.stdout
    assert "game day 'Tiny noise on amount' failed" in r.stderr
    shown = json.loads(run("incident", "show", "INC-1", "--json", env=env).stdout)
    incident = shown.get("incident", shown)
    assert incident["game_day"] is True and incident["status"] == "resolved"
    assert any("data-check-notices-tiny-noise" in a["title"] for a in incident["actions"])
    # a game day is not a real incident: stats leave it out
    stats = json.loads(run("incident", "stats", "--json", env=env).stdout)
    assert stats["overall"]["incidents"] == 0
    md = run("postmortem", "render", "INC-1", env=env)
    assert md.exit_code == 0, md.output
    # the postmortem collapses step rows; what the game day learned is its own line
    assert "What we learned: NOT noticed by data-check-notices-tiny-noise" in md.stdout


def test_bad_experiment_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"title": "no method"}))
    r = run("gameday", "run", str(bad), env=_env(tmp_path))
    assert r.exit_code == 1 and "not a valid Chaos Toolkit experiment" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run("gameday", "run", "no-such-gameday", env=_env(tmp_path))
    assert r.exit_code == 2 and "bundled: bad-deploy-replay, data-drift" in r.stderr


@pytest.mark.mlflow
def test_game_day_moves_a_serving_alias_and_back(tmp_path: Path, registry: MlflowServer) -> None:
    def activity(kind: str, name: str, module: str, func: str, **args: Any) -> dict[str, Any]:
        provider = {"type": "python", "module": f"mlsre.chaos.ctk.{module}", "func": func}
        return {"type": kind, "name": name, "provider": {**provider, "arguments": args}}

    champion = activity("probe", "champion-is-v4", "probes", "serving_version", model=MODEL)
    experiment = {
        "title": "Bad deploy and back",
        "description": "champion moves to v2, then back to v4.",
        "steady-state-hypothesis": {
            "title": "v4 serves",
            "probes": [{**champion, "tolerance": "4"}],
        },
        "method": [
            activity(
                "action",
                "deploy-v2",
                "actions",
                "move_alias",
                model=MODEL,
                alias="champion",
                version="2",
            ),
            {**activity("probe", "v2-serves", "probes", "serving_version", model=MODEL)},
            activity(
                "action",
                "back-to-v4",
                "actions",
                "move_alias",
                model=MODEL,
                alias="champion",
                version="4",
            ),
        ],
        "rollbacks": [
            activity(
                "action",
                "ensure-v4",
                "actions",
                "move_alias",
                model=MODEL,
                alias="champion",
                version="4",
            )
        ],
    }
    path = tmp_path / "deploy.json"
    path.write_text(json.dumps(experiment))
    env = {**_env(tmp_path), "MLSRE_REGISTRY_URL": registry.url}
    r = run("gameday", "run", str(path), "--workdir", str(tmp_path / "w"), "--json", env=env)
    assert r.exit_code == 0, r.output
    report = strict_json(r.stdout)
    outputs = {a["name"]: a["summary"] for a in report["activities"]}
    assert '"previous_version": "4"' in outputs["deploy-v2"]
    assert outputs["v2-serves"] == '"2"'
    assert '"previous_version": "2"' in outputs["back-to-v4"]
    alias = registry.call("GET", f"registered-models/alias?name={MODEL}&alias=champion")
    assert alias["model_version"]["version"] == "4"


@pytest.mark.prometheus
def test_slo_probe_reads_the_workspace_given_with_c(slo_workspace: Path, tmp_path: Path) -> None:
    def probe(name: str, at_ts: int) -> dict[str, Any]:
        return {
            "type": "probe",
            "name": name,
            "provider": {
                "type": "python",
                "module": "mlsre.chaos.ctk.probes",
                "func": "slo_verdict",
                "arguments": {"slo": "demo-availability", "at": iso(at(at_ts))},
            },
        }

    healthy = {**probe("slo-healthy-before-errors", E0 - 3600)}
    healthy["tolerance"] = {"type": "jsonpath", "path": "$.noticed", "expect": False}
    experiment = {
        "title": "SLO status as a steady state",
        "description": "the SLO probe answers from the workspace's Prometheus",
        "steady-state-hypothesis": {"title": "SLO fine", "probes": [healthy]},
        "method": [probe("slo-during-errors", E1)],
        "rollbacks": [],
    }
    path = tmp_path / "slo.json"
    path.write_text(json.dumps(experiment))
    env = _env(tmp_path)
    cfg = str(slo_workspace / "mlsre.yaml")
    r = run(
        "-c", cfg, "gameday", "run", str(path), "--workdir", str(tmp_path / "w"), "--json", env=env
    )
    report = strict_json(r.stdout)
    assert report["steady_before"] is True and report["status"] == "completed", report
    during = next(a for a in report["activities"] if a["name"] == "slo-during-errors")
    assert during["status"] == "passed" and '"slos": ["demo-availability"]' in during["summary"]
