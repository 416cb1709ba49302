"""All terminal output goes through here: JSON, rich tables in a terminal, plain text otherwise."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

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
    """A rich Console (imported only when something is actually rendered)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    rich_ok = is_terminal(stream)
    return Console(
        file=stream,
        no_color=not rich_ok,
        highlight=False,
        force_terminal=rich_ok if os.environ.get("MLSRE_FORCE_TERMINAL") else None,
        width=int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None,
    )


def table(
    title: str | None,
    columns: list[str],
    rows: list[list[str]],
    *,
    styles: dict[int, str] | None = None,
) -> None:
    """A table: rich in a terminal, tab-separated plain text otherwise (easy to grep and cut)."""
    if not is_terminal():
        if title:
            sys.stdout.write(f"# {title}\n")
        sys.stdout.write("\t".join(columns) + "\n")
        for row in rows:
            sys.stdout.write("\t".join(row) + "\n")
        return
    from rich.table import Table

    t = Table(title=title, header_style="bold", show_lines=False)
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*row)
    console().print(t)


def line(text: str = "", *, style: str | None = None) -> None:
    if style and is_terminal():
        console().print(text, style=style, markup=False)
    else:
        sys.stdout.write(text + "\n")


def fields(pairs: list[tuple[str, str]]) -> None:
    """Aligned ``key: value`` lines."""
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        line(f"{key.ljust(width)}  {value}")


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


STATUS_STYLE = {
    "passed": "green",
    "failed": "bold red",
    "error": "yellow",
    "skipped": "dim",
    "pending": "cyan",
    "open": "bold red",
    "acknowledged": "yellow",
    "mitigated": "cyan",
    "resolved": "green",
    "closed": "dim",
}


def styled(text: str, key: str | None = None) -> str:
    """Wrap ``text`` in rich markup when rendering for a terminal."""
    style = STATUS_STYLE.get(key or text)
    if style and is_terminal():
        return f"[{style}]{text}[/]"
    return text
