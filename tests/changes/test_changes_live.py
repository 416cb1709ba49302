"""`incident changes` against a real MLflow (runs with git commits and logged datasets), a real
git repository with commits at known times, and the real Prometheus scenario (version 4 goes
live at T0): the bad deploy ranks first, with the code range and the data change beside it."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support import scenario_fraud as scenario
from tests.support.fixtures_servers import MlflowServer, PromServer
from tests.support.helpers import ok, ok_json, run

T0 = scenario.T0
pytestmark = [pytest.mark.prometheus, pytest.mark.mlflow]


def _git(repo: Path, *args: str, when: int | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Dana",
        "GIT_AUTHOR_EMAIL": "dana@example.com",
        "GIT_COMMITTER_NAME": "Dana",
        "GIT_COMMITTER_EMAIL": "dana@example.com",
    }
    if when is not None:
        stamp = f"@{when} +0000"
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    out = subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def _commit(repo: Path, path: str, text: str, subject: str, when: int) -> str:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text, encoding="utf-8")
    _git(repo, "add", path)
    _git(repo, "commit", "-q", "-m", subject, when=when)
    return _git(repo, "rev-parse", "HEAD")


def _training_repo(root: Path) -> dict[str, str]:
    repo = root / "fraud-training"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    shas = {"v3": _commit(repo, "train.py", "depth=8\n", "train v3", T0 - 30 * 86400)}
    for i in range(6):
        shas[f"c{i}"] = _commit(
            repo, "train.py", f"depth=8\nleaves={i}\n", f"tune leaves ({i})", T0 - 3 * 86400 + i
        )
    shas["v4"] = _commit(
        repo,
        "features.py",
        "merchant_id embeddings\n",
        "add merchant_id embeddings",
        T0 - 2 * 86400,
    )
    _commit(repo, "README.md", "typo\n", "docs: fix a typo", T0 - 20 * 3600)
    shas["serving"] = _commit(
        repo, "serving/batch.yaml", "batch_size: 512\n", "serving: batch size 64 -> 512", T0 - 1200
    )
    return shas


def _lineage(server: MlflowServer, shas: dict[str, str]) -> None:
    """Tag the training runs of versions 3 and 4 with their commit and log their datasets."""
    datasets = {
        "3": ("txns-2025-q2", "1f2e3d4c5b6a"),
        "4": ("txns-2025-q3", "9c8d7e6f5a4b"),
    }
    for version, key in (("3", "v3"), ("4", "v4")):
        run_id = server.run_ids[version]
        server.call(
            "POST",
            "runs/set-tag",
            {"run_id": run_id, "key": "mlflow.source.git.commit", "value": shas[key]},
        )
        name, digest = datasets[version]
        server.call(
            "POST",
            "runs/log-inputs",
            {
                "run_id": run_id,
                "datasets": [
                    {
                        "tags": [{"key": "mlflow.data.context", "value": "training"}],
                        "dataset": {
                            "name": name,
                            "digest": digest,
                            "source_type": "s3",
                            "source": f"s3://risk/{name}.parquet",
                        },
                    }
                ],
            },
        )


@pytest.fixture
def changes_ws(
    isolated: Path, prometheus_server: PromServer, registry: MlflowServer, tmp_path: Path
) -> dict[str, Any]:
    shas = _training_repo(tmp_path)
    _lineage(registry, shas)
    (isolated / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prometheus_server.url}'}}\n"
        f"registry: {{url: '{registry.url}'}}\n"
        "changes:\n"
        "  repos:\n"
        f"    - {{path: '{tmp_path / 'fraud-training'}', url: 'https://git.example.com/risk/fraud',"
        " models: [fraud-detector]}\n"
        "    - ./no-such-repo\n"
        "  metrics: ['model_last_trained_timestamp_seconds{model=\"fraud-detector\"}']\n",
        encoding="utf-8",
    )
    started = datetime.fromtimestamp(T0 + 60, UTC).isoformat()
    ok(
        "incident",
        "open",
        "fraud-detector p99 7x",
        "-s",
        "SEV2",
        "--model",
        "fraud-detector",
        "--started",
        started,
    )
    return {"shas": shas}


def test_the_bad_deploy_ranks_first_with_code_range_and_data_change(
    changes_ws: dict[str, Any],
) -> None:
    shas = changes_ws["shas"]
    r = run("incident", "changes", "INC-1", "--window", "2h", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout, parse_constant=_strict)
    changes = report["changes"]
    top = changes[0]
    assert top["kind"] == "model" and top["source"] == "metrics", changes[:3]
    assert "version 4 started serving (after 3)" in top["summary"]
    assert top["at"].startswith("2026-11-28T17:29"), top["at"]
    assert "registry" in top["details"]["also_seen_in"]  # one entry, not two for one deploy
    assert any(
        "before the incident start" in why or "at the incident start" in why
        for why in top["reasons"]
    )
    summaries = [c["summary"] for c in changes]
    data = next(s for s in summaries if "data changed" in s)
    assert "txns-2025-q2" in data and "txns-2025-q3" in data and "1f2e3d4c" in data
    code = next(c for c in changes if "commits between" in c["summary"])
    assert code["summary"].startswith("code changed: 7 commits between")
    assert shas["v3"][:7] in code["summary"] and shas["v4"][:7] in code["summary"]
    assert code["link"] == (
        f"https://git.example.com/risk/fraud/compare/{shas['v3'][:7]}...{shas['v4'][:7]}"
    )
    params = next(s for s in summaries if "params changed" in s)
    assert "algo xgboost -> lightgbm" in params
    commit = next(c for c in changes if c["source"] == "git")
    assert "batch size 64 -> 512" in commit["summary"]
    assert commit["details"]["files"] == ["serving/batch.yaml"]
    assert commit["link"].endswith(f"/commit/{shas['serving']}")
    gauge = next(c for c in changes if "model_last_trained" in c["summary"])
    assert gauge["kind"] == "config"
    assert not any("docs: fix a typo" in s for s in summaries)  # 20 h before: outside 2 h
    scores = [c["score"] for c in changes]
    assert scores == sorted(scores, reverse=True)
    assert top["score"] > commit["score"]
    assert (
        report["notes"] == [note for note in report["notes"] if "no-such-repo" in note]
        and len(report["notes"]) == 1
    ), report["notes"]


def test_a_day_window_does_not_take_the_start_of_the_data_for_a_deploy(
    changes_ws: dict[str, Any],
) -> None:
    report = ok_json("incident", "changes", "INC-1")
    deploys = [c for c in report["changes"] if c["source"] == "metrics" and c["kind"] == "model"]
    assert [c["summary"] for c in deploys] == ["fraud-detector version 4 started serving (after 3)"]
    assert any("docs: fix a typo" in c["summary"] for c in report["changes"])


def test_terminal_view_show_line_and_timeline(changes_ws: dict[str, Any]) -> None:
    r = ok("incident", "changes", "INC-1", "--window", "2h")
    assert "What changed in the 2h" in r.stdout
    assert "version 4 started serving" in r.stdout
    assert "Lineage of version 4 against 3:" in r.stdout
    assert "note: git ./no-such-repo: repository" in r.stderr
    shown = ok("incident", "show", "INC-1").stdout
    assert "likely related change" in shown and "version 4 started serving" in shown
    timeline = ok("incident", "timeline", "INC-1").stdout
    assert "What changed: most likely fraud-detector version 4" in timeline


def test_sources_that_are_down_are_notes_not_failures(
    changes_ws: dict[str, Any], isolated: Path
) -> None:
    from tests.support.faulty_server import refused_url

    env = {
        "MLSRE_REGISTRY_URL": refused_url(),
        "MLSRE_REGISTRY_RETRIES": "0",
        "MLSRE_PROMETHEUS_RETRIES": "0",
        "MLSRE_PROMETHEUS_URL": refused_url(),
    }
    r = run("incident", "changes", "INC-1", "--window", "2h", "--json", env=env)
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    notes = report["notes"]
    assert any(n.startswith("registry: cannot reach MLflow") for n in notes), notes
    assert any(n.startswith("metrics: cannot reach Prometheus") for n in notes), notes
    assert [c["source"] for c in report["changes"]] == ["git"]  # what could be read, still ranked


@pytest.mark.usefixtures("store_backend")
def test_recorded_changes_are_ranked(changes_ws: dict[str, Any]) -> None:
    at = datetime.fromtimestamp(T0 - 600, UTC).isoformat()
    ok(
        "change",
        "record",
        "feature store schema v12",
        "--kind",
        "data",
        "--model",
        "fraud-detector",
        "--at",
        at,
    )
    ok("change", "record", "node pool upgrade", "--kind", "infra", "--at", at)
    listed = ok_json("change", "list", "--since", "2026-11-01")
    assert [c["summary"] for c in listed] == ["feature store schema v12", "node pool upgrade"]
    report = ok_json("incident", "changes", "INC-1", "--window", "2h", "--no-record")
    recorded = {c["summary"]: c for c in report["changes"] if c["source"] == "recorded"}
    assert recorded["feature store schema v12"]["score"] > recorded["node pool upgrade"]["score"]
    assert "not tied to the affected model or service" in recorded["node pool upgrade"]["reasons"]


def _strict(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def test_the_postmortem_shows_what_changed(changes_ws: dict[str, Any]) -> None:
    before = ok("postmortem", "render", "INC-1", "--no-slo").stdout
    assert "Not correlated yet: run `mlsre incident changes INC-1`" in before
    ok("incident", "changes", "INC-1", "--window", "2h")
    md = ok("postmortem", "render", "INC-1", "--no-slo").stdout
    block = md.split("<!-- mlsre:begin what-changed")[1].split("<!-- mlsre:end what-changed")[0]
    rows = [line for line in block.splitlines() if line.startswith("| ") and "Score" not in line]
    assert "fraud-detector version 4 started serving (after 3)" in rows[0]
    assert "2026-11-28 17:29" in rows[0]
    code = next(r for r in rows if "commits between" in r)
    assert "](https://git.example.com/risk/fraud/compare/" in code  # linked
    assert "Lineage of version 4 against version 3:" in block
    assert "- data changed: training dataset txns-2025-q2" in block
    assert "Not checked: git ./no-such-repo: repository" in block
    assert len(block.splitlines()) < 30  # the likeliest few, not every commit


RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: what-changed
title: What changed before the incident
failure_mode: bad-deploy
steps:
  - id: changes
    title: Changes before the incident, most likely first
    uses: changes
    with: {window: 2h}
    expect: value < 50
    guidance: A change scoring 50 or more is the first suspect; roll it back or explain it.
"""


