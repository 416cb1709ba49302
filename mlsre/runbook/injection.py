"""Where a templated value would become code: a shell's script argument, a PromQL matcher.

``shell`` steps take an argv list, so a templated argument is data... unless the program is an
interpreter told to run that argument as code (``sh -c``, ``python -c``, ``perl -e``). There a
value such as ``x; touch FILE`` runs. :func:`script_argument_problem` finds that case; the
validator refuses it and the engine refuses to run it. :func:`unescaped_matchers` finds template
values inside a PromQL label matcher's quotes without ``promql_escape`` (a value like
``a",model!="`` changes the query's meaning); the validator warns.
"""

from __future__ import annotations

import re
from typing import Any

from mlsre.runbook.refs import is_template

# Interpreter -> the options whose next argument (or attached value) is a program to run.
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "busybox"})
_CODE_FLAGS: dict[str, tuple[str, ...]] = {
    "python": ("-c",),
    "perl": ("-e", "-E"),
    "ruby": ("-e",),
    "node": ("-e", "--eval", "-p", "--print"),
    "php": ("-r",),
    "osascript": ("-e",),
    "pwsh": ("-c", "-command", "-Command"),
    "powershell": ("-c", "-command", "-Command"),
}


def _program(arg: str) -> str:
    name = arg.rsplit("/", 1)[-1].lower()
    return re.sub(r"[\d.]+$", "", name)  # python3.11 -> python


def script_argument_problem(argv: Any) -> tuple[int, str] | None:
    """(index, message) when a templated argument is run as code by an interpreter."""
    if not isinstance(argv, list):
        return None
    args = [a if isinstance(a, str) else "" for a in argv]
    # Anywhere in the line, not only first: `env X=1 sh -c`, `sudo -u ops sh -c`, `timeout 5 sh`.
    for start, arg in enumerate(args):
        prog = _program(arg)
        if prog not in _SHELLS and prog not in _CODE_FLAGS:
            continue
        index = _script_index(prog, args, start)
        if index is not None and is_template(args[index]):
            return index, _message(prog, arg)
    return None


def _script_index(prog: str, args: list[str], start: int) -> int | None:
    """Where the code an interpreter started at ``start`` runs is (None: it runs no inline code)."""
    find = _shell_script if prog in _SHELLS else _inline_code
    return find(_CODE_FLAGS.get(prog, ()), args, start)


def _next(args: list[str], i: int) -> int | None:
    return i + 1 if i + 1 < len(args) else None


def _shell_script(flags: tuple[str, ...], args: list[str], start: int) -> int | None:
    """``sh -c SCRIPT`` (also -ec, -lc, -xc): options up to the first operand."""
    for i in range(start + 1, len(args)):
        arg = args[i]
        if arg == "--" or not arg.startswith("-"):
            return None
        if not arg.startswith("--") and "c" in arg[1:]:
            return _next(args, i)
    return None


def _inline_code(flags: tuple[str, ...], args: list[str], start: int) -> int | None:
    """``python -c CODE``, ``python -c'CODE'``, ``node -e CODE``: options up to the first operand."""
    for i in range(start + 1, len(args)):
        arg = args[i]
        if arg in flags:
            return _next(args, i)
        if any(arg.startswith(f) and len(arg) > len(f) for f in flags if len(f) == 2):
            return i
        if not arg.startswith("-"):
            return None
    return None


def _message(prog: str, shown: str) -> str:
    if prog in _SHELLS:
        how = (
            f"keep the script fixed and pass the value as an argument, e.g. "
            f"argv: [{shown}, -c, 'echo \"$1\"', {prog}, '{{{{ inputs.model }}}}'], or in `env:` "
            'and read "$NAME"'
        )
    else:
        how = "keep the code fixed and pass the value as an argument (sys.argv) or in `env:`"
    return (
        f"a template in the code {shown} runs: an input such as `x; touch FILE` would run as "
        f"code; {how}"
    )


# A double-quoted label matcher value: {name="..."} / {name=~"..."} / != / !~
_MATCHER = re.compile(r'(?:[A-Za-z_][A-Za-z0-9_]*|\}\})\s*(?:=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
_SAFE_FILTERS = ("promql_escape", "duration", "int", "float", "round", "percent")


def unescaped_matchers(query: str) -> list[str]:
    """Template expressions inside PromQL label matchers' quotes that are not escaped."""
    out: list[str] = []
    # Template tags may hide the braces and quotes; look at the text with each {{ }} as a word.
    for m in _MATCHER.finditer(query):
        for expr in _EXPR.findall(m.group(1)):
            text = expr.strip()
            if not any(f in text for f in _SAFE_FILTERS) and text not in out:
                out.append(text)
    return out
