"""Top-level workspace commands: ``mlsre init``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlsre.cli import output
from mlsre.cli.common import JsonOpt


def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the workspace.")] = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Create a workspace: mlsre.yaml, runbooks/, slos/ and a postmortems/ git repository.

    Re-running it never overwrites anything.

    Example: mlsre init oncall && cd oncall && mlsre config show
    """
    from mlsre.workspace import init_workspace

    report = init_workspace(directory)
    if as_json:
        output.print_json(report)
        return
    for rel in report.created:
        output.line(f"created  {rel}")
    for rel in report.kept:
        output.line(f"kept     {rel} (already there)")
    output.line(
        f"Workspace ready in {report.root}. Next: mlsre incident open 'what is wrong' --severity SEV3"
    )


app = typer.Typer()
app.command("init")(init)
