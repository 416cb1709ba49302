"""``mlsre gameday``: run Chaos Toolkit game days, recorded as incidents of their own kind."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlsre.cli import common, output
from mlsre.cli.common import AsOpt, JsonOpt, config_path
from mlsre.errors import CheckFailed

if TYPE_CHECKING:
    from mlsre.chaos.gameday import GameDayReport

app = typer.Typer(
    help="Run Chaos Toolkit game days, recorded as incidents.\n\n"
    "Example: mlsre gameday run feature-pipeline-nulls",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Run Chaos Toolkit game days, recorded as incidents (flagged as game days, so they stay
    out of `incident stats`). Needs the `chaos` extra: pip install 'mlsre[chaos]'.

    Example: mlsre gameday list
    """


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """The bundled game days.

    Example: mlsre gameday list
    """
    import json

    from mlsre.chaos.gameday import bundled_gamedays

    rows = []
    for path in bundled_gamedays():
        doc = json.loads(path.read_text(encoding="utf-8"))
        rows.append([path.stem, str(doc.get("title", ""))])
    if as_json:
        output.print_json([{"name": n, "title": t} for n, t in rows])
    else:
        output.table("bundled game days", ["name", "title"], rows)


@app.command("run")
def run(
    ctx: typer.Context,
    experiment: Annotated[
        str, typer.Argument(help="A Chaos Toolkit experiment (JSON/YAML) or a bundled name.")
    ],
    workdir: Annotated[
        Path,
        typer.Option("--workdir", help="Where corrupted copies and the journal are written."),
    ] = Path("gameday"),
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a game day through chaostoolkit-lib: steady-state hypothesis before and after, the
    method (faults and the probes that should notice them), rollbacks always. Records it as a
    game-day incident with every activity on the timeline and the journal as evidence; exits 1
    when the hypothesis deviated or a probe did not notice the fault.

    Example: mlsre gameday run data-drift --workdir /tmp/gameday && mlsre postmortem render INC-1
    """
    from mlsre.actor import resolve_actor
    from mlsre.chaos.gameday import find_gameday, run_gameday

    path = find_gameday(experiment)
    store = common.store(ctx)
    report = run_gameday(path, store, resolve_actor(as_), workdir, config=config_path(ctx))
    if as_json:
        output.print_json(report)
    else:
        _render(report)
    if not report.passed:
        raise CheckFailed(f"game day {report.title!r} failed: {report.learned}")


def _render(report: GameDayReport) -> None:
    rows = [
        [a.phase, a.type, (a.name), output.styled(a.status), (a.summary[:100])]
        for a in report.activities
    ]
    output.table(
        (f"{report.incident} game day: {report.title} ({report.status})"),
        ["phase", "type", "activity", "status", "result"],
        rows,
    )
    output.line(report.learned)
    output.line(f"journal: {report.journal}")
    verdict = "game day passed" if report.passed else "game day FAILED"
    output.line(verdict, tone="ok" if report.passed else "bad")
