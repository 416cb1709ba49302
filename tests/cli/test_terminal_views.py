"""Every human view, as a terminal shows it, with hostile data in it (issue 14, item 3).

Rich is made to believe it writes to a colour terminal (``MLSRE_FORCE_TERMINAL``, ``TERM``, a
fixed ``COLUMNS`` of 80 and of 60), and titles, notes, names, labels and column names carry
text that looks like rich markup (``[prod]``, ``[/bold]``, ``[red]x[/red]``), an emoji code,
terminal escapes and a word wider than the screen. Each view must show that text as written
(escapes as visible symbols; a long word folded, never cut), leak none of our own style tags,
never obey an escape from data, and exit with its documented code (never 3, a bug).

Like tests/test_json_strict.py, the command tree is walked: a command with a human view that
this test does not render fails it. Commands that need Prometheus or the model registry are
run against a refused port where the view still renders (doctor, triage, readiness,
`runbook check --live`); where it cannot, the command's own view function renders a result
object carrying the same hostile text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from mlsre.textsafe import visible
from tests.support.commands import command_tree
from tests.support.engine_support import write_runbook
from tests.support.fixtures_postmortem import make_repo
from tests.support.helpers import run

WORD = "W" * 70  # wider than any column at 60 and 80 columns
HOSTILE = f"p99 [prod] up [/bold] [red]x[/red] :fire: \x1b[31mZ \x1b[7mR {WORD}"
SHOWN = visible(HOSTILE)  # what a person must read: every character, escapes as symbols
FOREIGN_SGR = "\x1b[7m"  # reverse video: a sequence our style table never writes
OUR_TAGS = re.compile(
    r"\[/\]|\[/?(?:bold|dim|italic|underline|red|green|yellow|cyan|blue|magenta)"
    r"(?: (?:bold|dim|red|green|yellow|cyan))*\]"
)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CELL = re.compile("[│┃]")
ROOT = Path(__file__).resolve().parents[2]

# Commands whose output is a machine format, not a view: nothing to render as a person reads it.
NO_VIEW = {
    "incident export": "JSON for tools and replay (checked strictly by test_json_strict)",
    "runbook schema": "a JSON Schema document",
    "canary schema": "a JSON Schema document",
    "canary default": "a YAML document of our own, no data in it",
    "slo rules": "Prometheus rules YAML (checked by promtool in test_slo_rules)",
}


def leaf_commands() -> frozenset[str]:
    return frozenset(" ".join(p) for p, _ in command_tree())


def streams(raw: str) -> list[str]:
    """The screen's text as runs a reader follows, whitespace dropped: the prose lines in order,
    and each table column top to bottom (a cell that wraps continues on the next line)."""
    prose: list[str] = []
    columns: dict[int, list[str]] = {}
    for line in ANSI.sub("", raw).splitlines():
        if CELL.search(line):
            for n, cell in enumerate(CELL.split(line)):
                columns.setdefault(n, []).append(cell)
        else:
            prose.append(line)
    return ["".join("".join(part).split()) for part in [prose, *columns.values()]]


def squash(text: str) -> str:
    return "".join(text.split())


class Screen:
    """Runs views as a colour terminal of a fixed width shows them, and checks each one."""

    def __init__(self, width: int, monkeypatch: pytest.MonkeyPatch, config: Path) -> None:
        self.width = width
        self.config = config
        self.rendered: set[str] = set()
        self.coloured = 0
        monkeypatch.setenv("MLSRE_FORCE_TERMINAL", "1")
        monkeypatch.setenv("COLUMNS", str(width))
        monkeypatch.setenv("TERM", "xterm-256color")
        for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
            monkeypatch.delenv(name, raising=False)

    def check(self, name: str, raw: str, shows: bool) -> None:
        where = f"{name} at {self.width} columns:\n{raw}"
        assert FOREIGN_SGR not in raw, f"an escape from data reached the terminal: {where}"
        assert "🔥" not in raw, f"an emoji code in data was replaced: {where}"
        seen = streams(raw)
        if shows:
            assert any(squash(SHOWN) in s for s in seen), f"data not shown as written: {where}"
        for s in seen:
            rest = s.replace(squash(SHOWN), "").replace("[/bold]", "").replace("[red]x[/red]", "")
            assert not OUR_TAGS.search(rest), f"markup leaked: {OUR_TAGS.search(rest)} {where}"
        self.coloured += bool(re.search(r"\x1b\[[0-9;]+m", raw))
        self.rendered.add(name)

    def cli(self, *args: str, codes: tuple[int, ...] = (0,), shows: bool = False) -> str:
        r = run("--config", str(self.config), *args)
        name = self.name_of(args)
        assert r.exit_code in codes, (args, r.exit_code, r.stdout[-1500:], r.stderr[-1500:])
        self.check(name, r.stdout + r.stderr, shows)
        return str(r.stdout)

    def view(self, name: str, render: Callable[[], Any], *, shows: bool = True) -> None:
        """A command's own view function, fed a result object (its command needs a server)."""
        from mlsre.redaction import redacted_streams

        buf = StringIO()
        with redirect_stdout(buf), redacted_streams():
            render()
        self.check(name, buf.getvalue(), shows)

    @staticmethod
    def name_of(args: tuple[str, ...]) -> str:
        commands = leaf_commands()
        return next(" ".join(args[:k]) for k in (3, 2, 1) if " ".join(args[:k]) in commands)


