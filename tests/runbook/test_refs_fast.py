"""The hand-written expression reader in mlsre.runbook.refs agrees with Jinja's parser.

`_fast_expression` answers for a subset of Jinja's expression syntax and says None otherwise;
whenever it answers, the Analysis must be exactly the one Jinja's AST gives (the validator's
messages, line numbers and flow reachability depend on it), and it must never answer for text
Jinja rejects, so that Jinja's error message is the one a person sees.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from mlsre.runbook import expr, refs
from mlsre.runbook.loader import bundled_dir
from mlsre.runbook.refs import Analysis, StepRef

N = int(os.environ.get("MLSRE_FUZZ_EXAMPLES", "300"))
FILES = sorted(bundled_dir().glob("*.yaml"))


def _agree(text: str) -> Analysis | None:
    """Assert the differential property for one text; return the fast answer."""
    jinja = refs._jinja_expression(text)
    fast = expr.fast_expression(text)
    if jinja.error is not None:
        assert fast is None, (text, jinja.error, fast)
    if fast is not None:
        assert fast == jinja, text
    if currently_in_test_context():  # for --hypothesis-show-statistics: how often each path
        event("fast path" if fast else f"Jinja only ({'error' if jinja.error else 'no error'})")
    return fast


# --- the bundled library -------------------------------------------------------------------------


def _library_expressions() -> list[tuple[str, str]]:
    found = []
    for path in FILES:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for step in doc["steps"]:
            check = (step.get("with") or {}).get("check") or {}
            for where, text in (
                ("when", step.get("when")),
                ("expect", step.get("expect")),
                ("with.check.expect", check.get("expect")),
            ):
                if isinstance(text, str):
                    found.append((f"{path.stem}:{step['id']}:{where}", text))
    return found


LIBRARY = _library_expressions()


def test_the_library_has_expressions_of_every_kind() -> None:
    wheres = {label.rsplit(":", 1)[1] for label, _ in LIBRARY}
    assert wheres == {"when", "expect", "with.check.expect"}
    assert len(LIBRARY) >= 50


@pytest.mark.parametrize(("label", "text"), LIBRARY, ids=[label for label, _ in LIBRARY])
def test_every_library_expression_takes_the_fast_path(label: str, text: str) -> None:
    # what analyze_expression reads (numbers blanked), the text itself, and the benchmark's
    # variant of it (bench/runbooks.py renames step ids and scales `value`)
    shape = refs._NUMBERS.sub(lambda m: m.group(0) if m.group(0)[0] in "'\"" else "0", text)
    bench = text.replace("value < ", "value * 1.042 < ").replace("'].", "-42'].")
    for variant in (shape, text, bench):
        assert _agree(variant) is not None, variant
    assert refs.analyze_expression(text) == refs._jinja_expression(text)


# --- explicit examples ---------------------------------------------------------------------------


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
    assert expr.fast_expression(text) == expected
    assert refs._jinja_expression(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "value is number",  # a test
        "a if b else c",
        "a ~ b",
        "[a, b]",
        "(a, b)",
        "{'a': 1}",
        "f(x)",
        "x[1:2]",
        "x | f(k=1)",
        "x | f.g",
        "x.0",
        "1_000 < x",
        "x < 1e3",
        "'a\\'b' == x",
        "'a' 'b'",
        "- not x",
        "- not",  # valid: Neg(Name 'not'); keywords as names are Jinja's business
        "x * in",
        "x < 007",  # `00` `7` in Jinja's lexer: an error
        "00.5 < x",  # a float in Jinja's lexer
        "x | f(*a)",
        "(" * 30 + "x" + ")" * 30,  # deep nesting is Jinja's (and its RecursionError's) call
        " + ".join(["x"] * 150),
        "é < 1",
        "x < 1\u00a0",
        # invalid: Jinja's error message, not ours
        "",
        "value <",
        "steps[",
        "x )",
        "a b",
        "a = b",
        "x | 1",
        "'unterminated",
        "x}}",
        "a not b",
        "a + not b",
    ],
)
def test_outside_the_subset_is_left_to_jinja(text: str) -> None:
    assert expr.fast_expression(text) is None
    _agree(text)


def test_an_error_still_comes_from_jinja() -> None:
    out = refs.analyze_expression("value <\n  ")
    assert out.error is not None and out.error == refs._jinja_expression("value <\n  ").error
    assert out.error_line == 1


# --- differential fuzzing ------------------------------------------------------------------------

NAMES = ["x", "value", "ratio", "inputs", "steps", "incident", "_a1", "True", "none", "false"]
KEYWORDS = ["and", "or", "not", "in", "is", "if", "else"]
ATTRS = ["failed", "output", "a", "max_drop", "and", "not", "in", "if", "true", "_"]
NUMBERS = ["0", "1", "12", "0.25", "1.5", "14.4", "10.0"]
OTHER_NUMBERS = ["007", "00.5", "1_000", "1e3", "1.5e-3", "0x1f", "0b1", "1.", ".5", "1e"]
STRINGS = ["'a'", '"b-c"', "'1h'", "''", "'p99-vs-before'", "'x\ny'", '"it\'s"', "'é'"]
OTHER_STRINGS = ["'a\\'b'", '"\\n"', "'unterminated", '"']
FILTERS = ["abs", "round", "default", "float", "not", "in", "is", "if"]
SUBSET_BINARY = ["and", "or", "==", "!=", "<", "<=", ">", ">=", "in", "not in"]
SUBSET_BINARY += ["+", "-", "*", "/", "//", "%", "**"]
OTHER_TOKENS = ["~", "is", "if", "else", "=", ":", ",", "(", ")", "[", "]", "{", "}", ".", "|"]
OTHER_TOKENS += ["!", "\\", "$", "é", "}}", "{{", "*", "**", "is not", "not", ";", "\u00a0"]
SEPARATORS = [" ", " ", " ", "", "\n", "  ", "\r\n", "\t", "\r", "\n\n  "]
Tokens = list[str]


def _starts_with_not(tokens: Tokens) -> bool:
    return tokens[0] == "not"


def _parens(tokens: Tokens) -> Tokens:
    return ["(", *tokens, ")"]


def _binary(left: Tokens, op: str, right: Tokens) -> Tokens:
    # `not` begins an operand of and/or only; elsewhere Jinja reads it as a name
    if op not in ("and", "or") and _starts_with_not(right):
        right = _parens(right)
    return [*left, op, *right]


def _postfixable(tokens: Tokens) -> Tokens:
    # `.a`/`[i]` after a filter is a syntax error; after `a + b` it applies to `b`, fine
    return _parens(tokens) if "|" in tokens else tokens


def _signed(sign: str, operand: Tokens) -> Tokens:
    return [sign, *(_parens(operand) if _starts_with_not(operand) else operand)]


def _filtered(
    operand: Tokens, name: str, args: list[Tokens] | None, trailing_comma: bool
) -> Tokens:
    out = [*operand, "|", name]
    if args is not None:
        out.append("(")
        for i, arg in enumerate(args):
            out += [*([","] if i else []), *arg]
        out += [","] if trailing_comma and args else []
        out.append(")")
    return out


SUBSET_ATOMS: st.SearchStrategy[Tokens] = st.one_of(
    st.sampled_from(NAMES).map(lambda t: [t]),
    st.sampled_from(NUMBERS + STRINGS).map(lambda t: [t]),
    st.tuples(st.sampled_from(["inputs", "steps"]), st.sampled_from(ATTRS)).map(
        lambda t: [t[0], ".", t[1]]
    ),
    st.tuples(st.sampled_from(["inputs", "steps"]), st.sampled_from(STRINGS + NUMBERS)).map(
        lambda t: [t[0], "[", t[1], "]"]
    ),
)


def _subset_forms(children: st.SearchStrategy[Tokens]) -> st.SearchStrategy[Tokens]:
    return st.one_of(
        st.builds(_binary, children, st.sampled_from(SUBSET_BINARY), children),
        st.builds(lambda c: ["not", *c], children),
        st.builds(_signed, st.sampled_from(["-", "+"]), children),
        children.map(_parens),
        st.builds(lambda c, a: [*_parens(c), ".", a], children, st.sampled_from(ATTRS)),
        st.builds(lambda c, a: [*_postfixable(c), ".", a], children, st.sampled_from(ATTRS)),
        st.builds(lambda c, i: [*_postfixable(c), "[", *i, "]"], children, children),
        st.builds(
            _filtered,
            children,
            st.sampled_from(FILTERS),
            st.none() | st.lists(children, max_size=3),
            st.booleans(),
        ),
    )


def _other_forms(children: st.SearchStrategy[Tokens]) -> st.SearchStrategy[Tokens]:
    """Valid Jinja outside the subset, and junk."""
    return st.one_of(
        st.builds(lambda a, b, c: [*a, "if", *b, "else", *c], children, children, children),
        st.builds(lambda a, b: [*a, "if", *b], children, children),
        st.builds(lambda a, t: [*a, "is", t], children, st.sampled_from(["defined", "number"])),
        st.builds(lambda a, b: [*a, "~", *b], children, children),
        st.builds(lambda a, b: ["[", *a, ",", *b, "]"], children, children),
        st.builds(lambda a, b: ["(", *a, ",", *b, ")"], children, children),
        st.builds(lambda a, b: ["{", *a, ":", *b, "}"], children, children),
        st.builds(lambda a, b: [*a, "(", *b, ")"], children, children),
        st.builds(lambda a, b: [*a, "[", *b, ":", "]"], children, children),
        st.builds(lambda a, b: [*a, "|", "f", "(", "k", "=", *b, ")"], children, children),
        st.builds(lambda a: [*a, "|", "f", ".", "g"], children),
        st.builds(lambda a, t: [*a, ".", t], children, st.sampled_from(NUMBERS)),
        st.sampled_from(OTHER_NUMBERS + OTHER_STRINGS + KEYWORDS).map(lambda t: [t]),
    )


SUBSET: st.SearchStrategy[Tokens] = st.recursive(SUBSET_ATOMS, _subset_forms, max_leaves=10)
ANYTHING: st.SearchStrategy[Tokens] = st.recursive(
    SUBSET_ATOMS,
    lambda children: st.one_of(  # twice the subset: a little other syntax goes a long way
        _subset_forms(children), _subset_forms(children), _other_forms(children)
    ),
    max_leaves=10,
)


def _join(data: st.DataObject, tokens: Tokens, separators: list[str]) -> str:
    seps = data.draw(st.lists(st.sampled_from(separators), min_size=len(tokens) + 1))
    return "".join(sep + tok for sep, tok in zip(seps, [*tokens, ""], strict=False))


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_subset_always_takes_the_fast_path(data: st.DataObject) -> None:
    """Valid expressions of the subset, tokens apart: the fast path reads them all, as Jinja.
    Glued together (`not`+`x` is `notx`, `1`+`.`+`5` is `1.5`) they must still agree."""
    tokens = data.draw(SUBSET)
    text = _join(data, tokens, [sep for sep in SEPARATORS if sep])
    assert refs._jinja_expression(text).error is None, text
    assert _agree(text) is not None, text
    _agree(_join(data, tokens, SEPARATORS))


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fast_path_agrees_with_jinja_on_anything(data: st.DataObject) -> None:
    """Any mix of the subset, other syntax and junk, tokens glued or apart, then mutated."""
    tokens = data.draw(ANYTHING)
    for _ in range(data.draw(st.integers(0, 2))):
        i = data.draw(st.integers(0, len(tokens)))
        junk = st.sampled_from(OTHER_TOKENS + SUBSET_BINARY + NAMES + NUMBERS + STRINGS)
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            tokens = [*tokens[:i], data.draw(junk), *tokens[i:]]
        elif tokens[i:]:
            tokens = [
                *tokens[:i],
                *([data.draw(junk)] if action == "replace" else []),
                *tokens[i + 1 :],
            ]
    _agree(_join(data, tokens, SEPARATORS))


@settings(max_examples=N, deadline=None)
@given(st.text(alphabet="ab.[]()|'\" -+*/<=>!~,:\n0123456789_e", max_size=30))
def test_fast_path_agrees_with_jinja_on_random_text(text: str) -> None:
    _agree(text)


def test_filters_known_without_jinja_are_all_real_jinja_filters() -> None:
    assert refs._JINJA_31_FILTERS.issubset(refs.known_filters())


def test_validating_the_library_does_not_import_jinja() -> None:
    # Importing Jinja costs about 0.1 s; every library template and expression has a fast path.
    code = (
        "import sys\n"
        "from mlsre.runbook.loader import bundled_dir\n"
        "from mlsre.runbook.validate import validate_paths\n"
        "report = validate_paths([bundled_dir()], use_cache=False)\n"
        "assert report.ok and len(report.files) >= 8\n"
        "print('jinja2' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
