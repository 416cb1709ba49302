"""Generated Prometheus rules: valid for promtool, and their alerts fire when they should.

``tests/data/slo_rules_tests/*_test.yml`` are promtool unit tests (fast burn pages, slow burn
opens a ticket, a healthy service does neither) run against rules generated from
``tests/data/slo_rules_tests/slos.yaml``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlsre.slo.budget import WINDOWS
from mlsre.slo.rules import alert_name, rule_groups, rules_yaml
from mlsre.slo.spec import load_slos
from tests.support.fixtures_slo import promtool_path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples" / "slos"
RULE_TESTS = REPO / "tests" / "data" / "slo_rules_tests"


def test_rule_names_follow_sloth() -> None:
    slos = load_slos([EXAMPLES])
    data = rule_groups(slos, {"model-latency-p99": "latency-regression"})
    assert [g["name"] for g in data["groups"]] == [f"mlsre-slo-{s.name}" for s in slos]
    latency = next(g for g in data["groups"] if g["name"] == "mlsre-slo-model-latency-p99")
    records = [r["record"] for r in latency["rules"] if "record" in r]
    assert records[:6] == [f"slo:sli_error:ratio_rate{w}" for w in WINDOWS]
    for name in (
        "slo:sli_error:ratio_rate30d",
        "slo:error_budget:ratio",
        "slo:current_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
    ):
        assert name in records
    alerts = [r for r in latency["rules"] if "alert" in r]
    assert [(a["alert"], a["labels"]["severity"]) for a in alerts] == [
        ("ModelLatencyP99ErrorBudgetBurn", "page"),
        ("ModelLatencyP99ErrorBudgetBurn", "ticket"),
    ]
    assert alerts[0]["annotations"]["runbook_url"] == "mlsre://runbooks/latency-regression"
    assert "(14.4 * 0.01)" in alerts[0]["expr"] and "(6 * 0.01)" in alerts[0]["expr"]
    # no runbook lists the availability SLO: no runbook annotation rather than a dead link
    avail = next(g for g in data["groups"] if g["name"] == "mlsre-slo-model-availability")
    assert all("runbook_url" not in r.get("annotations", {}) for r in avail["rules"])


def test_runbook_url_template_and_alert_names() -> None:
    slos = load_slos([EXAMPLES])
    text = rules_yaml(
        slos, {"model-feature-drift": "data-drift"}, runbook_url="https://wiki/rb/{id}"
    )
    assert "runbook_url: https://wiki/rb/data-drift" in text
    assert alert_name(slos[0]) == "ModelAvailabilityErrorBudgetBurn"
    assert yaml.safe_load(text)["groups"]  # the text is YAML


def test_generated_rules_pass_promtool_check(tmp_path: Path) -> None:
    promtool = promtool_path()
    rules = tmp_path / "rules.yml"
    slos = load_slos([EXAMPLES, RULE_TESTS / "slos.yaml"])
    rules.write_text(rules_yaml(slos, {"model-latency-p99": "latency-regression"}))
    r = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(slos) * 16} rules found" in r.stdout


@pytest.mark.slow
def test_promtool_unit_tests_page_on_fast_burn_ticket_on_slow_burn_quiet_when_healthy(
    tmp_path: Path,
) -> None:
    promtool = promtool_path()
    slos = load_slos([RULE_TESTS / "slos.yaml"])
    (tmp_path / "rules.yml").write_text(rules_yaml(slos, {"scoring-availability": "error-rate"}))
    tests = sorted(RULE_TESTS.glob("*_test.yml"))
    assert [t.name for t in tests] == [
        "fast_burn_test.yml",
        "healthy_test.yml",
        "slow_burn_test.yml",
    ]
    for t in tests:
        shutil.copy(t, tmp_path / t.name)
    r = subprocess.run(
        [promtool, "test", "rules", *(t.name for t in tests)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("SUCCESS") == 3, r.stdout


@pytest.mark.slow
def test_promtool_unit_tests_would_catch_a_wrong_page_threshold(tmp_path: Path) -> None:
    """The fast-burn test is not vacuous: with the page factor raised above the burn, it fails."""
    promtool = promtool_path()
    slos = load_slos([RULE_TESTS / "slos.yaml"])
    text = rules_yaml(slos, {"scoring-availability": "error-rate"})
    (tmp_path / "rules.yml").write_text(text.replace("(14.4 * 0.001)", "(25 * 0.001)"))
    shutil.copy(RULE_TESTS / "fast_burn_test.yml", tmp_path / "fast_burn_test.yml")
    r = subprocess.run(
        [promtool, "test", "rules", "fast_burn_test.yml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode != 0
    assert "ScoringAvailabilityErrorBudgetBurn" in r.stdout + r.stderr
