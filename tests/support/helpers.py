"""Small helpers shared by CLI tests."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from mlsre.cli.app import app


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    """Invoke mlsre in-process; returns click's Result (stdout and stderr kept apart)."""
    return CliRunner().invoke(app, list(args), input=input, env=env, catch_exceptions=False)


def ok(*args: str, input: str | None = None) -> Any:
    r = run(*args, input=input)
    assert r.exit_code == 0, f"exit {r.exit_code}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r


def ok_json(*args: str) -> Any:
    return json.loads(ok(*args, "--json").stdout)


def strict_json(text: str) -> Any:
    """JSON as a strict parser reads it: NaN and Infinity are errors, not numbers."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} in --json output")

    return json.loads(text, parse_constant=refuse)