def test_the_changes_step_fails_on_a_likely_cause_and_feeds_the_postmortem(
    changes_ws: dict[str, Any], isolated: Path
) -> None:
    with (isolated / "mlsre.yaml").open("a", encoding="utf-8") as f:
        f.write("runbook_paths: [./runbooks]\n")
    (isolated / "runbooks").mkdir()
    (isolated / "runbooks" / "what-changed.yaml").write_text(RUNBOOK, encoding="utf-8")
    ok("runbook", "validate", "runbooks")
    r = run("runbook", "run", "what-changed", "--incident", "INC-1", "--non-interactive", "--yes")
    assert r.exit_code == 1, r.output  # a check failed: there is a likely cause
    assert "broken by {change=fraud-detector version 4 started serving (after 3)" in r.stdout
    shown = ok("incident", "show", "INC-1").stdout
    assert "likely related change" in shown
    md = ok("postmortem", "render", "INC-1", "--no-slo").stdout
    assert "fraud-detector version 4 started serving" in md.split("## What changed")[1]


def test_a_run_without_a_git_tag_is_a_note(changes_ws: dict[str, Any]) -> None:
    ok("incident", "open", "churn odd", "--model", "churn-model", "--started", "-10m")
    report = ok_json("incident", "changes", "INC-2", "--window", "1h")
    assert "version 2's run has no mlflow.source.git.commit tag" in " ".join(report["notes"])
    assert "version 1's run has no mlflow.source.git.commit tag" in " ".join(report["notes"])
    assert report["lineage"]["live"]["version"] == "2"


