"""``mlsre readiness``: a production-readiness scorecard per model, measured live."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mlsre.cli import common, output
from mlsre.cli.common import AtOpt, InputOpt, JsonOpt

app = typer.Typer()


@app.command("readiness")
def readiness(
    ctx: typer.Context,
    models: Annotated[
        list[str] | None,
        typer.Argument(metavar="[MODEL]...", help="Registered model names (default: all)."),
    ] = None,
    inputs: InputOpt = None,
    at: AtOpt = None,
    min_score: Annotated[
        float | None,
        typer.Option(
            "--min-score",
            min=0,
            max=100,
            help="Exit 1 when a model scores below this (default: readiness.min_score, 0).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Is each model ready for an incident? A scorecard, measured live.

    Items: latency, error, traffic, prediction and feature metrics exist (under the names the
    runbooks use; --input renames them as for `runbook check`); SLOs defined and their rules
    loaded; every alert for the model has a runbook; the runbooks pass `runbook check --live`;
    a rollback target and a fallback exist; a postmortem repo; escalation policy and game days
    (unknown until mlsre has them). Each item says pass, fail or unknown, why, and what fixes
    it. The score is the share of items that pass.

    Example: mlsre readiness fraud-detector --min-score 80
    """
    from mlsre.readiness.score import readiness as score
    from mlsre.runbook.runner import parse_pairs
    from mlsre.timeutil import parse_time

    settings = common.settings(ctx)
    report = score(
        settings,
        list(models or []),
        inputs=parse_pairs(inputs or []),
        at=parse_time(at) if at else None,
        min_score=min_score,
    )
    if as_json:
        output.print_json(report.as_json())
    else:
        _render(report)
    raise typer.Exit(int(report.exit_code))


def _render(report: Any) -> None:
    for card in report.scorecards:
        rows = [
            [
                i.id,
                output.styled(i.status.value),
                (i.reason),
                (i.fix or ""),
            ]
            for i in card.items
        ]
        output.table((card.model), ["item", "status", "reason", "fix"], rows)
        met = card.score >= report.min_score
        verdict = f"{'meets' if met else 'below'} the minimum score {report.min_score:g}"
        counts = card.counts()
        output.line(
            f"{card.model}: score {card.score:g}/100 ({counts['pass']} pass, {counts['fail']} "
            f"fail, {counts['unknown']} unknown): {verdict}",
            tone="ok" if card.score >= report.min_score else "bad",
        )
