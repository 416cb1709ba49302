"""Every `--json` command and every export is strict JSON: no NaN, no Infinity.

A workspace on the real fraud scenario (Prometheus, MLflow) runs a runbook whose queries give
NaN (0/0), +Inf (1/0) and a comparison against a zero baseline, so undefined numbers are really
on the incident. Then every command that takes `--json` (found by walking the CLI, so a new one
cannot be forgotten), `incident export`, `runbook schema`, the evidence file of a published
postmortem and the raw events in the store are parsed with a parser that refuses NaN/Infinity.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mlsre.drift.samples import sample_paths
from mlsre.jsonutil import loads_strict
from tests.support import scenario_fraud as scenario
from tests.support.commands import command_tree, takes_json
from tests.support.engine_support import write_runbook
from tests.support.fixtures_postmortem import make_repo
from tests.support.fixtures_servers import MlflowServer, PromServer
from tests.support.helpers import ok, run

pytestmark = [pytest.mark.prometheus, pytest.mark.mlflow]

REFERENCE, CURRENT = sample_paths()
AT = scenario.T0 + 45 * 60
DOCS_SLOS = Path(__file__).resolve().parents[2] / "docs" / "examples" / "slos"


def json_commands() -> set[str]:
    return {" ".join(p) for p, cmd in command_tree() if takes_json(cmd)}


def _crashed_run(ws: Path) -> None:
    from mlsre.incident.model import EventKind
    from mlsre.incident.store import open_store
    from mlsre.timeutil import iso, parse_time, utcnow

    store = open_store(f"sqlite:///{ws / '.mlsre' / 'mlsre.db'}")
    try:
        data = {"run": "crashed00001", "runbook": "undefined-numbers", "title": "t", "inputs": {}}
        store.append(
            1,
            EventKind.RUNBOOK_STARTED,
            {**data, "at": iso(parse_time(str(AT)))},
            "tester",
            utcnow(),
        )
    finally:
        store.close()


def _nulls_with_reasons(data: Any) -> int:
    """How many dicts say why a value of theirs is null (a NaN or infinity that was)."""
    if isinstance(data, dict):
        here = 1 if isinstance(data.get("null_reasons"), dict) else 0
        return here + sum(_nulls_with_reasons(v) for v in data.values())
    if isinstance(data, list):
        return sum(_nulls_with_reasons(v) for v in data)
    return 0


def _follow_lines(ws: Path, ref: str, n: int) -> str:
    """`incident follow --json` runs until interrupted: read ``n`` lines, each strict JSON."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "mlsre", "incident", "follow", ref, "--json", "--last", str(n)],
        cwd=ws,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(n)]
    finally:
        proc.kill()
        proc.wait()
    for line in lines:
        assert loads_strict(line)["seq"] > 0
    return "".join(lines)


