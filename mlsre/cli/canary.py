"""``mlsre canary``: judge a canary model version against the baseline; the config format."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlsre.cli import common, output
from mlsre.cli.common import AtOpt, ConfigInputOpt, JsonOpt, StepOpt

if TYPE_CHECKING:
    from mlsre.canary.judge import Judgement

app = typer.Typer(
    help="Canary analysis: judge a canary model version against the baseline version.\n\n"
    "Example: mlsre canary judge fraud-detector --canary 5 --baseline 4 --lookback 30m",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Registered model name.", metavar="MODEL")]
CanaryOpt = Annotated[str, typer.Option("--canary", help="The new version, serving a share.")]
BaselineOpt = Annotated[
    str, typer.Option("--baseline", help="The version it is compared with, serving at once.")
]
ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", help="A CanaryConfig file (default: `mlsre canary default`)."),
]
LookbackOpt = Annotated[
    str | None, typer.Option("--lookback", help="Window length before --at (default 30m).")
]
StartOpt = Annotated[str | None, typer.Option("--start", help="Window start (with --end).")]
EndOpt = Annotated[str | None, typer.Option("--end", help="Window end (with --start).")]
MarkdownOpt = Annotated[
    Path | None,
    typer.Option("--markdown", help="Also write a markdown report here (CI summary, PR comment)."),
]


class MarginalIs(StrEnum):
    FAIL = "fail"
    PASS = "pass"


MarginalOpt = Annotated[
    MarginalIs,
    typer.Option(
        "--marginal-is", help="What a marginal score exits with: fail (1, default) or pass (0)."
    ),
]


def options(
    model: str,
    canary: str,
    baseline: str,
    config: str | None,
    at: str | None,
    lookback: str | None,
    start: str | None,
    end: str | None,
    step: str,
    input_: list[str] | None,
) -> Any:
    from mlsre.canary.run import JudgeOptions
    from mlsre.runbook.runner import parse_pairs

    return JudgeOptions(
        model=model,
        canary=canary,
        baseline=baseline,
        config=config,
        at=at,
        lookback=lookback,
        start=start,
        end=end,
        step=step,
        inputs=parse_pairs(input_ or []),
    )


@app.command("judge")
def judge_cmd(
    ctx: typer.Context,
    model: NameArg,
    canary: CanaryOpt,
    baseline: BaselineOpt,
    config: ConfigOpt = None,
    at: AtOpt = None,
    lookback: LookbackOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    step: StepOpt = "1m",
    input_: ConfigInputOpt = None,
    marginal_is: MarginalOpt = MarginalIs.FAIL,
    markdown: MarkdownOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare the canary version with the baseline on every metric of the config, and decide.

    Both versions must serve at the same time (the canary on a share of the traffic). Exit
    code: 0 pass, 1 fail (or marginal, unless --marginal-is pass), 4 could not judge
    (Prometheus down, a bad query, no data for a critical metric).

    Example: mlsre canary judge fraud-detector --canary 5 --baseline 4 --lookback 1h --markdown report.md
    """
    from mlsre.canary.judge import CannotJudge, Verdict
    from mlsre.canary.run import run_judge

    settings = common.settings(ctx)
    opts = options(model, canary, baseline, config, at, lookback, start, end, step, input_)
    try:
        result = run_judge(opts, settings)
    except CannotJudge as exc:
        if markdown is not None:  # a CI summary should say why there is no verdict
            from mlsre.canary.report import markdown_error
            from mlsre.redaction import redact

            text = markdown_error(model, canary, baseline, redact(exc.message))
            markdown.write_text(text, encoding="utf-8")
        raise
    if markdown is not None:
        from mlsre.canary.report import markdown as render_markdown

        markdown.write_text(render_markdown(result), encoding="utf-8")
    if as_json:
        output.print_json(result)
    else:
        render(result)
    code = result.exit_code(Verdict(marginal_is.value))
    if code:
        raise typer.Exit(code)


def render(result: Judgement) -> None:
    from mlsre.canary.report import COLUMNS, headline, rows

    title = f"canary {result.model} {result.canary} vs baseline {result.baseline}"
    output.table(title, COLUMNS, rows(result))
    width = max(len(r.name) for r in result.metrics)
    for r in result.metrics:
        for role in ("baseline", "canary"):
            spark = r.sparklines.get(role) or "(no data)"
            output.line(f"{r.name.ljust(width)}  {role:<8}  {spark}")
    output.line(headline(result), tone=output.tone_of(result.verdict.value))


@app.command("validate")
def validate_cmd(
    files: Annotated[list[Path], typer.Argument(help="CanaryConfig files.", metavar="FILE...")],
) -> None:
    """Check CanaryConfig files; every problem at file:line:column.

    Example: mlsre canary validate canary/fraud.yaml
    """
    from mlsre.canary.config import load_config
    from mlsre.yamlfile import YamlProblems

    problems = []
    for f in files:
        try:
            load_config(f)
        except YamlProblems as exc:
            problems.extend(exc.problems)
    for p in problems:
        output.err(str(p))
    if problems:
        raise typer.Exit(1)
    output.line(f"{len(files)} canary config(s) valid")


@app.command("schema")
def schema_cmd(
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead.")
    ] = None,
) -> None:
    """Print the JSON Schema of the CanaryConfig format (for editors).

    Example: mlsre canary schema -o .mlsre/canary.schema.json
    """
    from mlsre.canary.config import config_schema

    text = json.dumps(config_schema(), indent=2) + "\n"
    if out is None:
        output.line(text.rstrip("\n"))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    output.line(f"wrote {out}")


@app.command("default")
def default_cmd() -> None:
    """Print the config used without --config (a starting point for your own).

    Example: mlsre canary default > canary.yaml
    """
    from mlsre.canary.defaults import DEFAULT_CONFIG

    output.line(DEFAULT_CONFIG.rstrip("\n"))
