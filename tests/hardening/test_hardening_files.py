"""Hardening probe, hostile files (issue 13): alias bombs however they expand, bounded templates.

A bomb behind a merge key (``<<:``) or inside ``!!omap`` used to pass the expansion count (the
data is a small graph) and then hang whatever walked it: ``runbook list``, ``validate``, a dry
run of another runbook. Templates could allocate without limit (``'a' * N``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mlsre.runbook.sandbox import TemplateError, render
from mlsre.yamlfile import YamlProblems, parse_yaml
from tests.support.helpers import run


def merge_bomb(levels: int = 30) -> str:
    lines = ["a0: &a0 {x: 1, y: 2}"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} {{<<: *a{i - 1}, k: [*a{i - 1}, *a{i - 1}, *a{i - 1}]}}")
    return "\n".join(lines) + "\n"


def omap_bomb(levels: int = 30) -> str:
    lines = ["a0: &a0 [1, 2, 3]"]
    for i in range(1, levels):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} !!omap [{{p: {prev}}}, {{q: {prev}}}, {{r: {prev}}}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text", [merge_bomb(), omap_bomb()], ids=["merge-key", "omap"])
def test_bombs_are_refused_with_a_location(text: str) -> None:
    started = time.monotonic()
    with pytest.raises(YamlProblems) as exc:
        parse_yaml(text, "bomb.yaml")
    assert "expands to more than" in str(exc.value) and str(exc.value).startswith("bomb.yaml:")
    assert time.monotonic() - started < 2


def test_small_merge_keys_still_work() -> None:
    doc = parse_yaml("base: &b {a: 1, b: 2}\nderived: {<<: *b, b: 3}\n", "ok.yaml")
    assert doc.data["derived"] == {"a": 1, "b": 3}


def test_a_bomb_in_runbooks_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    (ws / "runbooks" / "bomb.yaml").write_text(merge_bomb())
    (ws / "runbooks" / "omap.yaml").write_text(omap_bomb())
    monkeypatch.chdir(ws)
    started = time.monotonic()
    listed = run("runbook", "list")
    validated = run("runbook", "validate", "runbooks/bomb.yaml")
    dry = run("runbook", "run", "latency-regression", "--dry-run", "-i", "model=m")
    assert time.monotonic() - started < 30
    assert listed.exit_code != 3 and "latency-regression" in listed.stdout, listed.stderr
    assert (
        validated.exit_code == 1 and "expands to more than" in validated.stdout + validated.stderr
    )
    assert dry.exit_code != 3, dry.stderr


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'a' * 1000000000 }}",
        "{{ [0] * 1000000000 }}",
        "{{ 'a' | center(1000000000) }}",
        "{{ 'a'.ljust(1000000000) }}",
        "{{ 9 ** 999999999 }}",
        "{{ '%999999999d' % 1 }}",
        "{{ '%*d' % (999999999, 1) }}",
        "{{ '{:999999999}'.format(1) }}",
        "{{ '{:{w}}'.format(1, w=999999999) }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(99999) %}{{ 'x' * 99 }}{% endfor %}",
    ],
)
def test_templates_cannot_allocate_without_limit(template: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateError) as exc:
        render(template, {})
    assert "refused by the sandbox" in str(exc.value)
    assert time.monotonic() - started < 2


def test_ordinary_templates_still_render() -> None:
    text = "{{ 'ab' * 3 }} {{ 2 ** 10 }} {{ '%5.2f' % 3.14159 }} {{ range(3) | list }} {{ x }}"
    assert render(text, {"x": "{{ not a template }}"}) == (
        "ababab 1024  3.14 [0, 1, 2] {{ not a template }}"
    )
