"""One rule decides which steps need a person's yes: the validator and the engine agree on it,
for every built-in step kind in every phase (issue 14's approval bug: a mitigation the validator
passed without `confirm` was then left 'awaiting approval' by an unattended run)."""

from __future__ import annotations

import json
from pathlib import Path

from mlsre.runbook.validate import validate_text
from mlsre.steps.catalog import default_catalog
from tests.support.helpers import run

RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: person-in-the-loop
title: Mitigations a person already carries out
failure_mode: latency
steps:
  - id: look
    title: Look first
    uses: note
    with: {text: diagnose}
    guidance: A diagnosis.
  - id: tell
    title: Tell the team
    phase: mitigate
    uses: note
    with: {text: "posted in #incidents"}
    guidance: Nothing changes in any system.
  - id: drain
    title: Drain the queue by hand
    phase: mitigate
    uses: manual
    with: {question: Is the queue drained?}
    guidance: The person does it.
  - id: settle
    title: Let it settle
    phase: mitigate
    uses: wait
    with: {check: {uses: note, with: {text: settled}}, interval: 1s, deadline: 2s}
    guidance: Waiting changes nothing.
"""


def test_the_validator_and_the_engine_agree_on_person_in_the_loop_mitigations(
    isolated: Path,
) -> None:
    report = validate_text(RUNBOOK, "person-in-the-loop.yaml")
    assert report.problems == [], [str(p) for p in report.problems]
    (isolated / "mlsre.yaml").write_text("runbook_paths: [./runbooks]\n")
    (isolated / "runbooks").mkdir()
    (isolated / "runbooks" / "person-in-the-loop.yaml").write_text(RUNBOOK)
    r = run("runbook", "run", "person-in-the-loop", "--no-incident", "--non-interactive", "--json")
    assert r.stdout.strip(), r.output
    summaries = {s["step"]: s["summary"] for s in json.loads(r.stdout)["steps"]}
    assert not any("awaiting approval" in text for text in summaries.values()), summaries


def test_every_kind_in_every_phase_one_answer() -> None:
    reg = default_catalog()
    for name in reg.names():
        cls = reg.kinds[name]
        for phase in ("diagnose", "mitigate", "verify"):
            expected = cls.mutating or (phase == "mitigate" and not cls.person_in_loop)
            assert cls().needs_confirm(None, phase) is expected, (name, phase)
    assert not reg.instance("note").needs_confirm(None, "mitigate")
    assert reg.instance("prometheus.query").needs_confirm(None, "mitigate")
    assert reg.instance("registry.rollback").needs_confirm(None, "diagnose")


def test_a_query_as_a_mitigation_needs_confirm_in_both(isolated: Path) -> None:
    text = RUNBOOK.replace(
        '    uses: note\n    with: {text: "posted in #incidents"}',
        "    uses: prometheus.query\n    with: {query: up}",
    )
    report = validate_text(text, "person-in-the-loop.yaml")
    assert any("mitigation step has no `confirm`" in p.message for p in report.problems)