def test_every_json_output_and_export_is_strict(
    isolated: Path, prometheus_server: PromServer, registry: MlflowServer, tmp_path: Path
) -> None:
    repo, _ = make_repo(tmp_path / "git")
    ok("init", "ws")
    ws = isolated / "ws"
    (ws / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prometheus_server.url}', retries: 0}}\n"
        f"registry: {{url: '{registry.url}', timeout_s: 30}}\n"
        f"postmortems: {{repo: '{repo}'}}\n"
        "notify: {channels: {audit: {type: webhook, url: 'http://127.0.0.1:9/hook'}}}\n"
        "escalation: {policies: [{name: sev1, match: {severity: [SEV1]},"
        " levels: [{notify: [audit]}, {notify: [audit]}]}]}\n"
    )
    shutil.copy(DOCS_SLOS / "model-availability.yaml", ws / "slos")
    shutil.copy(DOCS_SLOS / "prometheus.yaml", ws / "slos")
    write_runbook(
        ws,
        "undefined-numbers",
        f"""\
        - id: zero-over-zero
          title: NaN from Prometheus
          uses: prometheus.query
          with: {{query: 'vector(0) / vector(0)'}}
          expect: value < 1
        - id: one-over-zero
          title: +Inf over a range
          uses: prometheus.range
          with: {{query: 'vector(1) / vector(0)', start: -10m, end: now, step: 1m}}
        - id: from-zero
          title: a ratio against a zero baseline
          uses: prometheus.compare
          with: {{query: 'time() > bool {AT - 600}', baseline: offset, offset: 1h}}
          expect: ratio < 2
        """,
    )
    outputs: dict[str, str] = {}
    commands = json_commands()

    def j(*args: str, codes: tuple[int, ...] = (0,)) -> Any:
        r = run("--config", str(ws / "mlsre.yaml"), *args, "--json")
        name = next(" ".join(args[:k]) for k in (3, 2, 1) if " ".join(args[:k]) in commands)
        assert r.exit_code in codes, (args, r.exit_code, r.stdout[-800:], r.stderr[-800:])
        assert r.stdout.strip(), (args, r.stderr)
        outputs[name] = r.stdout
        return loads_strict(r.stdout)

    started = str(scenario.T0 + 60)
    j("init", str(tmp_path / "other-ws"))
    j("incident", "open", "fraud p99 up", "--model", scenario.MODEL, "--started", started)
    report = j("runbook", "run", "undefined-numbers", "--incident", "INC-1", "--at", str(AT), "--non-interactive", "--yes", codes=(1,))  # fmt: skip
    assert _nulls_with_reasons(report) >= 2  # the NaN and the +Inf really went through
    steps = {s["step"]: s for s in report["steps"]}
    assert steps["zero-over-zero"]["samples"][0]["value"] is None
    assert "not a number" in steps["zero-over-zero"]["samples"][0]["null_reasons"]["value"]
    assert (
        "new: 0 -> 1" in steps["from-zero"]["summary"]
        and "inf" not in steps["from-zero"]["summary"]
    )
    j("runbook", "run", "latency-regression", "--incident", "INC-1", "--at", str(AT), "-i", f"model={scenario.MODEL}", "--non-interactive", codes=(1,))  # fmt: skip
    j("runbook", "approve", "INC-1", "--non-interactive", "--yes", codes=(0, 1))  # the rollback
    j("triage", scenario.MODEL, "--at", str(AT), codes=(0, 1))
    j("incident", "list")
    j("incident", "show", "INC-1")
    j("incident", "timeline", "INC-1")
    j("incident", "ack", "INC-1")
    j("incident", "note", "INC-1", "looking")
    j("incident", "assign", "INC-1", "alice", "--role", "commander")
    j("incident", "severity", "INC-1", "SEV1")
    j("incident", "action", "add", "INC-1", "canary gate")
    j("incident", "action", "list", "INC-1")
    j("incident", "action", "done", "INC-1", "1")
    j("runbook", "list")
    j("runbook", "show", "latency-regression")
    j("runbook", "validate", str(ws / "runbooks"))
    j("runbook", "kinds")
    j("runbook", "new", "brand-new", "-f", "latency", "--dir", str(ws / "runbooks"))
    _crashed_run(ws)  # a run that started and never finished, as after a closed laptop
    j("runbook", "resume", "INC-1", "--non-interactive", codes=(0, 1))
    export = ok("--config", str(ws / "mlsre.yaml"), "incident", "export", "INC-1").stdout
    loads_strict(export)
    (ws / "inc-1.json").write_text(export)
    j("runbook", "test", "undefined-numbers", "--replay", str(ws / "inc-1.json"), "--at", str(AT), "--expect-status", "unhealthy")  # fmt: skip
    j("model", "versions", scenario.MODEL)
    j("model", "rollback", scenario.MODEL, "--dry-run")
    j("canary", "judge", scenario.MODEL, "--canary", "4", "--baseline", "3", "--at", str(AT), codes=(0, 1, 4))  # fmt: skip
    j("model", "promote", scenario.MODEL, "4", "--dry-run")
    j("model", "fallback", scenario.MODEL, "--designate", "2", "--yes")  # names it
    j("model", "fallback", scenario.MODEL, "--yes")  # serves it
    j("model", "restore", scenario.MODEL, "--yes")
    j("runbook", "check", "--live", "latency-regression", "-i", f"model={scenario.MODEL}", "--at", str(AT), codes=(0, 1, 4))  # fmt: skip
    j("readiness", scenario.MODEL, "--at", str(AT), codes=(0, 1))
    j("drift", "compare", str(REFERENCE), str(CURRENT), codes=(0, 1))
    j("data", "check", str(CURRENT), "--reference", str(REFERENCE), codes=(0, 1))
    j("slo", "list")
    j("slo", "status", "--at", str(AT))
    j("incident", "mitigate", "INC-1")
    j("incident", "resolve", "INC-1", "-r", "rolled back")
    j("incident", "stats")
    j("change", "record", "feature store schema v12", "--kind", "data", "--at", str(AT))
    j("change", "list", "--since", "2020-01-01")
    j("incident", "changes", "INC-1", "--window", "2h")
    j("incident", "open", "paged", "-s", "SEV1")  # its webhook is down: queued
    j("incident", "escalate", "INC-2")
    j("incident", "drill", "INC-2", "--reason", "a paging test")
    j("notify", "list")
    j("serve", "pause")
    j("serve", "resume")
    j("chaos", "faults")
    j("chaos", "corrupt", str(CURRENT), str(tmp_path / "corrupt.csv"), "--fault", "missing:column=amount,share=0.3", "--seed", "1")  # fmt: skip
    j("chaos", "matrix", str(REFERENCE), "--faults", "duplicates", "--severities", "0.2", codes=(0, 1))  # fmt: skip
    j("gameday", "list")
    j("gameday", "run", "feature-pipeline-nulls", "--workdir", str(tmp_path / "gd"))
    j("notify", "flush", codes=(1,))  # still waiting for the webhook
    j("postmortem", "render", "INC-1")
    j("postmortem", "lint", "INC-1")
    published = j("postmortem", "publish", "INC-1")
    j("incident", "reopen", "INC-1", "--reason", "again")
    ok("--config", str(ws / "mlsre.yaml"), "incident", "resolve", "INC-1", "-r", "done")
    j("incident", "close", "INC-1")
    j("config", "show")
    j("doctor", codes=(0, 1))
    j("demo", "--dir", str(tmp_path / "demo"))
    db_url = f"sqlite:///{ws / '.mlsre' / 'mlsre.db'}"
    j("store", "status")
    j("store", "migrate")
    j("store", "copy", db_url, f"sqlite:///{tmp_path / 'copy.db'}")
    outputs["incident follow"] = _follow_lines(ws, "INC-1", 3)

    assert commands <= set(outputs), f"add these to this test: {commands - set(outputs)}"
    loads_strict(ok("runbook", "schema").stdout)
    evidence = next(a for a in published["assets"] if a.endswith("evidence.json"))
    assert _nulls_with_reasons(loads_strict((repo / evidence).read_text())) >= 2
    db = ws / ".mlsre" / "mlsre.db"
    with sqlite3.connect(db) as con:
        rows = [r[0] for r in con.execute("SELECT data FROM events")]
    assert rows and all(loads_strict(r) is not None for r in rows)
