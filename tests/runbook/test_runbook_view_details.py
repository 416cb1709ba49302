"""`runbook show -i` fills the inputs into confirm texts; `runbook kinds KIND` explains each
parameter (its meaning and default), in the terminal view and in JSON."""

from __future__ import annotations

import json

from mlsre.runbook.view import describe_kinds
from tests.support.helpers import ok, run


def test_show_with_inputs_renders_the_confirm_text() -> None:
    raw = ok("runbook", "show", "accuracy-decay").stdout
    assert "confirm: Start a retraining run of {{ inputs.model }}" in raw
    shown = ok("runbook", "show", "accuracy-decay", "-i", "model=fraud-detector").stdout
    assert "confirm: Start a retraining run of fraud-detector on recent labelled data?" in shown
    assert "{{ inputs.model }}" not in shown.split("confirm:", 1)[1].splitlines()[0]
    data = json.loads(
        ok("runbook", "show", "accuracy-decay", "-i", "model=fraud-detector", "--json").stdout
    )
    confirms = [s["confirm"] for s in data["steps"] if s["confirm"]]
    assert confirms and all("{{" not in c for c in confirms)


def test_kinds_of_one_kind_shows_each_parameter_meaning_and_default() -> None:
    out = ok("runbook", "kinds", "prometheus.compare").stdout
    lines = out.splitlines()
    assert lines[0].startswith("prometheus.compare: Now vs. a baseline")
    assert lines[1] == "PARAMETER\tTYPE\tREQUIRED\tDEFAULT\tMEANING"
    rows = {ln.split("\t")[0]: ln.split("\t") for ln in lines[2:]}
    assert rows["query"][1:4] == ["str", "yes", ""]
    assert rows["baseline"][1:4] == ["offset|incident|version_change|at", "", "offset"]
    assert rows["lookback"][3] == "24h" and "how far back" in rows["lookback"][4]
    one = json.loads(ok("runbook", "kinds", "registry.rollback", "--json").stdout)
    assert one["mutating"] is True
    assert {p["name"]: p["default"] for p in one["parameters"]}["alias"] == "champion"
    r = run("runbook", "kinds", "prometheus.nope")
    assert r.exit_code == 1 and "no step kind named 'prometheus.nope'" in r.stderr


def test_every_parameter_of_every_bundled_kind_says_what_it_means() -> None:
    missing = [
        f"{k['name']}.{p['name']}"
        for k in describe_kinds()["kinds"]
        for p in k["parameters"]
        if not p["description"].strip()
    ]
    assert not missing, missing


def test_hint_for_a_run_without_an_incident_names_a_real_one() -> None:
    ok("init", "ws")
    cfg = ("--config", "ws/mlsre.yaml")
    r = run(*cfg, "runbook", "run", "latency-regression", "-i", "model=fraud-detector")
    assert r.exit_code == 2 or r.exit_code == 1, r.output
    assert "no incident is active: add --open" in r.stderr
    ok(*cfg, "incident", "open", "churn slow", "--model", "churn-model")
    ok(*cfg, "incident", "open", "fraud p99 7x", "--model", "fraud-detector")
    ok(*cfg, "incident", "open", "churn errors", "--model", "churn-model")
    r = run(*cfg, "runbook", "run", "latency-regression", "-i", "model=fraud-detector")
    assert "add --incident INC-2 (active: fraud p99 7x), or --open" in r.stderr  # its model
    assert "INC-7" not in r.stderr
