"""``mlsre slo`` commands and the ``slo.status`` step, against the scenario Prometheus."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlsre.cli.app import app
from mlsre.runbook.sandbox import check_samples
from mlsre.settings import load_settings
from mlsre.steps.base import StepContext, StepStatus
from mlsre.steps.slo.kinds import SloStatusParams, SloStatusStep
from mlsre.timeutil import iso
from tests.support.fixtures_slo import E1, at, promtool_path

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def mlsre(ws: Path, *args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["-c", str(ws / "mlsre.yaml"), *args])
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.prometheus
def test_status_json_has_the_numbers(slo_workspace: Path) -> None:
    code, out, err = mlsre(
        slo_workspace, "slo", "status", "demo-availability", "--at", iso(at(E1)), "--json"
    )
    assert code == 0, err
    [st] = json.loads(out)
    assert st["name"] == "demo-availability" and st["at"] == at(E1).isoformat()
    assert st["burn_rates"]["1h"] == pytest.approx(10.0, rel=1e-6)
    # 25 hours of history in a 30-day period: 1/72 of the budget spent, and said so
    assert st["budget_remaining"] == pytest.approx(71 / 72, rel=1e-4)
    assert st["alert"] == "none"
    assert st["exhaustion_s"] == pytest.approx(71 * 3600, rel=1e-4)
    assert "holds only 25.0 hours of history" in st["history_note"]


@pytest.mark.prometheus
def test_status_plain_and_terminal_views(
    slo_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    when = str(E1)  # unix seconds work too
    code, out, err = mlsre(slo_workspace, "slo", "status", "--at", when)
    assert code == 0, err
    assert "demo-availability (slo-demo): objective 99.9% over 30d" in out
    assert "budget left  98.6%" in out
    assert "history      the 30d period holds only 25.0 hours of history" in out
    assert "burn rate    5m 10  30m 10  1h 10  6h 1.67  1d 0.417  3d 0.4" in out
    assert "exhaustion   2d 23h at the 1h burn rate" in out
    assert "alert        page (page-1h-5m)" in out  # the strict SLO
    assert "\x1b[" not in out and "█" not in out  # no colour or bars when not a terminal
    monkeypatch.setenv("MLSRE_FORCE_TERMINAL", "1")
    monkeypatch.setenv("COLUMNS", "120")
    code, out, err = mlsre(slo_workspace, "slo", "status", "demo-availability-strict", "--at", when)
    assert code == 0, err
    assert "█" in out and "░" in out and "\x1b[" in out
    assert "PAGE" in out


@pytest.mark.prometheus
def test_one_broken_query_does_not_hide_the_other_slos(slo_workspace: Path) -> None:
    broken = (REPO / "docs" / "examples" / "slos" / "model-freshness.yaml").read_text()
    broken = broken.replace("time() - max(", "time() - maxx(")  # unknown function
    (slo_workspace / "slos" / "broken.yaml").write_text(broken)
    code, out, err = mlsre(slo_workspace, "slo", "status", "--at", str(E1), "--json")
    assert code == 1
    names = [s["name"] for s in json.loads(out)]
    assert "demo-availability" in names and "model-freshness" not in names
    assert "error: model-freshness (" in err and "maxx" in err
    assert "error: 1 of 5 SLO(s) could not be computed" in err


def test_list_and_rules_with_runbook_annotation(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(REPO / "docs" / "examples" / "slos", ws / "slos")
    (ws / "runbooks").mkdir()
    (ws / "mlsre.yaml").write_text("slo_paths: [./slos]\nrunbook_paths: [./runbooks]\n")
    code, out, err = mlsre(ws, "slo", "list", "--json")
    assert code == 0, err
    names = [s["name"] for s in json.loads(out)]
    assert "model-latency-p99" in names and "model-availability" in names
    code, out, err = mlsre(ws, "slo", "list")
    assert code == 0, err
    assert out.splitlines()[0].split("\t") == [
        "SLO", "SERVICE", "OBJECTIVE", "WINDOW", "BUDGETING", "SLI", "FILE"
    ]  # fmt: skip
    rules = ws / "rules.yml"
    code, out, err = mlsre(
        ws, "slo", "rules", "-o", str(rules), "--runbook-url", "https://rb.example/{id}"
    )
    assert code == 0, err
    assert f"for {len(names)} SLO(s) to {rules}" in out
    text = rules.read_text()
    # the bundled latency-regression runbook lists model-latency-p99 in triggers.slos
    assert "runbook_url: https://rb.example/latency-regression" in text
    r = subprocess.run(
        [promtool_path(), "check", "rules", str(rules)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_errors_are_one_line_with_a_hint(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "slos").mkdir(parents=True)
    (ws / "mlsre.yaml").write_text("slo_paths: [./slos]\n")
    code, _, err = mlsre(ws, "slo", "list")
    assert code == 1 and err.startswith("error: no SLOs found in ") and "hint:" in err
    (ws / "slos" / "bad.yaml").write_text("apiVersion: openslo/v1\nkind: Slo\n")
    code, _, err = mlsre(ws, "slo", "status")
    assert code == 1
    assert "bad.yaml:2:1: kind: unknown kind 'Slo'" in err and "Traceback" not in err
    shutil.copy(
        REPO / "docs" / "examples" / "slos" / "model-freshness.yaml", ws / "slos" / "bad.yaml"
    )
    code, _, err = mlsre(ws, "slo", "status", "nope")
    assert code == 1 and "no SLO named 'nope'" in err and "model-freshness" in err
    code, _, err = mlsre(ws, "slo", "status", "--at", "yesterday-ish")
    assert code == 2 and "'yesterday-ish' is not a time" in err


@pytest.mark.prometheus
def test_step_samples_let_expect_test_budget_and_burn(slo_workspace: Path) -> None:
    settings, _ = load_settings(slo_workspace / "mlsre.yaml")
    step = SloStatusStep()
    params = SloStatusParams(slo="demo-availability")
    assert step.describe(params) == "error budget and burn rates of SLO demo-availability"
    result = step.run(params, StepContext(settings=settings, at=at(E1)))
    assert result.status is None, result.summary  # the engine decides from `expect`
    [sample] = result.samples
    assert sample["budget_remaining"] == pytest.approx(71 / 72, rel=1e-4)
    assert sample["labels"] == {"slo": "demo-availability", "service": "slo-demo"}
    assert result.summary == (
        "demo-availability: 98.6% of the error budget left; burn rate 1h 10, 5m 10; alert none"
    )
    assert check_samples("budget_remaining > 0.5 and burn_rate['1h'] < 14.4", [sample], {}) == []
    assert check_samples("burn_1h < 5", [sample], {}) == [sample]
    assert check_samples("alert == 'none'", [sample], {}) == []
    # `at` in the step wins over the run's time: an hour later the 5m burn is back to 0
    later = step.run(
        SloStatusParams(slo="demo-availability", at=iso(at(E1 + 3600))),
        StepContext(settings=settings, at=at(E1)),
    )
    assert later.samples[0]["burn_5m"] == 0.0


def test_step_reports_errors_as_errors_not_failures(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "slos").mkdir(parents=True)
    shutil.copy(REPO / "docs" / "examples" / "slos" / "model-freshness.yaml", ws / "slos")
    (ws / "mlsre.yaml").write_text(
        "slo_paths: [./slos]\nprometheus: {url: 'http://127.0.0.1:9', retries: 0}\n"
    )
    settings, _ = load_settings(ws / "mlsre.yaml")
    step = SloStatusStep()
    missing = step.run(SloStatusParams(slo="nope"), StepContext(settings=settings))
    assert missing.status is StepStatus.ERROR and "no SLO named 'nope'" in missing.summary
    down = step.run(SloStatusParams(slo="model-freshness"), StepContext(settings=settings))
    assert down.status is StepStatus.ERROR and "127.0.0.1:9" in down.summary
