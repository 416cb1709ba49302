"""What a `when:`/`expect:` expression refers to, as the validator reads it (Jinja's parser):
the names, the steps and their fields, and "only runs when X failed" (the validator's messages,
line numbers and flow reachability depend on it)."""

from __future__ import annotations

import pytest

from mlsre.runbook import refs
from mlsre.runbook.refs import Analysis, StepRef


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "steps['p99-vs-before-deploy'].failed",
            Analysis(
                names=frozenset({"steps"}),
                steps=(StepRef("p99-vs-before-deploy", "failed", 1),),
                only_failed_of="p99-vs-before-deploy",
            ),
        ),
        (
            "(steps.decide.failed)",  # parentheses leave the node alone
            Analysis(
                names=frozenset({"steps"}),
                steps=(StepRef("decide", "failed", 1),),
                only_failed_of="decide",
            ),
        ),
        (
            "steps['a'].failed and inputs.x",
            Analysis(
                names=frozenset({"steps", "inputs"}),
                inputs=(("x", 1),),
                steps=(StepRef("a", "failed", 1),),
            ),
        ),
        (
            "not steps.a.failed",
            Analysis(names=frozenset({"steps"}), steps=(StepRef("a", "failed", 1),)),
        ),
        (
            "-steps.a.failed | abs",  # the filter takes `-steps.a.failed`: not only_failed_of
            Analysis(
                names=frozenset({"steps"}),
                steps=(StepRef("a", "failed", 1),),
                filters=(("abs", 1),),
            ),
        ),
        (
            "(ratio - 1) | abs < 0.2",
            Analysis(names=frozenset({"ratio"}), filters=(("abs", 1),)),
        ),
        (
            "delta > -inputs.max_accuracy_drop",
            Analysis(names=frozenset({"delta", "inputs"}), inputs=(("max_accuracy_drop", 1),)),
        ),
        (
            "budget_remaining > 0 and burn_rate['1h'] < 14.4",
            Analysis(names=frozenset({"budget_remaining", "burn_rate"})),
        ),
        (
            # bare refs come after the ones with a field; steps['a']['b'] is step a, no field
            "steps.b and steps.c.output == steps['a']['b']",
            Analysis(
                names=frozenset({"steps"}),
                steps=(StepRef("c", "output", 1), StepRef("b", None, 1), StepRef("a", None, 1)),
            ),
        ),
        (
            # filters outermost first, as Jinja's walk finds them; names in arguments count
            "x | round(digits) | default(inputs.y, true)",
            Analysis(
                names=frozenset({"x", "digits", "inputs"}),
                inputs=(("y", 1),),
                filters=(("default", 1), ("round", 1)),
            ),
        ),
        (
            "true or None or False",  # constants, not names
            Analysis(),
        ),
        (
            "inputs.a\n  or steps['b']\n     .failed\n| bool",  # a lookup's line is its `.`/`[`
            Analysis(
                names=frozenset({"inputs", "steps"}),
                inputs=(("a", 1),),
                steps=(StepRef("b", "failed", 3),),
                filters=(("bool", 4),),
            ),
        ),
        (
            "x\r\n.y\r.z",  # \r\n and \r break lines, as Jinja's lexer counts them
            Analysis(names=frozenset({"x"})),
        ),
        ("steps[0].failed", Analysis(names=frozenset({"steps"}))),
    ],
)
def test_examples(text: str, expected: Analysis) -> None:
    assert refs.analyze_expression(text) == expected


def test_an_error_names_its_line() -> None:
    out = refs.analyze_expression("value <\n  ")
    assert out.error is not None and out.error == refs._jinja_expression("value <\n  ").error
    assert out.error_line == 1


def test_filters_known_without_jinja_are_all_real_jinja_filters() -> None:
    assert refs._JINJA_31_FILTERS.issubset(refs.known_filters())
