"""All terminal output goes through here: JSON, rich tables in a terminal, plain text otherwise."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Literal, TextIO

from mlsre.jsonutil import plain


def is_terminal(stream: TextIO | None = None) -> bool:
    """Colour and rich tables only for a person at a terminal who did not ask for NO_COLOR."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("MLSRE_FORCE_TERMINAL"):
        return True
    s = stream or sys.stdout
    return hasattr(s, "isatty") and s.isatty()


def to_jsonable(obj: Any) -> Any:
    """What ``--json`` prints: the same models the human view renders, as plain data."""
    return plain(obj)


def print_json(obj: Any) -> None:
    from mlsre.textsafe import json_escaped

    text = json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False)
    sys.stdout.write(json_escaped(text) + "\n")  # data's control characters stay escaped


def console(stderr: bool = False) -> Any:
    """A rich Console (imported only when something is actually rendered).

    It never reads a string as markup or emoji codes: a ``str`` printed by mistake shows as
    written, so ``[/bold]`` or ``:fire:`` in a title cannot restyle or crash a view.
    """
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    rich_ok = is_terminal(stream)
    return Console(
        file=stream,
        no_color=not rich_ok,
        markup=False,
        emoji=False,
        highlight=False,
        force_terminal=rich_ok if os.environ.get("MLSRE_FORCE_TERMINAL") else None,
        width=int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None,
    )


# -- tones: what a word means to the reader, and the one table of how each tone looks ---------

Tone = Literal["ok", "bad", "warn", "muted", "info", "accent"]

STYLE: dict[Tone, str] = {
    "ok": "green",
    "bad": "bold red",
    "warn": "yellow",
    "muted": "dim",
    "info": "cyan",
    "accent": "bold",
}

TONE: dict[str, Tone] = {
    # a step's status (StepStatus) and a run's outcome (RunOutcome)
    "passed": "ok",
    "failed": "bad",
    "error": "warn",  # the check could not run: health unknown, not a failure found
    "skipped": "muted",
    "pending": "info",
    "awaiting approval": "info",
    "awaiting_approval": "info",
    "healthy": "ok",
    "unhealthy": "bad",
    "quit": "muted",
    # an incident's status
    "open": "bad",
    "acknowledged": "warn",
    "mitigated": "info",
    "resolved": "ok",
    "closed": "muted",
    # severities
    "SEV1": "bad",
    "SEV2": "bad",
    "SEV3": "warn",
    "SEV4": "muted",
    "SEV5": "muted",
    # verdicts: readiness items, canary judgements, doctor checks, drift columns, SLO alerts
    "pass": "ok",
    "fail": "bad",
    "unknown": "muted",
    "marginal": "warn",
    "nodata": "warn",
    "ok": "ok",
    "warn": "warn",
    "drift": "bad",
    "page": "bad",
    "ticket": "warn",
    "none": "ok",
    # a game day's activities (Chaos Toolkit's run statuses)
    "succeeded": "ok",
    "completed": "ok",
    "deviated": "bad",
    "aborted": "bad",
    "interrupted": "warn",
}

# The one word two families read differently: a data check's "error" finding is a failed
# check (a step's "error" is a check that could not run).
FINDING_TONE: dict[str, Tone] = {"error": "bad", "warning": "warn", "info": "muted"}


def tone_of(word: str) -> Tone | None:
    """The tone of a status, state, severity or verdict word (None: shown plain)."""
    return TONE.get(word)


def text(value: object, tone: Tone | None = None) -> Any:
    """A rich ``Text`` of ``value`` exactly as written: never markup, never emoji codes, and its
    control characters (a terminal escape in a title) shown as visible symbols."""
    from rich.text import Text

    from mlsre.textsafe import visible

    return Text(visible(str(value)), style=STYLE[tone] if tone else "")


def styled(value: str, tone: Tone | None = None) -> Any:
    """``value`` in its tone (default: the tone of the word itself) in a terminal, else as is."""
    if not is_terminal():
        return value
    return text(value, tone or tone_of(value))


def compose(*parts: Any) -> Any:
    """One rich ``Text`` from plain strings (shown as written) and ``Text`` parts (their tones)."""
    from rich.text import Text

    out = Text()
    for part in parts:
        out.append_text(part if isinstance(part, Text) else text(part))
    return out


def joined(*parts: Any) -> Any:
    """Plain strings and styled parts as one line: :func:`compose` in a terminal, else a str."""
    if not is_terminal():
        return "".join(str(p) for p in parts)
    return compose(*parts)


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """A table: rich in a terminal, tab-separated plain text otherwise (easy to grep and cut).

    Cells are data, never markup: a title like ``p99 [prod] up`` shows as written, and a word
    wider than its column folds onto the next line instead of being cut. A cell may be a rich
    ``Text`` (from :func:`styled`) to carry its tone.
    """
    if not is_terminal():
        if title:
            sys.stdout.write(f"# {title}\n")
        sys.stdout.write("\t".join(columns) + "\n")
        for row in rows:
            sys.stdout.write("\t".join(str(c) for c in row) + "\n")
        return
    from rich.table import Table
    from rich.text import Text

    t = Table(title=text(title) if title else None, header_style=STYLE["accent"])
    for col in columns:
        t.add_column(text(col), overflow="fold")
    for row in rows:
        t.add_row(*(c if isinstance(c, Text) else text(c) for c in row))
    console().print(t)


def line(value: Any = "", *, tone: Tone | None = None) -> None:
    """One line: plain text, or a rich ``Text`` (in its tone in a terminal, plain otherwise).

    Untoned text is written as is, unwrapped (a YAML or JSON document stays copyable)."""
    if not is_terminal():
        sys.stdout.write(str(value) + "\n")
        return
    from rich.text import Text

    if tone is None and not isinstance(value, Text):
        from mlsre.textsafe import visible

        sys.stdout.write(visible(str(value)) + "\n")
        return
    shown = value if isinstance(value, Text) else text(value)
    if tone:
        shown.stylize(STYLE[tone])
    console().print(shown)


def fields(pairs: list[tuple[str, str]]) -> None:
    """Aligned ``key: value`` lines."""
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        line(f"{key.ljust(width)}  {value}")


def err(message: str) -> None:
    """A line on stderr, as written (its control characters visible)."""
    from mlsre.textsafe import visible

    sys.stderr.write(visible(message) + "\n")
