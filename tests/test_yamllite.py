"""The fast YAML reader reads exactly what PyYAML reads, or declines.

Every text is read twice: by ``mlsre.yamllite`` and by the PyYAML path it short-cuts. When the
fast reader answers, the data must be identical, types included (``1``, ``1.0`` and ``True`` are
different answers). When PyYAML reports an error, the fast reader must have declined.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsre import yamllite
from mlsre.runbook.loader import bundled_dir
from mlsre.runbook.validate import validate_text
from mlsre.yamlfile import MAX_NODES, YamlProblems, _build, _compose, parse_yaml

N = int(os.environ.get("MLSRE_FUZZ_EXAMPLES", "400"))
REPO = Path(__file__).resolve().parent.parent


def typed(value: Any) -> Any:
    """``value`` with every scalar's type spelled out, so 1 == 1.0 == True no longer holds."""
    if isinstance(value, dict):
        return {"dict": [(typed(k), typed(v)) for k, v in value.items()]}
    if isinstance(value, list):
        return {"list": [typed(v) for v in value]}
    return (type(value).__name__, repr(value))


def pyyaml(text: str) -> Any:
    """PyYAML's reading of ``text``, or YamlProblems."""
    nodes = _compose(text, "t.yaml")
    if len(nodes) != 1 or nodes[0] is None:
        raise YamlProblems([])
    return _build(nodes[0], "t.yaml", [MAX_NODES], text).data


def check_same(text: str) -> bool:
    """Assert the two readers agree on ``text``; True when the fast reader answered."""
    fast = yamllite.parse(text, MAX_NODES)
    try:
        slow = pyyaml(text)
    except YamlProblems:
        assert fast is None, f"fast reader accepted what PyYAML rejects:\n{text}"
        return False
    except RecursionError:
        return False
    if fast is not None:
        assert typed(fast[0]) == typed(slow), f"readers differ on:\n{text}"
    return fast is not None


def test_every_bundled_runbook_and_slo_takes_the_fast_path() -> None:
    files = [*bundled_dir().glob("*.yaml"), *(REPO / "mlsre/_bundled/slos").glob("*.yaml")]
    assert len(files) >= 8
    for path in files:
        text = path.read_text(encoding="utf-8")
        if "\n---" in text:
            continue  # multi-document OpenSLO files are PyYAML's
        assert check_same(text), f"{path.name} fell back to PyYAML"


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: -2\nc: 1.5\nd: true\ne: ~\nf: null\ng: 'x'\nh: \"y\"\ni: yes\nj: Off\n",
        "a:\n- x\n- y: 1\n  z: [p, 'q r', 2]\nb: {k: v, n: 3, s: 'it''s', d: \"{{ x }}\"}\n",
        "lit: |\n  one\n\n  two\n   three\nclip: |\n  x\n\n\nnext: 1\n",
        "keep: |+\n  x\n\n\nstrip: |-\n  x\n\n",
        "fold: >\n  a\n  b\n\n  c\nfold2: >-\n  a b\n  c  \n",
        "# top\nsteps:  # the steps\n  - id: a  # first\n    with: {q: 'x'}\n\n  - id: b\n",
        "x: a#b\ny: value # comment\nz: 'q' # c\n",
        "deep:\n  deeper:\n    deepest:\n      - - 1\n",
        "k: [a, [b, c], {d: e}]\n",
        "n: 012\no: 0x1f\np: 1_000\nq: 2001-12-14\nr: .inf\ns: 1e5\nt: +1\n",
    ],
)
def test_examples_agree(text: str) -> None:
    check_same(text)


def test_the_fast_path_answers_for_the_usual_shapes() -> None:
    for text in [
        "a: 1\nb: [x, 'y']\nc: {d: \"e\"}\n",
        "s:\n- a\n- b: 1\n  c: 2\nt:\n  - x\n",
        "l: |\n  x\n  y\nf: >-\n  x\n  y\n",
    ]:
        assert check_same(text), text


def test_documents_read_fast_still_report_exact_positions() -> None:
    text = (bundled_dir() / "latency-regression.yaml").read_text(encoding="utf-8")
    broken = text.replace("    uses: registry.compare\n", "    uses: registry.comapre\n")
    doc = parse_yaml(broken, "x.yaml")
    assert doc.marks == _build(_compose(broken, "x.yaml")[0], "x.yaml", [MAX_NODES], broken).marks
    report = validate_text(broken, "latency-regression.yaml")
    line = broken.splitlines().index("    uses: registry.comapre") + 1
    assert [(p.line, p.column) for p in report.problems][:1] == [(line, 5)]
    assert "did you mean 'registry.compare'" in report.problems[0].message


# -- generated documents ------------------------------------------------------------------