def _yaml_quoted(text: str) -> str:
    """``text`` inside a double-quoted YAML scalar (ESC as YAML's ``\\e``)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\x1b", "\\e")


def _hostile_workspace(root: Path, tmp: Path) -> Path:
    from tests.support.faulty_server import refused_url

    repo, _ = make_repo(tmp / "git")
    assert run("init", str(root)).exit_code == 0
    dead = refused_url()
    (root / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{dead}', retries: 0, timeout_s: 2}}\n"
        f"registry: {{url: '{dead}', retries: 0, timeout_s: 2}}\n"
        f"postmortems: {{repo: '{repo}'}}\n"
        f"notify: {{channels: {{audit: {{type: webhook, url: '{dead}/hook'}}}}}}\n"
        "escalation: {policies: [{name: sev1, match: {severity: [SEV1]},"
        " levels: [{notify: [audit]}, {notify: [audit]}]}]}\n"
    )
    for name in ("model-availability.yaml", "prometheus.yaml"):
        shutil.copy(ROOT / "docs" / "examples" / "slos" / name, root / "slos")
    quoted = _yaml_quoted(HOSTILE)
    write_runbook(
        root,
        "hostile",
        f"""\
        - id: look
          title: "{quoted}"
          uses: note
          with: {{text: "{quoted}"}}
          guidance: "{quoted}"
        - id: query
          title: "{quoted}"
          uses: prometheus.query
          with: {{query: 'up{{job="a"}}'}}
          expect: value < 1
        - id: restart
          title: "{quoted}"
          phase: mitigate
          uses: shell
          with: {{argv: [echo, "{quoted}"]}}
          confirm: "{quoted}?"
        """,
    )
    text = (root / "runbooks" / "hostile.yaml").read_text()
    text = text.replace("title: Test runbook hostile", f'title: "{quoted}"')
    (root / "runbooks" / "hostile.yaml").write_text(text)
    (tmp / "ref.csv").write_text(
        f'"{HOSTILE}",amount\n' + "".join(f"a{i % 3},{i}\n" for i in range(200))
    )
    (tmp / "cur.csv").write_text(
        f'"{HOSTILE}",amount\n' + "".join(f"b{i % 5},{i * 3}\n" for i in range(200))
    )
    return root


@pytest.mark.parametrize("width", [80, 60])
def test_every_human_view_shows_data_as_written(
    width: int, isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _hostile_workspace(isolated / "ws", tmp_path)
    monkeypatch.chdir(ws)
    t = Screen(width, monkeypatch, ws / "mlsre.yaml")
    t.cli("init", str(tmp_path / "other"))
    t.cli("change", "record", HOSTILE, "--kind", "data", "--at", "-5m", shows=True)
    t.cli(
        "incident", "open", HOSTILE, "-s", "SEV1", "--summary", HOSTILE, "--model", "m", shows=True
    )
    t.cli("incident", "list", shows=True)
    t.cli("incident", "ack", "1", "--note", HOSTILE, shows=True)
    t.cli("incident", "note", "1", HOSTILE, shows=True)
    t.cli("incident", "assign", "1", HOSTILE, "--role", "scribe", shows=True)
    t.cli("incident", "severity", "1", "SEV2", "--reason", HOSTILE, shows=True)
    t.cli("incident", "escalate", "1")
    t.cli("incident", "drill", "1", "--reason", HOSTILE, shows=True)
    t.cli("incident", "action", "add", "1", HOSTILE, "--owner", "bob", shows=True)
    t.cli("incident", "action", "list", "1", shows=True)
    t.cli("incident", "action", "done", "1", "1")
    t.cli("incident", "show", "1", shows=True)
    t.cli("incident", "show", HOSTILE, codes=(2,), shows=True)  # an error that echoes input
    t.cli("runbook", "show", HOSTILE, codes=(1,), shows=True)
    t.cli("incident", "timeline", "1", shows=True)
    t.cli("change", "list", "--since", "2020-01-01", shows=True)
    t.cli("incident", "changes", "1", "--window", "2h", shows=True)
    t.cli("runbook", "list", shows=True)
    t.cli("runbook", "show", "hostile", shows=True)
    t.cli("runbook", "validate", str(ws / "runbooks"))
    t.cli("runbook", "kinds")
    t.cli("runbook", "new", "brand-new", "-f", "latency", "--dir", str(tmp_path))
    t.cli("runbook", "run", "hostile", "--incident", "1", "--non-interactive", codes=(1, 4), shows=True)  # fmt: skip
    t.cli("runbook", "approve", "1", "--non-interactive", "--yes", codes=(0, 1, 4), shows=True)
    t.cli("runbook", "resume", "1", "--non-interactive", codes=(0, 1, 4))
    export = ws / "inc-1.json"
    export.write_text(run("--config", str(ws / "mlsre.yaml"), "incident", "export", "1").stdout)
    t.cli("runbook", "test", "hostile", "--replay", str(export), "--expect-status", "unhealthy", codes=(0, 1, 4))  # fmt: skip
    t.cli("runbook", "check", "--live", "hostile", codes=(0, 1, 4))
    t.cli("triage", "m", codes=(0, 1, 4))
    t.cli("readiness", "m", codes=(0, 1))
    t.cli("doctor", codes=(1,))
    t.cli("slo", "list")
    t.cli("slo", "status", codes=(0, 1, 4))
    t.cli("notify", "list")
    t.cli("notify", "flush", codes=(0, 1))
    t.cli("notify", "retry")
    t.cli("notify", "test", "audit", codes=(1,))
    t.cli("drift", "compare", str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv"), codes=(0, 1), shows=True)  # fmt: skip
    t.cli("data", "check", str(tmp_path / "cur.csv"), "--reference", str(tmp_path / "ref.csv"), codes=(0, 1), shows=True)  # fmt: skip
    t.cli("chaos", "faults")
    t.cli("chaos", "corrupt", str(tmp_path / "cur.csv"), str(tmp_path / "bad.csv"), "--fault", "missing:column=amount,share=0.3", "--seed", "1")  # fmt: skip
    t.cli("chaos", "matrix", str(tmp_path / "ref.csv"), "--faults", "duplicates", "--severities", "0.2", codes=(0, 1))  # fmt: skip
    t.cli("gameday", "list")
    t.cli("incident", "mitigate", "1", "-m", HOSTILE, shows=True)
    t.cli("incident", "resolve", "1", "-r", HOSTILE, shows=True)
    t.cli("incident", "stats", "--since", "2020-01-01")
    t.cli("postmortem", "render", "1", shows=True)
    t.cli("postmortem", "lint", "1")
    t.cli("postmortem", "publish", "1")
    t.cli("incident", "reopen", "1", "--reason", HOSTILE, shows=True)
    assert run("incident", "resolve", "1", "-r", "again").exit_code == 0
    t.cli("incident", "close", "1")
    t.cli("config", "show")
    t.cli("store", "status")
    t.cli("store", "migrate")
    t.cli("store", "copy", f"sqlite:///{ws / '.mlsre' / 'mlsre.db'}", f"sqlite:///{tmp_path / 'c.db'}")  # fmt: skip
    t.cli("serve", "pause", "--reason", HOSTILE, shows=True)
    t.cli("serve", "resume")
    t.cli("canary", "validate", str(_canary_config(tmp_path)))
    _render_server_views(t)
    t.check("incident follow", _follow(ws, width), shows=True)
    t.cli("gameday", "run", "feature-pipeline-nulls", "--workdir", str(tmp_path / "gd"))
    t.cli("demo", "--dir", str(tmp_path / "demo"))

    unrendered = leaf_commands() - t.rendered - set(NO_VIEW)
    assert not unrendered, f"render these in this test: {sorted(unrendered)}"
    assert t.coloured >= 20, "rich did not think it wrote to a colour terminal"


def _canary_config(tmp: Path) -> Path:
    from mlsre.canary.defaults import DEFAULT_CONFIG

    path = tmp / "canary.yaml"
    path.write_text(DEFAULT_CONFIG)
    return path


def _follow(ws: Path, width: int) -> str:
    """`incident follow` runs until interrupted: read its first lines on a forced terminal."""
    import os

    env = {**os.environ, "MLSRE_FORCE_TERMINAL": "1", "COLUMNS": str(width), "PYTHONPATH": str(ROOT)}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlsre", "incident", "follow", "1", "--last", "20"],
        cwd=ws,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(20)]
    finally:
        proc.kill()
        proc.wait()
    return "".join(lines)


def _render_server_views(t: Screen) -> None:
    """Views of commands that need the registry or Prometheus, fed result objects."""
    from mlsre.canary.classify import Classification, Comparison
    from mlsre.canary.judge import Judgement, MetricResult, Verdict
    from mlsre.canary.promote import Promotion
    from mlsre.cli import canary, model_view, slo
    from mlsre.incident.model import Event, EventKind
    from mlsre.integrations.mlflow import ModelVersion
    from mlsre.slo.budget import AlertState
    from mlsre.slo.status import SloStatus
    from mlsre.steps.model_registry.moves import AliasMove
    from mlsre.timeutil import utcnow

    versions = [
        ModelVersion("m", "4", description=HOSTILE, run_id="abc", aliases=["champion"]),
        ModelVersion("m", "3", description="fine"),
    ]
    t.view("model versions", lambda: model_view.render_versions("m", versions))
    moved = AliasMove("m", "champion", "4", "3", changed=True, verified=True, reason=HOSTILE)
    event = Event(1, 7, utcnow(), "tester", EventKind.MODEL_CHANGED, {})
    t.view("model rollback", lambda: model_view.render_move(moved, event, "INC-1", None))
    t.view("model fallback", lambda: model_view.render_move(moved, event, "INC-1", "fell back"))
    t.view("model restore", lambda: model_view.render_move(moved, None, None, "restored"))
    metric = MetricResult(
        name=HOSTILE,
        type="series",
        critical=False,
        weight=1.0,
        direction="increase",
        tolerance=0.1,
        threshold=None,
        comparison=Comparison(Classification.HIGH, HOSTILE),
        queries={"canary": "q", "baseline": "q"},
        sparklines={"canary": "▁▂▄█", "baseline": "▁▁▁▁"},
    )
    judged = Judgement(
        model="m",
        canary="5",
        baseline="4",
        start="2026-11-28T11:15:00Z",
        end="2026-11-28T12:00:00Z",
        step_s=60.0,
        config="default",
        metrics=[metric],
        score=0.0,
        verdict=Verdict.FAIL,
        reason=HOSTILE,
        scoring={"pass": 95, "marginal": 75},
        timings={},
    )
    t.view("canary judge", lambda: canary.render(judged))
    promotion = Promotion("m", "5", "champion", False, HOSTILE, judgement=judged)
    t.view("model promote", lambda: model_view.render_promotion(promotion, None, None))
    status = SloStatus(
        name=HOSTILE,
        service=HOSTILE,
        display_name=None,
        objective=0.999,
        window="28d",
        budgeting="Occurrences",
        indicator="ratio",
        at=utcnow(),
        sli=0.99,
        error_ratio=0.01,
        budget_remaining=0.3,
        burn_rates={"1h": 14.0, "6h": 2.0, "3d": None},
        exhaustion_s=3600.0,
        exhaustion_window="1h",
        alert=AlertState.PAGE,
        firing=[HOSTILE],
        history_note=HOSTILE,
    )
    t.view("slo status", lambda: slo._render(status))


def test_an_interactive_run_shows_data_as_written(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prompts of a run at a real pseudo-terminal (step header, guidance, a question with
    choices, a checklist, a confirmation, the verdicts), 60 columns wide, in colour."""
    import os

    import pexpect

    ws = _hostile_workspace(isolated / "ws", tmp_path)
    quoted = _yaml_quoted(HOSTILE)
    write_runbook(
        ws,
        "asks",
        f"""\
        - id: look
          title: "{quoted}"
          uses: note
          with: {{text: "{quoted}"}}
          guidance: "{quoted}"
        - id: pick
          title: "{quoted}"
          uses: manual
          with: {{question: "{quoted}", choices: ["{quoted}", other]}}
        - id: tick
          title: tick
          uses: manual
          with: {{question: "{quoted}", checklist: ["{quoted}"]}}
        - id: restart
          title: "{quoted}"
          phase: mitigate
          uses: shell
          with: {{argv: [echo, "{quoted}"]}}
          confirm: "{quoted}?"
        """,
    )
    monkeypatch.chdir(ws)
    screen = Screen(60, monkeypatch, ws / "mlsre.yaml")
    assert run("incident", "open", "asks").exit_code == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "60", "TERM": "xterm-256color"}
    env.pop("MLSRE_FORCE_TERMINAL")  # a real terminal this time
    seen = StringIO()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "mlsre", "runbook", "run", "asks", "--incident", "INC-1"],
        cwd=str(ws),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 60),
    )
    child.logfile_read = seen
    for prompt, answer in [
        (r"\[q\]uit", "r"),  # look
        (r"\[q\]uit", "r"),  # pick
        ("choose 1-2", "1"),
        (r"\[q\]uit", "r"),  # tick
        ("holds", "y"),
        (r"\[q\]uit", "r"),  # restart
        ("go ahead", "y"),
    ]:
        child.expect(prompt)
        child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, seen.getvalue()
    screen.check("runbook run (at a terminal)", seen.getvalue(), shows=True)
    assert screen.coloured