RANGE_RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: p99-range
title: p99 over the last hour and a half
failure_mode: latency
steps:
  - id: p99-range
    title: p99 latency over time
    uses: prometheus.range
    with:
      query: histogram_quantile(0.99, sum by (le) (rate(model_request_duration_seconds_bucket{model="fraud-detector"}[5m])))
      start: -90m
      step: 1m
    expect: value < 0.3
    guidance: The p99 of the model, as a chart.
"""


def test_the_change_point_anchors_the_ranking_and_is_marked_on_the_chart(
    changes_ws: dict[str, Any], isolated: Path, tmp_path: Path
) -> None:
    from mlsre.postmortem.charts import png_text

    with (isolated / "mlsre.yaml").open("a", encoding="utf-8") as f:
        f.write("runbook_paths: [./runbooks]\n")
    (isolated / "runbooks").mkdir()
    (isolated / "runbooks" / "p99-range.yaml").write_text(RANGE_RUNBOOK, encoding="utf-8")
    at = str(T0 + 1800)
    r = run("runbook", "run", "p99-range", "--incident", "INC-1", "--at", at, "--non-interactive")
    assert r.exit_code == 1, r.output  # p99 went over 0.3: the step failed, with its series
    report = ok_json("incident", "changes", "INC-1", "--window", "2h")
    cp = report["change_point"]
    assert cp["step"] == "p99-range" and cp["before"] < 0.3 < cp["after"]
    when = datetime.fromisoformat(cp["at"]).timestamp()
    assert abs(when - T0) <= 6 * 60, cp  # the deploy, give or take the 5m rate window
    assert report["anchor_reason"] == "change point of p99-range"
    assert report["changes"][0]["summary"].startswith("fraud-detector version 4 started serving")
    out = tmp_path / "pm" / "INC-1.md"
    ok("postmortem", "render", "INC-1", "--no-slo", "-o", str(out))
    md = out.read_text()
    assert "The failing signal shifted: `p99-range` went from" in md
    png = next((out.parent / "assets" / out.stem).glob("p99-range*.png"))
    assert "change point" in png_text(png)["mlsre-marks"].split(",")
