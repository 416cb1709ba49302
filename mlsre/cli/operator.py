"""The person at the terminal, as the runbook engine sees them (prompts, spinner, verdicts)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from mlsre.cli import output
from mlsre.numbers import fmt

if TYPE_CHECKING:
    from mlsre.runbook.engine import Decision, StepOutcome, StepView

_VERDICT_STYLE = {
    "passed": "bold green",
    "failed": "bold red",
    "error": "bold yellow",
    "skipped": "dim",
    "pending": "cyan",
}


def render_outcome(console: Any, outcome: StepOutcome) -> None:
    """The coloured verdict of one step, with its samples as a table and series as sparklines."""
    from rich.markup import escape

    style = _VERDICT_STYLE.get(outcome.status.value, "")
    # A step skipped by its `when` never had a header: name it.
    who = f"{escape(outcome.step)}: " if outcome.status.value == "skipped" else ""
    console.print(f"  [{style}]{outcome.status.value.upper()}[/] {who}{escape(outcome.summary)}")
    series = [smp for smp in outcome.samples if isinstance(smp, dict) and smp.get("sparkline")]
    if series:  # a range query: one sparkline per series
        for smp in series[:8]:
            shown = ",".join(
                f"{k}={v}" for k, v in (smp.get("labels") or {}).items() if k != "__name__"
            )
            console.print(
                f"    {escape(shown) or 'series'}  {smp['sparkline']}  last {smp.get('last')}"
            )
    elif len(outcome.samples) > 1 or (outcome.samples and outcome.samples[0].get("labels")):
        from rich.table import Table

        keys = sorted(
            {k for smp in outcome.samples for k in (smp.get("labels") or {}) if k != "__name__"}
        )
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
        for k in [*keys, "value"]:
            table.add_column(k)
        for smp in outcome.samples[:15]:
            labels = smp.get("labels") or {}
            v = smp.get("value")
            table.add_row(
                *[str(labels.get(k, "")) for k in keys],
                fmt(v),  # "n/a" for NaN, never "nan"/"inf" in a table
            )
        console.print(table)
        if len(outcome.samples) > 15:
            console.print(f"    … {len(outcome.samples) - 15} more")


class TerminalOperator:
    """Asks before each step, shows guidance and what will be run, and renders verdicts."""

    interactive = True

    def __init__(self, yes: bool = False) -> None:
        self.console = output.console()
        self.yes = yes

    def before_step(self, view: StepView) -> Decision:
        from rich.markdown import Markdown
        from rich.markup import escape
        from rich.prompt import Prompt

        from mlsre.runbook.engine import Decision

        s = view.step
        self.console.rule(
            f"[bold]Step {view.index + 1}/{view.total}: {escape(s.title or s.id)}[/]"
            f"  ({s.phase.value}, {s.uses})"
        )
        if s.guidance.strip():
            self.console.print(Markdown(s.guidance.strip()))
        if view.problem:
            self.console.print(f"[yellow]cannot prepare this step:[/] {escape(view.problem)}")
        else:
            self.console.print(f"[bold]Will:[/] {escape(view.description)}")
            query = (view.params or {}).get("query")
            if isinstance(query, str) and " ".join(query.split()) not in view.description:
                self.console.print(f"[dim]{escape(' '.join(query.split()))}[/]")
        answer = Prompt.ask(
            escape("Run this step? [r]un / [s]kip / [e]dit inputs / [q]uit"),
            choices=["r", "s", "e", "q"],
            default="r",
            console=self.console,
            show_choices=False,
        )
        return {"r": Decision.RUN, "s": Decision.SKIP, "e": Decision.EDIT, "q": Decision.QUIT}[
            answer
        ]

    def edit_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        from rich.prompt import Prompt

        changed: dict[str, Any] = {}
        for name, value in inputs.items():
            new = Prompt.ask(
                f"input {name}", default="" if value is None else str(value), console=self.console
            )
            if new != ("" if value is None else str(value)):
                changed[name] = new
        return changed

    def confirm(self, view: StepView, question: str) -> bool:
        from rich.markup import escape
        from rich.prompt import Confirm

        if self.yes:
            return True
        self.console.print(f"[bold red]This step changes a system:[/] {escape(view.description)}")
        return bool(
            Confirm.ask(
                f"{escape(question)} Type y to go ahead", default=False, console=self.console
            )
        )

    def interrupted_mitigation(self, view: StepView) -> bool:
        from rich.markup import escape
        from rich.prompt import Confirm

        self.console.print(
            f"[bold yellow]{escape(view.step.id)} was started by an interrupted run"
            " and has no result.[/]"
        )
        return bool(
            Confirm.ask(
                "It may already have been applied. Run it again?",
                default=False,
                console=self.console,
            )
        )

    def running(self, view: StepView) -> AbstractContextManager[None]:
        return self._spinner(view)

    @contextmanager
    def _spinner(self, view: StepView) -> Iterator[None]:
        with self.console.status(f"running {view.step.id}…"):
            yield

    def after_step(self, view: StepView, outcome: StepOutcome) -> None:
        render_outcome(self.console, outcome)

    def ask(
        self, question: str, *, choices: list[str] | None = None, default: str | None = None
    ) -> str | None:
        from rich.prompt import Prompt

        return str(Prompt.ask(question, choices=choices, default=default, console=self.console))

    def checklist(self, title: str, items: list[str]) -> list[str] | None:
        from rich.prompt import Confirm

        self.console.print(title)
        return [
            item for item in items if Confirm.ask(f"  {item}", default=False, console=self.console)
        ]