def test_every_status_word_has_one_tone() -> None:
    """Statuses, states, severities and verdicts get their colour from the one table: a new
    member of any of these enums fails here until it is given a tone."""
    from mlsre.canary.judge import Verdict
    from mlsre.cli import output
    from mlsre.doctor import CheckStatus
    from mlsre.drift.compare import ColumnStatus
    from mlsre.drift.quality import Severity as FindingSeverity
    from mlsre.incident.model import Severity, Status
    from mlsre.readiness.report import ItemStatus
    from mlsre.runbook.run_model import RunOutcome
    from mlsre.slo.budget import AlertState
    from mlsre.steps.base import StepStatus

    families: list[Any] = [
        StepStatus,
        RunOutcome,
        Status,
        Severity,
        Verdict,
        CheckStatus,
        ColumnStatus,
        ItemStatus,
        AlertState,
    ]
    missing = [
        f"{e.__name__}.{m.name}" for e in families for m in e if output.tone_of(m.value) is None
    ]
    missing += [f"finding {m.value}" for m in FindingSeverity if m.value not in output.FINDING_TONE]
    assert not missing, f"give these a tone in mlsre/cli/output.py: {missing}"
    assert set(output.TONE.values()) | set(output.FINDING_TONE.values()) <= set(output.STYLE)
    assert output.tone_of("failed") == "bad" and output.tone_of("error") == "warn"
    assert output.FINDING_TONE["error"] == "bad"  # a data check's error is a failed check
