"""The validator on broken runbooks: every problem located at file:line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsre.runbook.validate import validate_file, validate_paths, validate_text
from tests.support.fixtures_runbooks import minimal_runbook

CORPUS = Path(__file__).parents[1] / "data" / "broken_runbooks"

# file -> (line, part of the message) that must be among its problems
EXPECTED: dict[str, list[tuple[int, str]]] = {
    "bad_indentation.yaml": [(9, "invalid YAML")],
    "tabs.yaml": [(7, "tab used for indentation")],
    "wrong_types.yaml": [
        (6, "'SEV9'"),
        (8, "default 5 is not a duration"),
        (14, "valid integer"),
        (15, "valid list"),
        (16, "'fix'"),
    ],
    "unknown_fields.yaml": [
        (4, "unknown field 'titel' — did you mean 'title'?"),
        (11, "unknown field 'qeury' — did you mean 'query'?"),
        (12, "unknown field 'gudance' — did you mean 'guidance'?"),
    ],
    "unknown_kind.yaml": [
        (9, "unknown step kind 'prometheus.qurey' — did you mean 'prometheus.query'?")
    ],
    "duplicate_ids.yaml": [(11, "duplicate step id 'p99' (first defined at line 7)")],
    "dangling_goto.yaml": [
        (10, "goto unknown step 'rollbak' — did you mean 'rollback'?"),
        (22, "needs unknown step 'p98'"),
    ],
    "template_errors.yaml": [
        (13, "template error: unexpected '}'"),
        (18, "undefined input 'modle' — did you mean 'model'?"),
        (18, "refers to step 'later', which has not run yet"),
        (19, "template error"),
        (23, "unknown filter 'defualt' — did you mean 'default'?"),
    ],
    "empty.yaml": [(1, "file is empty")],
    "binary_junk.yaml": [(1, "not UTF-8 text")],
    "yaml_bomb.yaml": [(5, "alias bomb")],  # where the expansion crosses the limit
    "needs_cycle.yaml": [(10, "dependency cycle: a -> b -> a")],
    "mitigation_without_confirm.yaml": [
        (7, "step changes a system (shell) but has no `confirm`"),
        (11, "(registry.rollback) but has no `confirm`"),
    ],
    "not_a_mapping.yaml": [(1, "must be a mapping")],
    "two_documents.yaml": [(4, "more than one YAML document")],
    "unreachable.yaml": [
        (12, "'never' is unreachable: its `when` is always false"),
        (17, "'gate' stops the run when it fails"),
        (22, "it needs 'never', which never runs"),
    ],
    "bad_params.yaml": [
        (9, "missing required field 'query'"),
        (9, "got 'fast'"),
        (13, "not among the choices"),
        (17, "valid list"),
    ],
    "python_tag.yaml": [(4, "could not determine a constructor")],
    "duplicate_keys.yaml": [(9, "duplicate key 'uses'")],
    "missing_fields.yaml": [(1, "'mlsre/v2'"), (1, "missing required field 'id'"), (2, "'Runbok'")],
}


def test_corpus_is_covered() -> None:
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_runbook_reports_located_problems(name: str) -> None:
    report = validate_file(CORPUS / name)
    assert report.runbook is None
    found = [(p.line, str(p)) for p in report.problems]
    for line, text in EXPECTED[name]:
        assert any(ln == line and text in msg for ln, msg in found), (
            f"{name}: no {line}: {text!r} in {found}"
        )
    for p in report.problems:
        assert str(p).startswith(f"{CORPUS / name}:{p.line}:{p.column}: ")


def test_all_files_reported_together() -> None:
    report = validate_paths([CORPUS])
    assert not report.ok
    assert {Path(p.path).name for p in report.problems} == set(EXPECTED)


def test_file_over_the_size_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    with big.open("wb") as fh:
        fh.write(b"apiVersion: mlsre/v1\n")
        fh.truncate(50 * 1024 * 1024)
    report = validate_file(big)
    assert [(p.line, p.column) for p in report.problems] == [(1, 1)]
    assert "50.0 MB" in report.problems[0].message


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    text = "steps: " + "[" * 5000 + "]" * 5000 + "\n"
    report = validate_text(text, "deep.yaml")
    assert report.problems
    assert report.problems[0].line == 1


def test_small_anchors_and_merge_keys_work() -> None:
    text = minimal_runbook("anchors") + (
        "  - &check\n"
        "    id: errors\n"
        "    title: errors\n"
        "    uses: prometheus.query\n"
        "    with: {query: up}\n"
        "    guidance: g\n"
        "  - <<: *check\n"
        "    id: errors-again\n"
    )
    report = validate_text(text, "anchors.yaml")
    assert report.problems == []
    assert report.runbook is not None
    assert [s.id for s in report.runbook.steps] == ["p99", "errors", "errors-again"]


def test_valid_runbook_has_no_problems_or_warnings() -> None:
    report = validate_text(minimal_runbook(), "minimal.yaml")
    assert report.problems == [] and report.warnings == []
    assert report.runbook is not None and report.runbook.steps[0].id == "p99"


def test_dashed_step_id_needs_brackets() -> None:
    text = minimal_runbook().replace("id: p99", "id: p99-latency") + (
        "  - id: after\n"
        "    uses: note\n"
        "    with: {text: '{{ steps.p99-latency.output }}'}\n"
        "    guidance: g\n"
    )
    problems = [str(p) for p in validate_text(text, "x.yaml").problems]
    assert any("steps['p99-latency']" in p for p in problems), problems


def test_promql_brace_next_to_template_gets_a_hint() -> None:
    text = minimal_runbook().replace(
        'x_bucket{model="{{ inputs.model | promql_escape }}"}', "x_bucket{{{ inputs.model }}}"
    )
    problems = [str(p) for p in validate_text(text, "x.yaml").problems]
    assert any("write '{ {{ ... }}'" in p for p in problems), problems


def test_backward_goto_and_self_need_are_refused() -> None:
    text = minimal_runbook() + (
        "  - id: again\n"
        "    uses: note\n"
        "    with: {text: t}\n"
        "    on_fail: goto p99\n"
        "    needs: [again]\n"
        "    guidance: g\n"
    )
    problems = [p.message for p in validate_text(text, "x.yaml").problems]
    assert any("jumps backwards" in p for p in problems), problems
    assert any("needs itself" in p for p in problems), problems


def test_step_results_fields_are_checked() -> None:
    text = minimal_runbook() + (
        "  - id: after\n"
        "    uses: note\n"
        "    when: steps.p99.faild\n"
        "    with: {text: '{{ steps.p99.output }}'}\n"
        "    guidance: g\n"
    )
    problems = [p.message for p in validate_text(text, "x.yaml").problems]
    assert problems == [
        "steps['p99'] has no 'faild' — did you mean 'failed'? "
        "(one of output, status, failed, passed, error, skipped, summary, samples, value)"
    ]


def test_templated_values_are_not_typed_at_validation() -> None:
    text = minimal_runbook() + (
        "  - id: versions\n"
        "    uses: registry.versions\n"
        "    with: {model: '{{ inputs.model }}', limit: '{{ inputs.limit }}'}\n"
        "    guidance: g\n"
    )
    text = text.replace("inputs:\n", "inputs:\n  limit: {type: integer, default: 3}\n")
    report = validate_text(text, "x.yaml")
    assert report.problems == []


def test_warnings_do_not_fail_validation() -> None:
    text = minimal_runbook().replace("    guidance: Latency of the model.\n", "")
    text = text.replace("inputs:\n", "inputs:\n  unused: {default: x}\n")
    report = validate_text(text, "minimal.yaml")
    assert report.problems == [] and report.runbook is not None
    assert {w.message.split(":")[0] for w in report.warnings} == {
        "no guidance",
        "input 'unused' is never used",
    }


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("expect: value < 0.3", "expect: " + "(" * 3000 + "value" + ")" * 3000),
        ("x_bucket", "{{ " + "[" * 3000 + "]" * 3000 + " }}"),
        ("      query: >-", "      extra: " + "[" * 950 + "]" * 950 + "\n      query: >-"),
    ],
    ids=["deep-expression", "deep-template", "deep-params"],
)
def test_deeply_nested_values_are_problems_not_crashes(old: str, new: str) -> None:
    text = minimal_runbook()
    assert old in text
    report = validate_text(text.replace(old, new), "deep.yaml")
    assert report.problems and report.runbook is None


def test_another_tools_yaml_is_one_clear_problem() -> None:
    text = "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x}\nspec: {}\n"
    report = validate_text(text, "slo.yaml")
    assert [str(p) for p in report.problems] == [
        "slo.yaml:1:1: apiVersion: not an mlsre runbook (apiVersion: openslo/v1, kind: SLO); "
        "runbooks use mlsre/v1"
    ]


def test_needs_with_non_string_items_is_a_type_problem() -> None:
    text = minimal_runbook() + (
        "  - id: b\n    uses: note\n    with: {text: t}\n    needs: [[], {a: 1}, p99]\n    guidance: g\n"
    )
    report = validate_text(text, "x.yaml")
    assert report.runbook is None
    assert {p.loc for p in report.problems} == {"steps[1].needs[0]", "steps[1].needs[1]"}
