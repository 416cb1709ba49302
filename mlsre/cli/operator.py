"""The person at the terminal, as the runbook engine sees them (prompts, spinner, verdicts)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from rich.text import Text

from mlsre.cli import output
from mlsre.numbers import fmt
from mlsre.textsafe import visible

if TYPE_CHECKING:
    from mlsre.runbook.engine import Decision, StepOutcome, StepView


def render_outcome(console: Any, outcome: StepOutcome) -> None:
    """The coloured verdict of one step, with its samples as a table and series as sparklines."""
    verdict = output.text(outcome.status.value.upper(), output.tone_of(outcome.status.value))
    verdict.stylize(output.STYLE["accent"])  # the verdict is what the eye looks for
    # A step skipped by its `when` never had a header: name it.
    who = f"{outcome.step}: " if outcome.status.value == "skipped" else ""
    console.print(output.compose("  ", verdict, f" {who}{outcome.summary}"))
    samples = outcome.samples
    series = [smp for smp in samples if isinstance(smp, dict) and smp.get("sparkline")]
    if series:  # a range query: one sparkline per series
        _print_sparklines(console, series)
    elif len(samples) > 1 or (samples and samples[0].get("labels")):
        _print_samples(console, samples)


def _shown_labels(smp: dict[str, Any]) -> list[str]:
    """The label names of a sample worth showing (not the metric name)."""
    return [k for k in smp.get("labels") or {} if k != "__name__"]


def _print_sparklines(console: Any, series: list[dict[str, Any]]) -> None:
    for smp in series[:8]:
        labels = smp.get("labels") or {}
        shown = ",".join(f"{k}={labels[k]}" for k in _shown_labels(smp))
        last = fmt(smp.get("last"))
        console.print(output.text(f"    {shown or 'series'}  {smp['sparkline']}  last {last}"))


def _print_samples(console: Any, samples: list[dict[str, Any]], limit: int = 15) -> None:
    """Instant samples as a table: one column per label, then the value."""
    from rich.table import Table

    keys = sorted({k for smp in samples for k in _shown_labels(smp)})
    table = Table(header_style=output.STYLE["accent"], box=None, padding=(0, 2))
    for k in [*keys, "value"]:
        table.add_column(output.text(k), overflow="fold")
    for smp in samples[:limit]:
        labels = smp.get("labels") or {}
        cells = [output.text(labels.get(k, "")) for k in keys]
        table.add_row(*cells, output.text(fmt(smp.get("value"))))
    console.print(table)
    if len(samples) > limit:
        console.print(output.text(f"    … {len(samples) - limit} more"))


class TerminalOperator:
    """Asks before each step, shows guidance and what will be run, and renders verdicts.

    Never covers a question: the spinner of a running step stops while anything is asked, and
    comes back after. Everything a person reads that came from a runbook or a system is shown
    as plain text, never as markup.
    """

    interactive = True

    def __init__(self, yes: bool = False) -> None:
        self.console = output.console()
        self.yes = yes
        self._status: Any = None  # the spinner on screen, if any

    @contextmanager
    def _asking(self) -> Iterator[None]:
        status = self._status
        if status is not None:
            status.stop()
        try:
            yield
        finally:
            if status is not None and self._status is status:
                status.start()

    def before_step(self, view: StepView) -> Decision:
        from rich.markdown import Markdown
        from rich.prompt import Prompt

        from mlsre.runbook.engine import Decision

        s = view.step
        title = output.text(f"Step {view.index + 1}/{view.total}: {s.title or s.id}", "accent")
        title.append_text(output.text(f"  ({s.phase.value}, {s.uses})"))
        self.console.rule(title)
        if s.guidance.strip():  # the runbook author's Markdown: formatting, never rich markup
            self.console.print(Markdown(visible(s.guidance.strip())))
        if view.problem:
            self.console.print(_labelled("cannot prepare this step: ", view.problem, "warn"))
        else:
            self.console.print(_labelled("Will: ", view.description, "accent"))
            query = (view.params or {}).get("query")
            if isinstance(query, str) and " ".join(query.split()) not in view.description:
                self.console.print(output.text(" ".join(query.split()), "muted"))
        answer = Prompt.ask(
            Text("Run this step? [r]un / [s]kip / [e]dit inputs / [q]uit"),
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

        self.console.print(output.text("Edit inputs (Enter keeps the value shown):", "accent"))
        changed: dict[str, Any] = {}
        for name, value in inputs.items():
            old = "" if value is None else str(value)
            new = Prompt.ask(output.text(f"  {name}"), default=old, console=self.console)
            if new != old:
                changed[name] = new
        return changed

    def confirm(self, view: StepView, question: str) -> bool:
        from rich.prompt import Confirm

        if self.yes:
            return True
        self.console.print(
            _labelled("This step changes a system: ", view.change or view.description, "bad")
        )
        self.console.print(output.text(question))
        return bool(Confirm.ask(Text("Type y to go ahead"), default=False, console=self.console))

    def interrupted_mitigation(self, view: StepView) -> bool:
        from rich.prompt import Confirm

        self.console.print(
            output.text(
                f"{view.step.id} was started by an interrupted run and has no result.", "warn"
            )
        )
        return bool(
            Confirm.ask(
                Text("It may already have been applied. Run it again?"),
                default=False,
                console=self.console,
            )
        )

    def running(self, view: StepView) -> AbstractContextManager[None]:
        return self._spinner(view)

    @contextmanager
    def _spinner(self, view: StepView) -> Iterator[None]:
        if view.step.uses == "manual":  # it only asks: a spinner would sit on the question
            yield
            return
        with self.console.status(output.text(f"running {view.step.id}…")) as status:
            self._status = status
            try:
                yield
            finally:
                self._status = None

    def after_step(self, view: StepView, outcome: StepOutcome) -> None:
        render_outcome(self.console, outcome)

    def ask(
        self, question: str, *, choices: list[str] | None = None, default: str | None = None
    ) -> str | None:
        from rich.prompt import Prompt

        with self._asking():
            self.console.print(output.text(question, "accent"))
            if not choices:
                return str(Prompt.ask(Text("answer"), default=default, console=self.console))
            for n, choice in enumerate(choices, 1):
                self.console.print(output.text(f"  {n}) {choice}"))
            keys = [str(n) for n in range(1, len(choices) + 1)]
            pick = Prompt.ask(
                output.text(f"choose 1-{len(choices)}"),
                choices=keys + choices,
                default=str(choices.index(default) + 1) if default in choices else None,
                console=self.console,
                show_choices=False,
            )
            return choices[int(pick) - 1] if pick in keys else str(pick)

    def checklist(self, title: str, items: list[str]) -> list[str] | None:
        from rich.prompt import Confirm

        with self._asking():
            self.console.print(output.text(title, "accent"))
            for n, item in enumerate(items, 1):
                self.console.print(output.text(f"  {n}. {item}"))
            return [
                item
                for n, item in enumerate(items, 1)
                if Confirm.ask(
                    Text(f"  {n}/{len(items)} holds?"), default=False, console=self.console
                )
            ]


def _labelled(label: str, value: str, tone: output.Tone) -> Any:
    return output.compose(output.text(label, tone), value)