CLEAN_KEYS = st.sampled_from(["id", "a", "b-c", "d.e", "f/g", "_z", "1h", "with", "steps"])
KEYS = st.one_of(CLEAN_KEYS, st.sampled_from(["on", "1", "null", "true", "x y", "'q'", "k:"]))
PLAIN = st.text(alphabet="ab 01.-:#'\"{}[],&*!|>%@`?~+_\\/", min_size=1, max_size=12)
WORDS = st.sampled_from(
    [
        "x",
        "two words",
        "-1",
        "0",
        "012",
        "1.5",
        "-0.0",
        "1e5",
        "1.0e+3",
        ".5",
        "yes",
        "No",
        "~",
        "null",
        "2001-12-14",
        ".inf",
        "1_0",
        "0x1F",
        "1:30",
        "a: b",
        "a #b",
        "a#b",
        "http://x:9090/y",
        "'single'",
        "'it''s'",
        '"double"',
        '"esc\\n"',
        "'open",
        "{{ inputs.x }}",
        'rate(x{a="b"}[5m])',
        "[a, b]",
        "[a, [b, 'c'], {d: 1}]",
        "{a: b, c: 'd e', f: \"g\"}",
        "{a: {b: c}}",
        "{a: }",
        "[a,]",
        "{a: b,}",
        "&anchor x",
        "*alias",
        "!!str 1",
        "- x",
        "x:",
    ]
)
SCALAR = st.one_of(WORDS, PLAIN)
CLEAN_SCALAR = st.sampled_from(
    [
        *["x", "two words", "-1", "0", "1.5", "yes", "~", "'s'", "'it''s'", '"d"', '""'],
        *["[a, 'b']", "{a: b, c: 'd e'}", "[]", "{}", "[a, [b], {c: d}]", "a#b", "x  "],
        "{a: 1,b: 2.5}",
    ]
)
BLOCK_LINES = st.lists(
    st.sampled_from(["text", "more words", "", "  indented", "# hash", "trail  ", "   "]),
    min_size=1,
    max_size=5,
)
HEADER = st.sampled_from(["|", "|-", "|+", ">", ">-", ">+", "|2", "| # c", ">#x"])
COMMENT = st.sampled_from(["", "", "", "  # note", " #x", "#y"])


@st.composite
def block(draw: Any, indent: int, depth: int, clean: bool) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if depth > 2 or draw(st.booleans()):  # a mapping
        keys = draw(st.lists(CLEAN_KEYS if clean else KEYS, min_size=1, max_size=3, unique=clean))
        for key in keys:
            lines.extend(draw(entry(f"{pad}{key}:", indent, depth, clean)))
    else:  # a sequence
        for _ in range(draw(st.integers(1, 3))):
            lines.extend(draw(entry(f"{pad}-", indent, depth, clean, item=True)))
    if draw(st.integers(0, 5)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", "  ", "# c"])))
    return lines


@st.composite
def entry(
    draw: Any, head: str, indent: int, depth: int, clean: bool, item: bool = False
) -> list[str]:
    choice = draw(st.integers(0, 9 if depth < 2 else 5))
    if choice <= 3:
        return [f"{head} {draw(CLEAN_SCALAR if clean else SCALAR)}{draw(COMMENT)}"]
    if choice == 4:
        inner = indent + draw(st.sampled_from([1, 2, 2, 4]))
        body = [" " * inner + line if line.strip() else line for line in draw(BLOCK_LINES)]
        return [f"{head} {draw(HEADER)}", *body]
    if choice == 5:
        return [f"{head}{draw(COMMENT)}"]
    if item and choice == 6:  # `- key: value` on the dash's line
        first, *rest = draw(block(indent + 2, depth + 1, clean))
        return [head + first[len(head) :], *rest]
    step = draw(st.sampled_from([0, 1, 2, 2, 3])) if not item else draw(st.sampled_from([1, 2]))
    return [head, *draw(block(indent + step, depth + 1, clean))]


@st.composite
def documents(draw: Any, clean: bool = False) -> str:
    lines = draw(block(0, 0, clean))
    text: str = "\n".join(lines) + draw(st.sampled_from(["\n", "\n", "", "\n\n"]))
    if not clean and draw(st.integers(0, 3)) == 0 and text:  # a random edit
        at = draw(st.integers(0, len(text) - 1))
        junk = draw(st.sampled_from(["", " ", "\t", ":", "-", "#", "'", "\n", "  \n", "\x85"]))
        text = text[:at] + junk + text[at + 1 :]
    return text


@settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents())
def test_generated_documents_read_the_same(text: str) -> None:
    check_same(text)


@settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents(clean=True))
def test_generated_plain_documents_read_the_same(text: str) -> None:
    check_same(text)


@settings(max_examples=N // 2, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(alphabet="ab: -#'\"\n|>{}[],&*!%@~1.", max_size=60))
def test_random_text_reads_the_same(text: str) -> None:
    check_same(text)
