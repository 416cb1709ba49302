"""`mlsre demo` tells the whole story on a machine with no servers, and says it is a replay."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.helpers import ok


def test_demo_runs_the_story_end_to_end(isolated: Path) -> None:
    r = ok("demo", "--dir", "story")
    assert "REPLAY of recorded Prometheus and MLflow data" in r.stdout
    assert "rollback: passed" in r.stdout and "raw-data-drift: failed" in r.stdout
    report = json.loads(ok("demo", "--dir", "story2", "--json").stdout)
    assert [run["runbook"] for run in report["runs"]] == ["latency-regression", "data-drift"]
    assert report["runs"][0]["steps"]["rollback"] == "passed"
    assert report["runs"][1]["steps"]["raw-data-drift"] == "failed"

    ws = isolated / "story2"
    store = f"sqlite:///{ws / '.mlsre' / 'mlsre.db'}"
    shown = json.loads(ok("--store", store, "incident", "show", "INC-1", "--json").stdout)[
        "incident"
    ]
    assert shown["status"] == "closed" and len(shown["actions"]) == 3
    events = json.loads(ok("--store", store, "incident", "timeline", "1", "--json").stdout)
    moved = [e["data"] for e in events if e["kind"] == "model_changed"]
    assert [(m["alias"], m["from_version"], m["to_version"]) for m in moved] == [
        ("champion", "4", "3")
    ]
    drift = next(
        e["data"]
        for e in events
        if e["kind"] == "step_result" and e["data"]["step"] == "raw-data-drift"
    )
    assert drift["status"] == "failed" and "columns drifted" in drift["summary"]

    md = Path(report["postmortem"])
    text = md.read_text()
    assert "INC-1" in text and "champion" in text and "4 → 3" in text
    log = subprocess.run(
        ["git", "-C", str(ws / "postmortems"), "log", "--name-only", "--format=%s"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert md.name in log and "evidence.json" in log
