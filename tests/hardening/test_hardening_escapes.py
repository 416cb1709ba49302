"""Hardening probe, terminal escapes (issue 13): data never drives the terminal.

Titles, notes, actors, Prometheus label values and MLflow descriptions can hold ESC/OSC
sequences (set the window title, clear the screen, forge a hyperlink) and bidi overrides. Human
output, postmortem markdown and commit subjects show them as visible symbols; ``--json`` keeps
the original text (escaped by JSON).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlsre.textsafe import visible, visible_on_terminal
from tests.support.helpers import run
from tests.support.hostile_server import ESC_CLEAR, ESC_TITLE, HostileServer

NASTY = f"p99 up {ESC_TITLE}{ESC_CLEAR}\x9b31m \u202eevil\x07"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def raw_controls(text: str) -> list[str]:
    """Control characters left raw, apart from our own colours (SGR) on a terminal."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return [repr(c) for c in RAW if c in text]


def test_visible_forms() -> None:
    assert visible("a\x1b]0;t\x07b\n\tc") == "a\u241b]0;t\u2407b\n\tc"
    assert visible("\x9b\u202e") == "<U+009B><U+202E>"
    # our own colours survive on a terminal; a screen clear from data does not
    assert visible_on_terminal("\x1b[1;31mred\x1b[0m\x1b[2J") == "\x1b[1;31mred\x1b[0m\u241b[2J"


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.stop()


@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "terminal"])
def test_incident_views_show_escapes_visibly(
    terminal: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if terminal:
        monkeypatch.setenv("MLSRE_FORCE_TERMINAL", "1")
        monkeypatch.setenv("COLUMNS", "200")
    opened = run("incident", "open", NASTY, "--as", f"eve{ESC_CLEAR}", "--json")
    assert opened.exit_code == 0, opened.stderr
    ref = str(json.loads(opened.stdout)["id"])
    assert run("incident", "note", ref, f"note {ESC_TITLE}").exit_code == 0
    for args in (("incident", "list"), ("incident", "show", ref), ("incident", "timeline", ref)):
        r = run(*args)
        assert r.exit_code != 3, r.stderr
        assert raw_controls(r.stdout + r.stderr) == [], (args, r.stdout, r.stderr)
        assert "\u241b]0;pwned" in r.stdout or "incident" in args[0]
    shown = run("incident", "show", ref, "--json").stdout
    assert json.loads(shown)["incident"]["title"] == NASTY  # JSON keeps the data as it was
    assert raw_controls(shown) == []  # ... escaped


def test_label_values_and_descriptions_from_servers(
    hostile: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    (ws / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{hostile.url}/escapes', retries: 0}}\n"
        f"registry: {{url: '{hostile.url}/escapes', retries: 0}}\n"
    )
    monkeypatch.chdir(ws)
    versions = run("model", "versions", "m")
    assert versions.exit_code == 0, versions.stderr
    assert raw_controls(versions.stdout) == [] and "\u241b]0;pwned" in versions.stdout
    as_json = run("model", "versions", "m", "--json")
    assert json.loads(as_json.stdout)["versions"][0]["description"] == ESC_TITLE + ESC_CLEAR


def test_postmortem_markdown_and_commit_subject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    monkeypatch.chdir(ws)
    ref = str(json.loads(run("incident", "open", NASTY, "--json").stdout)["id"])
    assert run("incident", "resolve", ref, "-r", f"fixed {ESC_CLEAR}").exit_code == 0
    published = run("postmortem", "publish", ref)
    assert published.exit_code != 3, published.stderr
    repo = ws / "postmortems"
    files = [p for p in repo.rglob("*.md") if ".git" not in p.parts]
    assert files and all(raw_controls(p.read_text(encoding="utf-8")) == [] for p in files)
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%s%n%b%n%an"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert raw_controls(log) == [] and "\u241b" in log
