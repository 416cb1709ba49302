"""The blameless lint against a corpus of blameful and blameless sentences, and its CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlsre.postmortem.lint import RULES, lint_text, mask
from tests.support.fixtures_postmortem import PostmortemEnv
from tests.support.helpers import run

NAMES = ["Dana Kim", "luis", "alertmanager", "mark"]

BLAMEFUL = [
    ("The outage was caused by human error.", "human-error"),
    ("Root cause: operator error during the rollout.", "human-error"),
    ("It was the engineer's mistake to skip the canary.", "human-error"),
    ("The on-call should have checked the dashboard.", "should-have"),
    ("We shouldn't have promoted version 4 on a Friday.", "should-have"),
    ("Somebody should've looked at the drift report.", "should-have"),
    ("If only the alert had fired earlier.", "if-only"),
    ("A careless edit of the feature list broke scoring.", "careless"),
    ("The change was made carelessly.", "careless"),
    ("This was negligent handling of the model registry.", "negligent"),
    ("Gross negligence in the release process.", "negligent"),
    ("The on-call engineer failed to notice the alert.", "person-failed-to"),
    ("He failed to roll back in time.", "person-failed-to"),
    ("We failed to read the runbook.", "person-failed-to"),
    ("Luis failed to rotate the key.", "person-failed-to"),
    ("Dana simply failed to escalate.", "person-failed-to"),
    ("Everyone failed to notice that country_lookup was stale.", "person-failed-to"),
    ("The latency spike was caused by Dana Kim.", "person-as-cause"),
    ("The regression was introduced by luis.", "person-as-cause"),
    ("The rollback was delayed because of luis.", "person-as-cause"),
    ("Dana's change caused the regression.", "person-as-cause"),
    ("It was Luis's fault.", "person-as-cause"),
    ("Dana Kim is to blame for the outage.", "person-as-cause"),
    ("The stale table went unnoticed due to Luis.", "person-as-cause"),
]

BLAMELESS = [
    "The deploy failed to start because the image was missing.",
    "The canary job failed to complete within its timeout.",
    "Version 4 failed to load the country_lookup table.",
    "Prometheus failed to scrape the serving pods for 3 minutes.",
    "The runbook did not include a check of feature freshness.",
    "Dana Kim acknowledged the page two minutes after it fired.",
    "Dana Kim triggered the rollback at 17:57; the runbook was started by luis.",
    "Luis rolled the champion alias back to version 3.",
    "The regression was caused by version 4 of the model.",
    "Alerting on p99 per version would have shown this sooner.",
    "It could have been worse: traffic was low at that hour.",
    "The user errors (HTTP 4xx) stayed flat throughout.",
    "Mark the alert as resolved once the error ratio recovers.",  # 'mark' the verb, not Mark
    "alertmanager caused the page to fire at 17:41.",  # a tool, not a person
    "The error budget shows what the incident cost.",
    "The on-call engineer followed the runbook and rolled back.",
    "The service failed to read its config after the restart.",
    "The job failed to check the lock file.",
    "2% of users failed to check out; customers failed to complete payments.",
    "The on-call rotation failed to page anyone: the schedule was empty.",
]


@pytest.mark.parametrize(("sentence", "rule"), BLAMEFUL)
def test_blameful_sentence_is_flagged_with_its_rule(sentence: str, rule: str) -> None:
    report = lint_text(sentence, names=NAMES)
    assert [f.rule for f in report.findings] == [rule], sentence
    f = report.findings[0]
    assert f.why == RULES[rule].why and f.suggestion == RULES[rule].suggestion
    assert sentence[f.column - 1 :].lower().startswith(f.text.split()[0].lower())


@pytest.mark.parametrize("sentence", BLAMELESS)
def test_blameless_sentence_is_not_flagged(sentence: str) -> None:
    report = lint_text(sentence, names=NAMES)
    assert report.findings == [], [(f.rule, f.text) for f in report.findings]


def test_line_and_column_point_at_the_phrase_even_across_a_line_break() -> None:
    text = "# INC-7\n\nThe root cause was\nhuman error, and the on-call\n  should\n  have paged sooner.\n"
    report = lint_text(text)
    found = {(f.rule, f.line, f.column, f.text) for f in report.findings}
    assert found == {
        ("human-error", 4, 1, "human error"),
        ("should-have", 5, 3, "should have"),
    }
    assert report.findings[0].context == "human error, and the on-call"


def test_code_comments_links_and_urls_are_not_prose() -> None:
    text = (
        "Run `grep 'human error' logs` to count.\n"
        "```\n# the engineer should have seen this\n```\n"
        "<!-- if only: a comment\nover two lines -->\n"
        "See [the report](https://example.com/careless-negligent) and https://x.example/if-only.\n"
    )
    assert lint_text(text).findings == []
    masked = mask(text)
    assert len(masked) == len(text) and masked.count("\n") == text.count("\n")


def test_allowlist_takes_phrases_and_rule_ids() -> None:
    text = "The on-call should have paged. Luis failed to rotate the key. It was human error."
    names = ["luis"]
    assert {f.rule for f in lint_text(text, names=names).findings} == {
        "should-have",
        "person-failed-to",
        "human-error",
    }
    report = lint_text(text, names=names, allowlist=["should-have", "LUIS FAILED TO rotate"])
    assert [f.rule for f in report.findings] == ["human-error"]
    assert report.allowlisted == 2


def test_the_bundled_template_text_itself_is_blameless(tmp_path: Path) -> None:
    template = Path(__file__).resolve().parents[2] / "templates" / "postmortem.md.j2"
    assert lint_text(template.read_text(), names=NAMES).findings == []


def test_lint_cli_on_a_file_strict_and_json(tmp_path: Path) -> None:
    good = tmp_path / "good.md"
    good.write_text("# INC-3: slow scoring\n\nThe deploy failed to start.\n")
    r = run("postmortem", "lint", str(good), "--strict")
    assert r.exit_code == 0, r.output
    assert "no blameful language" in r.stdout

    bad = tmp_path / "bad.md"
    bad.write_text("# INC-3: slow scoring\n\nIt was human error.\nIf only we had known.\n")
    r = run("postmortem", "lint", str(bad))
    assert r.exit_code == 0, r.output  # findings are warnings unless --strict
    assert f"{bad}:3:8: human-error" in r.stdout and f"{bad}:4:1: if-only" in r.stdout
    assert "why:" in r.stdout and "try:" in r.stdout

    r = run("postmortem", "lint", str(bad), "--strict", "--json")
    assert r.exit_code == 1, r.output
    data = json.loads(r.stdout)
    assert [(f["line"], f["column"], f["rule"]) for f in data["findings"]] == [
        (3, 8, "human-error"),
        (4, 1, "if-only"),
    ]


def test_lint_cli_allowlist_from_config(tmp_path: Path) -> None:
    (tmp_path / "work" / "mlsre.yaml").write_text("postmortems:\n  lint_allowlist: ['if only']\n")
    bad = tmp_path / "bad.md"
    bad.write_text("If only we had known.\n")
    r = run("postmortem", "lint", str(bad), "--strict")
    assert r.exit_code == 0, r.output


def test_lint_cli_missing_file_is_one_line_error(tmp_path: Path) -> None:
    r = run("postmortem", "lint", str(tmp_path / "nope.md"))
    assert r.exit_code == 1
    assert "no file" in r.stderr and "Traceback" not in r.stderr


def test_lint_cli_on_a_file_knows_the_people_of_the_incident_it_names(
    pm_env: PostmortemEnv, tmp_path: Path
) -> None:
    # lower case: only a name the incident knows is a person (a capitalised one always is)
    text = "The rollback was late because of luis.\n"
    doc = tmp_path / "draft.md"
    cfg = ("--config", str(pm_env.ws / "mlsre.yaml"))
    doc.write_text("# Draft\n\n" + text)
    assert (
        run(*cfg, "postmortem", "lint", str(doc), "--strict").exit_code == 0
    )  # no incident: no names
    doc.write_text("# INC-1: fraud-detector p99\n\n" + text)
    r = run(*cfg, "postmortem", "lint", str(doc), "--strict")
    assert r.exit_code == 1 and f"{doc}:3:23: person-as-cause" in r.stdout


def test_strict_lint_fails_while_a_section_still_says_to_write(tmp_path: Path) -> None:
    doc = tmp_path / "pm.md"
    doc.write_text(
        "# INC-3: slow scoring\n\n## Summary\n\nScoring was slow for 20 minutes.\n\n"
        "## Impact\n\n> ✏️ **TO WRITE:** who was affected.\n"
    )
    assert run("postmortem", "lint", str(doc)).exit_code == 0  # not strict: a reminder only
    r = run("postmortem", "lint", str(doc), "--strict")
    assert r.exit_code == 1, r.output
    assert f"{doc}:9: to-write: 'Impact' still says TO WRITE" in r.stdout
    data = json.loads(run("postmortem", "lint", str(doc), "--strict", "--json").stdout)
    assert data["to_write"] == [[9, "Impact"]] and data["findings"] == []
    doc.write_text(doc.read_text().replace("> ✏️ **TO WRITE:** who", "Checkout users saw"))
    r = run("postmortem", "lint", str(doc), "--strict")
    assert r.exit_code == 0, r.output
