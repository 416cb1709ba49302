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
    rows: list[list[Any]],
    *,
    styles: dict[int, str] | None = None,
) -> None:
    """A table: rich in a terminal, tab-separated plain text otherwise (easy to grep and cut).

    Cells are data, never markup: a title like ``p99 [prod] up`` shows as written. A cell may be
    a rich ``Text`` (from :func:`styled`) to carry colour.
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

    t = Table(title=Text(title) if title else None, header_style="bold", show_lines=False)
    for col in columns:
        t.add_column(Text(col))
    for row in rows:
        t.add_row(*(c if isinstance(c, Text) else Text(str(c)) for c in row))
    console().print(t)


def line(text: Any = "", *, style: str | None = None) -> None:
    """One line of plain text, or a rich ``Text`` (coloured in a terminal, plain otherwise)."""
    if is_terminal() and (style or not isinstance(text, str)):
        console().print(text, style=style, markup=False)
    else:
        sys.stdout.write(str(text) + "\n")


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


def styled(text: str, key: str | None = None) -> Any:
    """``text`` in its status colour: a rich ``Text`` in a terminal (never markup), else ``text``."""
    if not is_terminal():
        return text
    from rich.text import Text

    return Text(text, style=STATUS_STYLE.get(key or text, ""))


def joined(*parts: Any) -> Any:
    """Plain strings and styled parts as one line (user data is never read as markup)."""
    if not is_terminal():
        return "".join(str(p) for p in parts)
    from rich.text import Text

    out = Text()
    for part in parts:
        out.append(part if isinstance(part, Text) else str(part))
    return out
