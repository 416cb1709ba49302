"""``mlsre demo``: the whole story on this machine, no servers needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlsre.cli import output
from mlsre.cli.common import JsonOpt

app = typer.Typer()


@app.command("demo")
def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Workspace to create (default: a new temporary folder)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open an incident, run two runbooks, roll back, resolve and publish the postmortem.

    Prometheus and MLflow answers are a replay of recorded data (a fraud model whose version 4
    went live ~7x slower); drift is computed for real on bundled samples; the postmortem is
    committed to a new local git repository.

    Example: mlsre demo --dir /tmp/mlsre-demo
    """
    import tempfile

    from mlsre.demo import run_demo

    root = directory or Path(tempfile.mkdtemp(prefix="mlsre-demo-"))
    if not as_json:
        output.line(
            "mlsre demo: a REPLAY of recorded Prometheus and MLflow data; nothing live is touched.",
            tone="accent",
        )
    report = run_demo(root, say=(lambda _: None) if as_json else output.line)
    if as_json:
        output.print_json(report)
        return
    output.line()
    output.line("Where to look:", tone="accent")
    output.line(f"  cd {report.workspace}")
    output.line(f"  mlsre incident show {report.incident}          # state, roles, durations")
    output.line(
        f"  mlsre incident timeline {report.incident}      # all {report.timeline_events} events"
    )
    output.line(f"  less {report.postmortem}")
    output.line(
        "  git -C postmortems log --stat              # the commit, charts and evidence JSON"
    )
