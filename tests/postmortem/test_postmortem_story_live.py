"""The postmortem of a realistic incident, read as the incident commander would read it.

Built on the real fraud scenario (Prometheus backfilled, real MLflow registry): three bundled
runbooks run at 45 minutes into the incident, one of them twice, a rollback, a note, and the
mitigation recorded later than the rollback that did it. Then on the other layout (the SLO
scenario: a request counter with no version label). The rendered markdown is asserted on:
findings first and deduplicated, the timeline of people and of what the data shows, a chart for
every failing signal, and its length.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlsre.drift.samples import sample_paths
from mlsre.jsonutil import loads_strict
from mlsre.postmortem.charts import png_text
from tests.support import scenario_fraud as scenario
from tests.support.fixtures_servers import MlflowServer, PromServer
from tests.support.helpers import ok, run

pytestmark = [pytest.mark.prometheus]

REFERENCE, CURRENT = sample_paths()
AT = scenario.T0 + 45 * 60
RUNBOOKS = {
    "latency-regression": [],
    "error-rate": [],
    "data-drift": ["-i", f"reference_data={REFERENCE}", "-i", f"current_data={CURRENT}"],
}


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def _incident(root: Path, prom: PromServer, reg: MlflowServer) -> str:
    ok("init", str(root))
    (root / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prom.url}', timeout_s: 10}}\nregistry: {{url: '{reg.url}'}}\n"
    )
    started = datetime.fromtimestamp(scenario.T0 + 60, UTC).isoformat()
    ok("incident", "open", "fraud-detector p99 7x", "-s", "SEV2", "--model", scenario.MODEL, "--started", started)  # fmt: skip
    ok("incident", "ack", "INC-1", "--as", "alice")
    ok("incident", "assign", "INC-1", "alice", "--role", "commander")
    ok("incident", "note", "INC-1", "only version 4 pods look slow", "--as", "alice")
    for rb, extra in [*RUNBOOKS.items(), ("latency-regression", [])]:
        r = run("runbook", "run", rb, "--incident", "INC-1", "--non-interactive", "--yes", "--at", str(AT), "-i", f"model={scenario.MODEL}", *extra, "--json", "--as", "alice")  # fmt: skip
        assert r.exit_code in (0, 1, 4), r.output
    ok("incident", "mitigate", "INC-1", "-m", "rolled back to v3", "--as", "alice")
    ok("incident", "resolve", "INC-1", "-r", "v4 rolled back", "--as", "alice")
    return "INC-1"


def _section(md: str, title: str) -> str:
    start = md.index(f"## {title}\n")
    nxt = md.find("\n## ", start + 3)
    return md[start : nxt if nxt > 0 else len(md)]


@pytest.mark.mlflow
def test_realistic_incident_postmortem_reads_well(
    isolated: Path, prometheus_server: PromServer, registry: MlflowServer
) -> None:
    ref = _incident(isolated, prometheus_server, registry)
    out = isolated / "pm" / "INC-1.md"
    r = run("postmortem", "render", ref, "-o", str(out), "--json")
    assert r.exit_code == 0, r.output
    md = out.read_text()
    lines = md.splitlines()
    assert len(lines) <= 210, len(lines)  # "about 200 lines" before people write in it

    # Root causes: ranked, deduplicated findings; verify steps are not findings.
    causes = _section(md, "Root causes and trigger")
    items = re.findall(r"^\d+\. \*\*`([^`]+)`\*\*: (.*)$", causes, re.M)
    assert len(items) >= 4
    steps = [step for step, _ in items]
    assert len(steps) == len(set(steps))
    assert not [s for s in steps if s.endswith(("recovered", "settled"))]
    assert "before" in steps[0] or "vs" in steps[0], steps  # tied to the deploy: first
    from mlsre.numbers import fmt

    p99 = dict(items)["p99-vs-before-deploy"]
    deploy_at = datetime.fromtimestamp(scenario.T0, UTC).strftime("%H:%M")
    assert (
        f"{fmt(scenario.P99['4'])} now vs {fmt(scenario.P99['3'])} before version 4 went live"
        f" at {deploy_at}" in p99
    )
    mitigation = "First successful mitigation step `latency-regression/rollback`"
    for _step, text in items:
        assert " inf" not in text and "nan" not in text.lower()
    charts = re.findall(r"!\[([^\]]+)\]\((assets/INC-1/[^)]+\.png)\)", causes)
    assert {"p99-by-version", "error-ratio-by-version"} <= {c for c, _ in charts}
    for _, link in charts:
        assert (out.parent / link).read_bytes().startswith(b"\x89PNG")
    p99_png = out.parent / dict(charts)["p99-by-version"]
    marks = png_text(p99_png)["mlsre-marks"].split(",")
    assert "version 4 live" in marks and "started" in marks  # the deploy and the start
    assert "detected" not in marks  # a day after the data: not squashing the chart

    # Timeline: people, milestones, one line per run, what the data shows at its own time.
    timeline = _section(md, "Timeline")
    rows = [r for r in timeline.splitlines() if r.startswith("| 20")]
    assert not [r for r in rows if "| Step " in r or "started |" in r.lower()]
    run_rows = [r for r in rows if "Ran runbook `" in r]
    assert len(run_rows) == 4 and all(f"data as of {_utc(AT)} UTC (--at)" in r for r in run_rows)
    assert all("([details](#run-" in r for r in run_rows)
    deploy = next(r for r in rows if "Version 4 went live" in r)
    assert deploy.startswith(f"| {_utc(scenario.T0)}") and "*observed*" in deploy
    first_fail = next(r for r in rows if "First failing sample of `p99-by-version`" in r)
    assert first_fail.startswith(f"| {_utc(scenario.T0)}")
    mitigated = next(r for r in rows if "**mitigated**" in r)
    assert mitigation in mitigated and "4 -> 3" in mitigated
    command = next(r for r in rows if "Mitigated: rolled back to v3" in r)
    assert rows.index(mitigated) < rows.index(command)  # the rollback step, not the command
    assert "(the first successful mitigation step)" in _section(md, "Summary")

    # Details are there for whoever follows the links; the evidence file is strict JSON.
    evidence = _section(md, "Supporting evidence")
    anchors = re.findall(r'<a id="(run-[^"]+)"></a>', evidence)
    assert len(anchors) == 4 and all(f"(#{a})" in timeline for a in anchors)
    assert evidence.count("Same findings as run") == 1  # the repeated run is told once
    assert "Verification after mitigation:" in _section(md, "Resolution")
    assert "inf" not in re.sub(r"inference|info", "", md.lower()).split()
    r = run("postmortem", "render", ref, "--no-slo", "--json")
    assert r.exit_code == 0
    loads_strict(r.stdout)


def test_postmortem_on_a_layout_without_version_labels(isolated: Path, slo_workspace: Path) -> None:
    """The other layout: the request counter has `model` and `code` labels, no `version`."""
    from tests.support.faulty_server import refused_url
    from tests.support.fixtures_slo import E0, E1

    cfg_file = slo_workspace / "mlsre.yaml"
    cfg_file.write_text(
        cfg_file.read_text() + f"registry: {{url: '{refused_url()}', retries: 0}}\n"
    )
    cfg = ("--config", str(cfg_file))
    ok(*cfg, "incident", "open", "slo-demo errors", "--model", "slo-demo", "--started", str(E0))
    r = run(*cfg, "runbook", "run", "error-rate", "--incident", "INC-1", "--at", str(E1), "-i", "model=slo-demo", "--non-interactive", "--json")  # fmt: skip
    report = loads_strict(r.stdout)
    out = isolated / "pm" / "INC-1.md"
    r = run(*cfg, "postmortem", "render", "INC-1", "-o", str(out))
    assert r.exit_code == 0, r.output
    md = out.read_text()
    causes = _section(md, "Root causes and trigger")
    findings = re.findall(r"^\d+\. \*\*`([^`]+)`\*\*", causes, re.M)
    assert "error-ratio" in findings
    verify = {s["step"] for s in report["steps"] if s["phase"] == "verify"}
    assert not verify & set(findings)
    unknown = [s["step"] for s in report["steps"] if s["status"] == "error"]
    if unknown:  # listed apart, on one line, never as findings
        line = next(ln for ln in causes.splitlines() if ln.startswith("Could not run"))
        assert all(f"`error-rate/{u}`" in line for u in unknown)
        assert not set(unknown) & set(findings)
    first = next(
        ln
        for ln in _section(md, "Timeline").splitlines()
        if "First failing sample of `error-ratio`" in ln
    )
    seen = datetime.strptime(first.split("|")[1].strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert E0 < seen.timestamp() <= E0 + 600  # when the errors began, not when someone typed
    assert "*observed*" in first
    png = out.parent / "assets" / "INC-1" / "error-ratio.png"
    assert png.read_bytes().startswith(b"\x89PNG") and "](assets/INC-1/error-ratio.png)" in causes
