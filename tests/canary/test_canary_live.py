"""``mlsre canary judge`` against a real Prometheus holding two versions that serve at once,
on two metric layouts (the bundled conventions, and other names read through --input)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support import scenario_canary as sc
from tests.support.faulty_server import FaultyServer, refused_url
from tests.support.helpers import run

pytestmark = pytest.mark.prometheus


@pytest.fixture
def prom(canary_prometheus: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MLSRE_PROMETHEUS_URL", canary_prometheus)
    return canary_prometheus


def judge(layout: sc.Layout, case: str, *extra: str) -> Any:
    args = ["canary", "judge", layout.model(case), "--canary", sc.CANARY, "--baseline"]
    args += [sc.BASELINE, "--at", str(sc.END), "--lookback", "45m"]
    for key, value in layout.inputs.items():
        args += ["-i", f"{key}={value}"]
    return run(*args, *extra)


def strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in --json output")

    return json.loads(text, parse_constant=refuse)


def classes(data: Any) -> dict[str, str]:
    return {m["name"]: m["comparison"]["classification"] for m in data["metrics"]}


@pytest.mark.parametrize("layout", sc.LAYOUTS, ids=lambda x: x.prefix)
def test_worse_canary_fails_on_latency_and_errors(prom: str, layout: sc.Layout) -> None:
    r = judge(layout, "worse", "--json")
    assert r.exit_code == 1, r.output
    data = strict_json(r.stdout)
    assert data["verdict"] == "fail" and data["score"] == 0
    assert classes(data) == {
        "p99-latency": "High",
        "error-ratio": "High",
        "prediction-scores": "Pass",
    }
    p99 = data["metrics"][0]["comparison"]
    assert p99["relative_low"] > 2.0  # about 7x: the whole interval is far above +200%
    assert p99["pvalue"] < 0.02


@pytest.mark.parametrize("layout", sc.LAYOUTS, ids=lambda x: x.prefix)
def test_equivalent_canary_passes(prom: str, layout: sc.Layout) -> None:
    r = judge(layout, "same", "--json")
    assert r.exit_code == 0, r.output
    data = strict_json(r.stdout)
    assert data["verdict"] == "pass" and data["score"] == 100
    assert set(classes(data).values()) == {"Pass"}
    scores = data["metrics"][2]["comparison"]
    assert scores["distance"] < 0.01  # same distribution, finite samples
    assert data["metrics"][0]["comparison"]["canary"]["points"] == 46  # 45m at 1m, inclusive


@pytest.mark.parametrize("layout", sc.LAYOUTS, ids=lambda x: x.prefix)
def test_faster_canary_with_shifted_predictions_fails_on_the_distribution(
    prom: str, layout: sc.Layout
) -> None:
    r = judge(layout, "shifted", "--json")
    assert r.exit_code == 1, r.output
    data = strict_json(r.stdout)
    got = classes(data)
    assert got["p99-latency"] == "Pass"  # lower, and only an increase is bad
    assert data["metrics"][0]["comparison"]["relative"] < -0.3
    assert got["prediction-scores"] == "High"
    assert data["metrics"][2]["comparison"]["distance"] > 0.25
    assert data["reason"] == "critical metric prediction-scores failed"


@pytest.mark.parametrize("layout", sc.LAYOUTS, ids=lambda x: x.prefix)
def test_canary_without_traffic_cannot_be_judged(prom: str, layout: sc.Layout) -> None:
    r = judge(layout, "idle")
    assert r.exit_code == 4, r.output
    assert "COULD NOT JUDGE" in r.stdout
    assert "no data for critical metric p99-latency" in r.stdout


def test_default_inputs_do_not_find_the_other_layout(prom: str) -> None:
    """Without the overrides the other layout's metrics are not there: unknown, not a pass."""
    r = run(
        "canary", "judge", sc.OTHER.model("same"), "--canary", "5", "--baseline", "4",
        "--at", str(sc.END), "--lookback", "45m",
    )  # fmt: skip
    assert r.exit_code == 4, r.output


def test_terminal_view_table_sparklines_and_markdown(
    prom: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSRE_FORCE_TERMINAL", "1")
    monkeypatch.setenv("COLUMNS", "140")
    report = tmp_path / "canary.md"
    r = judge(sc.BUNDLED, "shifted", "--markdown", str(report))
    assert r.exit_code == 1
    screen = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout)  # what the terminal shows
    assert "\x1b[1;31mFAIL" in r.stdout  # the verdict in red
    assert "canary fraud-shifted 5 vs baseline 4" in screen
    assert "┃ metric" in screen  # a rich table, as a person sees it
    p99_line = next(x for x in screen.splitlines() if "p99-latency (critical)" in x)
    assert "Pass" in p99_line and "%" in p99_line
    sparks = [x for x in screen.splitlines() if x.startswith("p99-latency ")]
    assert len(sparks) == 2 and all(any(c in x for c in "▁▂▃▄▅▆▇█") for x in sparks)
    assert "FAIL: score 0 (critical metric prediction-scores failed)" in screen
    md = report.read_text()
    assert md.startswith("## ❌ Canary fraud-shifted version 5 vs 4: FAIL")
    assert "| prediction-scores (critical) |" in md and "| High |" in md
    assert md.count("\n| ") == 4  # header + 3 metrics


