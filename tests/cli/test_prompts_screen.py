"""What a person sees at each kind of prompt, read off an emulated 80-column terminal screen.

The run happens on a real pseudo-terminal; its output is fed to `pyte`, a terminal emulator, so
the assertions are about the screen (what is visible after cursor moves, spinners and redraws),
not about the byte stream. Each prompt is checked after the screen settles: a spinner drawing
over a question would show here.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pexpect
import pyte
import pytest

from tests.support.engine_support import step_results, workspace, write_runbook
from tests.support.fixtures_servers import MlflowServer
from tests.support.helpers import ok

ROOT = Path(__file__).resolve().parents[2]
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
CHOICES = [
    "the new model version that went live at 14:31",
    "the serving feature pipeline that computes country",
    "the training data snapshot taken last week",
    "not sure yet",
]
CHECKLIST = [
    "The same code (library and version) computes it in training and serving",
    "Units and scales match (cents vs. units, ms vs. s, log vs. raw)",
    "Missing values get the same default in both",
    "Categorical encodings and vocabularies are the same version",
    "Training features were computed as of prediction time [no future data]",
]


class Terminal:
    """`python -m mlsre ARGS` on a pseudo-terminal, rendered by a terminal emulator."""

    def __init__(self, cwd: Path, *args: str, rows: int = 40, cols: int = 80) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": str(cols), "TERM": "xterm"}
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "mlsre", *args],
            cwd=str(cwd),
            env=env,
            timeout=30,
            dimensions=(rows, cols),
        )

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=min(left, 0.1)))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                return

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def settled(self, needle: str, timeout: float = 30) -> str:
        """The screen once ``needle`` is on it and anything that would draw over it has drawn."""
        end = time.monotonic() + timeout
        while needle not in self.text():
            if time.monotonic() > end or not self.child.isalive():
                self.pump(0.2)
                if needle in self.text():
                    break
                raise AssertionError(f"{needle!r} never appeared; the screen:\n{self.text()}")
            self.pump(0.1)
        self.pump(0.5)
        screen = self.text()
        assert not any(ch in screen for ch in SPINNER), f"a spinner is on screen:\n{screen}"
        assert needle in screen, f"{needle!r} was drawn over:\n{screen}"
        return screen

    def send(self, line: str) -> None:
        self.child.sendline(line)

    def finish(self) -> int:
        self.pump(0.1)
        self.child.expect(pexpect.EOF, timeout=30)
        self.child.close()
        return int(self.child.exitstatus or 0)


def _runbook(root: Path) -> None:
    write_runbook(
        root,
        "screen",
        f"""\
        - id: look
          title: Look at the service
          uses: note
          with: {{text: "looked at {{{{ inputs.model }}}}"}}
        - id: cause
          title: Where does it come from?
          uses: manual
          with:
            question: Where does the skew come from?
            choices: {json.dumps(CHOICES)}
        - id: checks
          title: How serving computes the features
          uses: manual
          with:
            question: For each skewed feature, compare training and serving. Which hold?
            checklist: {json.dumps(CHECKLIST)}
        - id: dashboard
          title: The dashboard
          uses: manual
          with: {{question: "What does the p99 panel show for [prod]?"}}
        - id: roll
          title: Restart serving
          phase: mitigate
          uses: shell
          confirm: Restart serving of {{{{ inputs.model }}}} now?
          with: {{argv: ["touch", "restarted"]}}
        - id: restarted
          title: Did it come back?
          phase: mitigate
          uses: manual
          with: {{question: "Is serving up again?", choices: ["yes", "no"]}}
        """,
        inputs="inputs:\n  model: {required: true}\n",
    )


def test_every_prompt_kind_is_fully_visible_at_80_columns(isolated: Path) -> None:
    workspace(isolated)
    _runbook(isolated)
    ok("incident", "open", "skew", "--model", "fraud-detector")
    term = Terminal(isolated, "runbook", "run", "screen", "--incident", "INC-1")

    screen = term.settled("[r]un / [s]kip / [e]dit inputs / [q]uit")  # run / skip
    assert "Step 1/6: Look at the service" in screen
    assert "Will: note: looked at fraud-detector" in screen
    term.send("e")  # edit inputs
    screen = term.settled("model (fraud-detector)")
    assert "Edit inputs (Enter keeps the value shown):" in screen
    term.send("churn-model")
    screen = term.settled("Will: note: looked at churn-model")
    term.send("r")

    term.settled("Step 2/6: Where does it come from?")
    term.send("r")
    screen = term.settled("choose 1-4")  # a choice: every option whole, one per line
    assert "Where does the skew come from?" in screen
    for n, choice in enumerate(CHOICES, 1):
        assert f"  {n}) {choice}" in screen.splitlines(), screen
    term.send("2")

    term.settled("Step 3/6: How serving computes the features")
    term.send("r")
    screen = term.settled("1/5 holds?")  # a checklist: every item shown before the first
    assert "For each skewed feature, compare training and serving. Which hold?" in screen
    for n, item in enumerate(CHECKLIST, 1):
        assert f"  {n}. {item}" in screen.splitlines(), screen
    for answer in ("y", "y", "n", "y", "y"):
        term.send(answer)
        term.pump(0.2)

    term.settled("Step 4/6: The dashboard")
    term.send("r")
    screen = term.settled("What does the p99 panel show for [prod]?")  # a free question
    term.send("flat at 0.9s")

    term.settled("Step 5/6: Restart serving")
    term.send("r")
    screen = term.settled("Type y to go ahead")  # a confirm: the change and the question
    assert "This step changes a system: run touch restarted" in screen
    assert "Restart serving of churn-model now?" in screen
    term.send("y")

    screen = term.settled("Step 6/6: Did it come back?")
    assert "changes a system" not in screen.split("Step 6/6")[1]  # a question changes nothing
    term.send("r")
    term.settled("choose 1-2")
    term.send("1")
    screen = term.settled("Runbook screen on INC-1")
    assert "failed: checks" in screen
    assert term.finish() == 1  # one checklist item does not hold

    results = {k: v[0] for k, v in step_results().items()}
    assert results["cause"]["output"] == {"answer": CHOICES[1]}
    assert results["checks"]["output"]["missing"] == [CHECKLIST[2]]
    assert results["dashboard"]["output"] == {"answer": "flat at 0.9s"}
    assert (isolated / "restarted").exists()
    events = json.loads(ok("incident", "timeline", "1", "--json").stdout)
    edits = [e["data"] for e in events if e["kind"] == "inputs_changed"]
    assert edits == [
        {
            "run": edits[0]["run"],
            "runbook": "screen",
            "step": "look",
            "changes": {"model": {"old": "fraud-detector", "new": "churn-model"}},
        }
    ]
    shown = ok("incident", "timeline", "1").stdout
    assert "inputs changed before look: model: 'fraud-detector' -> 'churn-model'" in shown


@pytest.mark.mlflow
def test_a_rollback_confirm_says_which_version_moves_where(
    isolated: Path, registry: MlflowServer
) -> None:
    workspace(isolated)
    (isolated / "mlsre.yaml").write_text(f"registry: {{url: '{registry.url}'}}\n")
    write_runbook(
        isolated,
        "roll",
        """\
        - id: rollback
          title: Roll the serving alias back
          phase: mitigate
          uses: registry.rollback
          with: {model: fraud-detector, alias: champion}
          confirm: Latency regressed after the last version went live. Roll back?
        """,
    )
    ok("incident", "open", "p99", "--model", "fraud-detector")
    term = Terminal(isolated, "runbook", "run", "roll", "--incident", "INC-1")
    term.settled("[r]un / [s]kip")
    term.send("r")
    screen = term.settled("Type y to go ahead")
    assert "move champion of fraud-detector from version 4 to 3" in screen
    assert "Latency regressed after the last version went live. Roll back?" in screen
    term.send("n")
    term.finish()
    declined = step_results()["rollback"][0]["summary"]
    assert declined.startswith("declined: move champion of fraud-detector from version 4 to 3")
