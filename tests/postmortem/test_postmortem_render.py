"""Rendering a realistic incident: every section with the real values, valid GFM tables, charts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from mlsre.incident.model import EventKind, Severity
from mlsre.incident.service import open_incident
from mlsre.incident.store import open_store
from mlsre.postmortem import build
from mlsre.postmortem.charts import digest, draw, png_text
from mlsre.postmortem.context import build_context
from mlsre.postmortem.lint import lint_text
from mlsre.postmortem.render import template_dirs
from mlsre.settings import load_settings
from tests.support.fixtures_postmortem import PostmortemEnv, build_incident
from tests.support.fixtures_slo import E0, E1, at
from tests.support.helpers import run

# Every test here runs on SQLite and on PostgreSQL (tests/support/fixtures_postgres.py).
pytestmark = pytest.mark.usefixtures("store_backend")

SECTIONS = [
    "## Summary",
    "## Impact",
    "## Timeline",
    "## Detection",
    "## Root causes and trigger",
    "## Resolution",
    "## Model and data",
    "## What went well",
    "## What went wrong",
    "## Where we got lucky",
    "## Action items",
    "## Supporting evidence",
]
PNG = b"\x89PNG\r\n\x1a\n"


def gfm_tables(markdown: str) -> list[list[list[str]]]:
    """Every table as rows of cells; asserts each is well formed for GitHub."""
    tables: list[list[list[str]]] = []
    block: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            assert re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", block[1]), block[:2]
            rows = [_cells(r) for r in block]
            width = len(rows[0])
            assert all(len(r) == width for r in rows), [r for r in rows if len(r) != width]
            tables.append([rows[0], *rows[2:]])
            block = []
    # and a real markdown parser agrees they are tables
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    assert sum(t.type == "table_open" for t in tokens) == len(tables)
    return tables


def _cells(row: str) -> list[str]:
    assert row.endswith("|"), row
    parts = re.split(r"(?<!\\)\|", row)[1:-1]
    return [p.strip() for p in parts]


def _render(env: PostmortemEnv, chart_dir: Path | None = None) -> build.Rendered:
    settings, _ = load_settings(env.ws / "mlsre.yaml")
    inc, events = build.load(env.store, env.incident)
    ctx = build.make_context(inc, events, settings=settings)
    return build.render(ctx, template_dirs(env.ws), chart_dir=chart_dir, link_prefix="assets/")


def test_realistic_incident_renders_every_section_with_the_real_values(
    pm_env: PostmortemEnv,
) -> None:
    events = pm_env.store.events(pm_env.incident)
    assert len(events) >= 30  # dozens of events, as a real incident has
    md = _render(pm_env).markdown
    positions = [md.index(s) for s in SECTIONS]
    assert positions == sorted(positions), "sections out of order"
    assert md.startswith("<!-- mlsre:begin header")
    assert "# INC-1: fraud-detector p99 latency 7x after version 4" in md
    for fact in (
        "| Severity | SEV3 |",  # changed during the incident
        "| Status | resolved |",
        "| Started | 2026-11-28 17:29:00 UTC |",
        "| Detected | 2026-11-28 17:41:00 UTC |",
        "| Resolved | 2026-11-28 18:27:00 UTC |",
        "| Duration | 58m |",
        "| Commander | Dana Kim |",
        "| Scribe | luis |",
        # mitigated by the rollback step at 17:57:18, before the `mitigate` command at 18:00
        "It started at 2026-11-28 17:29:00 UTC and was detected 12m later; mitigated after 28m (the first successful mitigation step); resolved after 58m.",
        "Checkout fraud scoring slowed down and timed out for some payments.",
        "| User-facing duration (start to mitigation) | 28m |",
        "| Time to detect | 12m |",
        "| Time to acknowledge (after detection) | 2m |",
        "Not available: no SLOs are configured",
        "- Detected at 2026-11-28 17:41:00 UTC by alertmanager, **12m** after the problem started.",
        "**`latency-vs-before`**: {}: 0.57 vs 0.08 before (7.125x) (bad-model-deploy/latency-vs-before)",
        "Resolution recorded: champion rolled back to version 3; version 4 quarantined",
        "Registry changes: fraud-detector `champion` 4 → 3.",
        "- Versions involved: 3, 4",
        "| 2026-11-28 17:57:18 | fraud-detector | champion | 4 | 3 | yes | Dana Kim |",
        "**`amount-drift`**: amount: PSI 0.35 (major); merchant_id: PSI 0.12 (moderate)",
        "Drift and data checks: `bad-model-deploy/amount-drift` failed.",
        "`amount-drift` (failed):\n\n| column | method | statistic | p-value | verdict |\n|---|---|---|---|---|\n| amount | psi | 0.35 |  | drift |\n| merchant_id | psi | 0.1213 |  | ok |",
        "| 1 | detect | Alert on p99 per model version | ml-platform | done | 2026-12-15 | https://tracker.example/ML-101 |",
        "| 2 | prevent | Canary gate before moving champion | Dana Kim | open | 2026-12-15 |  |",
        "Runbook `bad-model-deploy`: Bad model deploy",
        "`bad-model-deploy/rollback` (registry.rollback): passed — champion: 4 -> 3 (verified)",
        "country_lookup table stopped refreshing at 15:59",
    ):
        assert fact in md, fact
    assert md.count("**TO WRITE:**") == 8  # the sections people write are marked
    assert lint_text(md, names=["Dana Kim", "luis"]).findings == []  # blameless as generated
    assert "alertmanager" not in md.split("| Authors |")[1].split("\n")[0]  # a tool, not an author


def test_timeline_is_a_utc_table_with_the_lifecycle_marked(pm_env: PostmortemEnv) -> None:
    tables = gfm_tables(_render(pm_env).markdown)
    timeline = next(t for t in tables if t[0] == ["Time (UTC)", "Milestone", "Event", "Who"])
    marks = {r[1]: r[0] for r in timeline[1:] if r[1]}
    assert marks == {
        "**started**": "2026-11-28 17:29:00",
        "**detected**": "2026-11-28 17:41:00",
        "**acknowledged**": "2026-11-28 17:43:00",
        "**mitigated**": "2026-11-28 17:57:12",  # the rollback step, before the command
        "**resolved**": "2026-11-28 18:27:00",
    }
    times = [r[0] for r in timeline[1:]]
    assert times == sorted(times)
    assert not any("Step" in r[2] and "started" in r[2] for r in timeline[1:])  # noise left out
    assert ["2026-11-28 17:57:18", "", "Model fraud-detector: alias champion moved from version 4 to 3", "Dana Kim"] in timeline  # fmt: skip


def test_tables_stay_valid_when_values_hold_pipes_and_newlines(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'pm.db'}")
    inc = open_incident(
        store, title="a | b", severity=Severity.SEV4, actor="ann", model="m|1", summary="x\ny"
    )
    store.append(inc.id, EventKind.NOTE, {"text": "line one\nline | two"}, "ann", inc.opened_at)
    store.append(
        inc.id,
        EventKind.ACTION_ADDED,
        {"title": "fix `a|b`\nsoon", "type": "process", "owner": "x|y"},
        "ann",
        inc.opened_at,
    )
    state, events = build.load(store, inc.id)
    md = build.render(build_context(state, events), template_dirs(None)).markdown
    tables = gfm_tables(md)
    assert ["1", "process", "fix `a\\|b` soon", "x\\|y", "open", "", ""] in tables[-1]


def test_charts_are_png_over_the_incident_window(pm_env: PostmortemEnv, tmp_path: Path) -> None:
    out = _render(pm_env, chart_dir=tmp_path / "assets")
    assert [p.name for p in out.charts] == ["latency-trend.png"]
    data = out.charts[0].read_bytes()
    assert data.startswith(PNG) and len(data) > 5000
    assert "![latency-trend](assets/latency-trend.png)" in out.markdown
    # the same data draws the same bytes (so republishing commits nothing)
    again = draw(out.context.charts[0], out.context.moments, tmp_path / "again.png")
    assert again.read_bytes() == data
    # and a chart already drawn from the same data is not drawn again
    key = png_text(out.charts[0])["mlsre-digest"]
    assert key == digest(out.context.charts[0], out.context.moments)
    stamp = out.charts[0].stat().st_mtime_ns
    draw(out.context.charts[0], out.context.moments, out.charts[0])
    assert out.charts[0].stat().st_mtime_ns == stamp
    draw(out.context.charts[0], out.context.moments[:2], out.charts[0])  # fewer moments marked
    assert png_text(out.charts[0])["mlsre-digest"] != key


def test_workspace_template_overrides_the_bundled_one(pm_env: PostmortemEnv) -> None:
    (pm_env.ws / "templates").mkdir()
    (pm_env.ws / "templates" / "postmortem.md.j2").write_text(
        "# {{ ref }} ours\n{% for a in actions %}- {{ a.title }}\n{% endfor %}"
    )
    (pm_env.ws / "templates" / "short.md.j2").write_text("{{ ref }} took {{ duration_s | dur }}\n")
    md = _render(pm_env).markdown
    assert md.startswith("# INC-1 ours\n- Alert on p99 per model version\n")
    r = run("--config", str(pm_env.ws / "mlsre.yaml"), "postmortem", "render", "INC-1", "--template", "short", "--no-slo")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.stdout == "INC-1 took 58m\n"


def test_templates_run_in_the_sandbox(pm_env: PostmortemEnv) -> None:
    (pm_env.ws / "templates").mkdir()
    (pm_env.ws / "templates" / "evil.md.j2").write_text(
        "{{ pm.__class__.__init__.__globals__['os'].system('echo pwned') }}\n"
    )
    r = run("--config", str(pm_env.ws / "mlsre.yaml"), "postmortem", "render", "INC-1", "-t", "evil")  # fmt: skip
    assert r.exit_code == 1
    assert "template" in r.stderr and "pwned" not in r.stdout
    r = run("--config", str(pm_env.ws / "mlsre.yaml"), "postmortem", "render", "INC-1", "-t", "nope")  # fmt: skip
    assert r.exit_code == 1 and "available: " in r.stderr and "postmortem" in r.stderr


def test_render_cli_writes_the_file_and_charts(pm_env: PostmortemEnv, tmp_path: Path) -> None:
    target = tmp_path / "out" / "INC-1.md"
    cfg = str(pm_env.ws / "mlsre.yaml")
    r = run("--config", cfg, "postmortem", "render", "INC-1", "-o", str(target))
    assert r.exit_code == 0, r.output
    assert (target.parent / "assets" / "INC-1" / "latency-trend.png").read_bytes().startswith(PNG)
    assert "](assets/INC-1/latency-trend.png)" in target.read_text()
    r = run("--config", cfg, "postmortem", "render", "INC-1", "--json")
    data = json.loads(r.stdout)
    assert data["incident"] == "INC-1" and "## Timeline" in data["markdown"]
    assert data["context"]["model_changes"][0]["to_version"] == "3"
    # lint of an incident that is not published yet checks the rendered text: blameless, but
    # under --strict the sections people have not written yet fail it
    r = run("--config", cfg, "postmortem", "lint", "INC-1")
    assert r.exit_code == 0, r.output
    assert "INC-1 (rendered): no blameful language found" in r.stdout
    r = run("--config", cfg, "postmortem", "lint", "INC-1", "--strict")
    assert r.exit_code == 1, r.output
    assert "to-write: 'What went well' still says TO WRITE" in r.stdout


def test_incident_people_feed_the_lint(pm_env: PostmortemEnv) -> None:
    inc, events = build.load(pm_env.store, pm_env.incident)
    names = build.people(inc, events)
    assert {"Dana Kim", "luis"} <= set(names)
    found = lint_text("The rollback was late because of Dana.", names=names).findings
    assert [f.rule for f in found] == ["person-as-cause"]


def test_slo_impact_not_available_when_prometheus_is_down(pm_env: PostmortemEnv) -> None:
    (pm_env.ws / "slos" / "a.yaml").write_text(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: fraud-availability}\nspec:\n"
        "  service: fraud-api\n  indicator:\n    metadata: {name: ok}\n    spec:\n"
        "      ratioMetric:\n        good: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(ok[{{.window}}]))'}}}\n"
        "        total: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(all[{{.window}}]))'}}}\n"
        "  timeWindow: [{duration: 30d, isRolling: true}]\n  objectives: [{target: 0.999}]\n"
    )
    cfg = pm_env.ws / "mlsre.yaml"
    cfg.write_text(cfg.read_text() + "prometheus: {url: 'http://127.0.0.1:9', retries: 0}\n")
    md = _render(pm_env).markdown
    assert "Not available: Prometheus did not answer" in md
    slo = pm_env.ws / "slos" / "a.yaml"
    slo.write_text(slo.read_text().replace("service: fraud-api", "service: search-ranker"))
    md = _render(pm_env).markdown
    assert "Not available: no SLO is defined for fraud-api or fraud-detector." in md


@pytest.mark.prometheus
def test_slo_budget_consumed_during_the_incident_from_a_real_prometheus(
    slo_workspace: Path,
) -> None:
    """1% errors for the incident's hour against 99.9% over 30 days: 1/72 of the budget."""
    settings, _ = load_settings(slo_workspace / "mlsre.yaml")
    store = open_store(f"sqlite:///{slo_workspace / 'pm.db'}")
    inc = open_incident(
        store,
        title="slo-demo errors",
        severity=Severity.SEV2,
        actor="ann",
        service="slo-demo",
        started=at(E0).isoformat(),
        at=at(E0 + 300),
    )
    store.append(inc.id, EventKind.RESOLVED, {"resolution": "fixed"}, "ann", at(E1))
    state, events = build.load(store, inc.id)
    ctx = build.make_context(state, events, settings=settings)
    rows = {r.name: r for r in ctx.slo.rows}
    assert ctx.slo.available
    assert rows["demo-availability"].budget_consumed == pytest.approx(1 / 72, rel=1e-6)
    md = build.render(ctx, template_dirs(slo_workspace)).markdown
    assert "| demo-availability | 99.900% | 1.000% | 10 | 1.39% | 98.6% |" in md
    # ... the same figure `mlsre slo status` gives at the end of the window: the only errors
    # in the 25 hours of history were the incident's, so what it spent is all that is spent.
    status = run("-c", str(slo_workspace / "mlsre.yaml"), "slo", "status", "demo-availability", "--at", str(E1))  # fmt: skip
    assert status.exit_code == 0, status.output
    assert "budget left  98.6%" in status.stdout
    assert rows["demo-availability"].budget_remaining == pytest.approx(71 / 72, rel=1e-4)
    assert "demo-availability: the 30d period holds only 25.0 hours of history" in md


def test_realistic_incident_builder_is_the_store_api(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    inc = build_incident(store)
    kinds = [e.kind for e in store.events(inc)]
    assert kinds.count(EventKind.STEP_RESULT) == 8 and EventKind.MODEL_CHANGED in kinds
    assert store.get(inc).status.value == "resolved"