def test_marginal_exit_code_follows_the_flag(prom: str, tmp_path: Path) -> None:
    config = tmp_path / "canary.yaml"
    from mlsre.canary.defaults import DEFAULT_CONFIG

    # the same metrics, none critical, equal weights: one failure of three scores 66.7;
    # with marginal at 60 that is marginal
    text = DEFAULT_CONFIG.replace("critical: true", "critical: false").replace(
        "weight: 2", "weight: 1"
    )
    config.write_text(text.replace("{pass: 95, marginal: 75}", "{pass: 95, marginal: 60}"))
    base = ("--config", str(config), "--json")
    r = judge(sc.BUNDLED, "shifted", *base)
    data = strict_json(r.stdout)
    assert data["verdict"] == "marginal" and data["score"] == pytest.approx(66.67)
    assert r.exit_code == 1
    assert judge(sc.BUNDLED, "shifted", *base, "--marginal-is", "pass").exit_code == 0


def test_prometheus_down_is_exit_4_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLSRE_PROMETHEUS_URL", refused_url())
    monkeypatch.setenv("MLSRE_PROMETHEUS_RETRIES", "0")
    report = tmp_path / "summary.md"
    r = judge(sc.BUNDLED, "same", "--markdown", str(report))
    assert r.exit_code == 4
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("error: metric p99-latency (") and "Traceback" not in r.stderr
    assert len([x for x in lines if x.startswith("error:")]) == 1
    md = report.read_text()  # the CI summary says why there is no verdict
    assert md.startswith("## ❔ Canary fraud-same version 5 vs 4: COULD NOT JUDGE")
    assert "metric p99-latency" in md


def test_prometheus_answering_html_is_exit_4(
    faulty: FaultyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSRE_PROMETHEUS_URL", faulty.url + "/html200")
    r = judge(sc.BUNDLED, "same")
    assert r.exit_code == 4
    assert r.stderr.startswith("error: metric ") and "Traceback" not in r.stderr


GATE_RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: gate
title: Canary gate
failure_mode: bad-deploy
inputs:
  model: {required: true}
steps:
  - id: judge
    title: Judge the canary
    uses: canary.judge
    with:
      model: "{{ inputs.model }}"
      canary: "5"
      baseline: "4"
      config: canary.yaml
      lookback: 45m
      marginal_is: pass
    guidance: Fails when the canary is worse than the baseline on a critical metric.
"""


@pytest.mark.parametrize(("case", "status"), [("same", "passed"), ("worse", "failed")])
def test_canary_judge_step_with_a_workspace_config(
    canary_prometheus: str, isolated: Path, monkeypatch: pytest.MonkeyPatch, case: str, status: str
) -> None:
    from mlsre.canary.defaults import DEFAULT_CONFIG

    (isolated / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{canary_prometheus}'}}\nrunbook_paths: [./runbooks]\n"
    )
    (isolated / "runbooks").mkdir()
    (isolated / "runbooks" / "gate.yaml").write_text(GATE_RUNBOOK)
    # the workspace's own config: errors are not critical here
    (isolated / "canary.yaml").write_text(
        DEFAULT_CONFIG.replace(
            "    critical: true\n    weight: 2\n  - name: prediction",
            "    weight: 2\n  - name: prediction",
        )
    )
    (isolated / "sub").mkdir()
    monkeypatch.chdir(isolated / "sub")  # the config path resolves from mlsre.yaml's folder
    r = run(
        "runbook", "run", "gate", "-i", f"model={sc.BUNDLED.model(case)}", "--at", str(sc.END),
        "--open", "--non-interactive", "--json",
    )  # fmt: skip
    assert r.exit_code == (0 if status == "passed" else 1), r.output
    step = strict_json(r.stdout)["steps"][0]
    assert step["status"] == status, step["summary"]
    assert step["output"]["config"].endswith("canary.yaml")
    error_ratio = next(m for m in step["output"]["metrics"] if m["name"] == "error-ratio")
    assert error_ratio["critical"] is False
    table = step["output"]["table"]
    assert table["columns"][0] == "metric" and len(table["rows"]) == 3
