"""``mlsre runbook check --live``: would each runbook work against the live systems right now?

Registered on the ``runbook`` group by :mod:`mlsre.cli.runbook`; the logic is
:mod:`mlsre.preflight`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mlsre.cli import common, output
from mlsre.cli.common import AtOpt, InputOpt, JsonOpt

MARK = {"ok": "ok", "not_run": "-", "no_data": "no data"}


def check(
    ctx: typer.Context,
    runbooks: Annotated[
        list[str] | None,
        typer.Argument(metavar="[ID]...", help="Runbook ids or files (default: all in force)."),
    ] = None,
    live: Annotated[
        bool,
        typer.Option("--live", help="Run the read-only steps against Prometheus and the registry."),
    ] = False,
    inputs: InputOpt = None,
    at: AtOpt = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print a Markdown report (for CI artifacts).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Preflight: run every read-only step against the live systems; say what would break.

    Mutating steps never run (their registry targets are checked instead); nothing is recorded.
    Per step: ok, no data, unknown metric (with did-you-mean), a label the query needs that the
    metric lacks, a label value not there, a missing registry model or alias, and the --input
    override that would fix it. Exit 1 when any runbook would not work; 4 when a server could
    not be asked. Each runbook takes the --input values it declares.

    Example: mlsre runbook check --live -i model=fraud-detector --markdown > preflight.md
    """
    from mlsre.errors import UsageError
    from mlsre.preflight.check import check_runbooks
    from mlsre.runbook.loader import discover, find_runbook
    from mlsre.runbook.runner import parse_pairs
    from mlsre.timeutil import parse_time

    if not live:
        raise UsageError(
            "runbook check needs --live (it runs steps against Prometheus and the registry)",
            hint="offline checks: `mlsre runbook validate`",
        )
    if markdown and as_json:
        raise UsageError("choose one of --json and --markdown")
    settings = common.settings(ctx)
    invalid: list[str] = []
    if runbooks:
        entries = [find_runbook(ref, settings) for ref in runbooks]
    else:
        catalog = discover(settings)
        entries = catalog.in_force()
        invalid = [str(p) for p in catalog.problems]
    books = [e.runbook for e in entries if e.runbook is not None]
    report = check_runbooks(
        books,
        settings,
        inputs=parse_pairs(inputs or []),
        at=parse_time(at) if at else None,
    )
    report.invalid = invalid
    if as_json:
        output.print_json(report.as_json())
    elif markdown:
        from mlsre.preflight.markdown import render

        output.line(render(report).rstrip("\n"))
    else:
        _render(report)
    raise typer.Exit(int(report.exit_code))


def _render(report: Any) -> None:
    for problem in report.invalid:
        output.line(f"invalid runbook (not checked): {problem}", tone="bad")
    for r in report.runbooks:
        verdict = (
            "WOULD NOT WORK"
            if not r.works
            else "UNKNOWN: some steps could not be checked"
            if r.status.value == "unreachable"
            else "NOT CHECKED"
            if r.status.value == "not_run"
            else "works"
        )
        ok = sum(1 for s in r.steps if s.status.value == "ok")
        output.line(
            f"{r.id}: {verdict} ({ok} of {len(r.steps)} steps ok)",
            tone="ok" if r.works else "bad",
        )
        if r.problem:
            output.line(f"  cannot check: {r.problem}")
        rows = [
            [s.step, MARK.get(s.status.value, s.status.value.replace("_", " ")), s.summary]
            for s in r.steps
            if s.status.value not in ("ok", "not_run")
        ]
        for step, status, summary in rows:
            output.line(f"  {step}: {status}: {summary}")
        if r.suggest:
            output.line("  try: " + " ".join(f"--input {k}={v}" for k, v in r.suggest.items()))
    broken = sum(1 for r in report.runbooks if not r.works)
    unknown = sum(1 for r in report.runbooks if r.works and r.status.value == "unreachable")
    works = len(report.runbooks) - broken - unknown
    output.err(
        f"{works} of {len(report.runbooks)} runbook(s) work, {broken} would not, {unknown} "
        f"could not be fully checked (as of {report.at}, in {report.duration_s:.2f} s)"
    )
