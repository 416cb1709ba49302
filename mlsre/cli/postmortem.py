"""``mlsre postmortem``: render, lint and publish blameless postmortems. Thin: parse, call, render."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlsre.cli import common, output
from mlsre.cli.common import AsOpt, IncidentArg, JsonOpt
from mlsre.errors import ExitCode

if TYPE_CHECKING:
    from mlsre.postmortem.lint import LintReport

app = typer.Typer(
    help="Render, lint and publish blameless postmortems.\n\n"
    "Example: mlsre postmortem publish INC-7 --push",
    no_args_is_help=True,
)

TemplateOpt = Annotated[
    str | None,
    typer.Option(
        "--template", "-t", help="Template name (from templates/ or bundled) or a .md.j2 file."
    ),
]
NoSloOpt = Annotated[
    bool, typer.Option("--no-slo", help="Skip the SLO impact (no Prometheus queries).")
]


@app.callback()
def _group() -> None:
    """Postmortems from the incident record: markdown, charts and evidence, committed to git.

    Example: mlsre postmortem render INC-7 -o INC-7.md
    """


@app.command("render")
def render(
    ctx: typer.Context,
    incident: IncidentArg,
    template: TemplateOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here (charts go to assets/ beside it)."),
    ] = None,
    no_slo: NoSloOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Render an incident's postmortem as markdown (to stdout, or a file with its charts).

    Example: mlsre postmortem render INC-7 -o /tmp/INC-7.md
    """
    from mlsre.incident.model import parse_id
    from mlsre.postmortem import build
    from mlsre.postmortem.render import template_dirs

    settings, store = common.settings_and_store(ctx)
    inc, events = build.load(store, parse_id(incident))
    pm = build.make_context(inc, events, settings=settings, slo=not no_slo)
    dirs = template_dirs(Path(settings.base_dir))
    if out is not None and out.is_dir():
        from mlsre.errors import UsageError

        raise UsageError(
            f"-o {out} is a directory", hint=f"give a file name, e.g. -o {out / (pm.ref + '.md')}"
        )
    if out is None:
        done = build.render(pm, dirs, template)
    else:
        assets = out.parent / "assets" / out.stem
        done = build.render(pm, dirs, template, chart_dir=assets, link_prefix=f"assets/{out.stem}/")
        out.parent.mkdir(parents=True, exist_ok=True)
        from mlsre.redaction import redact
        from mlsre.textsafe import visible

        try:
            out.write_text(visible(redact(done.markdown)), encoding="utf-8")
        except OSError as exc:
            from mlsre.errors import MlsreError

            raise MlsreError(f"cannot write {out}: {exc.strerror or exc}") from None
    if as_json:
        output.print_json(
            {
                "incident": pm.ref,
                "file": str(out) if out else None,
                "charts": [str(p) for p in done.charts],
                "markdown": done.markdown,
                "context": pm,
            }
        )
    elif out is None:
        output.line(done.markdown.rstrip("\n"))
    else:
        charts = f" and {len(done.charts)} chart(s) in {out.parent / 'assets' / out.stem}"
        output.line(f"Wrote {out}{charts if done.charts else ''}")


@app.command("lint")
def lint(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(help="A markdown file, or an incident id (INC-7).", metavar="FILE|INC")
    ],
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit 1 when anything is found or a section still says TO WRITE."
        ),
    ] = False,
    names: Annotated[
        list[str] | None,
        typer.Option(
            "--names", help="More people to recognise (the incident's own are known already)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Flag blameful language (human error, should have, naming a person as the cause...).

    People are recognised by name when the incident knows them (actors, role holders, authors
    of the commits `incident changes` found) or you pass --names; any capitalised name that is
    the subject of "forgot", "failed to", "didn't", "ignored"... is flagged too.

    Example: mlsre postmortem lint postmortems/2026/2026-11-28-INC-7-fraud-p99.md --strict
    """
    from mlsre.postmortem.service import lint_target

    settings, store = common.settings_and_store(ctx)
    report = lint_target(target, settings, store, extra_names=names or [])
    if as_json:
        output.print_json(report)
    else:
        _show_lint(report)
        if strict:
            for line, section in report.to_write:
                output.line(f"{report.source}:{line}: to-write: '{section}' still says TO WRITE")
    if strict and (report.findings or report.to_write):
        raise typer.Exit(int(ExitCode.FAILED))


def _show_lint(report: LintReport, limit: int | None = None) -> None:
    shown = report.findings if limit is None else report.findings[:limit]
    for f in shown:
        output.line(f'{report.source}:{f.line}:{f.column}: {f.rule}: "{f.text}"', tone="warn")
        output.line(f"    why: {f.why}")
        output.line(f"    try: {f.suggestion}")
    if limit is not None and len(report.findings) > limit:
        output.line(f"    ... and {len(report.findings) - limit} more")
    if not report.findings:
        output.line(f"{report.source}: no blameful language found", tone="ok")
    elif limit is None:
        output.line(f"{len(report.findings)} finding(s) in {report.source}")


@app.command("publish")
def publish(
    ctx: typer.Context,
    incident: IncidentArg,
    repo: Annotated[
        Path | None, typer.Option("--repo", help="Postmortem git repo (default postmortems.repo).")
    ] = None,
    branch: Annotated[
        str | None,
        typer.Option("--branch", help="Branch to commit on (default postmortems.branch)."),
    ] = None,
    push: Annotated[
        bool | None,
        typer.Option("--push/--no-push", help="Push to the remote (default postmortems.push)."),
    ] = None,
    template: TemplateOpt = None,
    no_slo: NoSloOpt = False,
    as_: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Commit the postmortem (markdown, charts, evidence) to the postmortem repo; closes a resolved incident.

    Re-publishing regenerates only the generated blocks (uncommitted edits: own commit first).

    Example: mlsre postmortem publish INC-7 --repo ../postmortems --push
    """
    from mlsre.actor import resolve_actor
    from mlsre.incident.model import parse_id
    from mlsre.postmortem.publish import publish as do_publish

    settings, store = common.settings_and_store(ctx)
    res = do_publish(
        store,
        parse_id(incident),
        settings,
        actor=resolve_actor(as_),
        repo=repo,
        branch=branch,
        push=push,
        template=template,
        slo=not no_slo,
    )
    if as_json:
        output.print_json(res)
    else:
        where = f"{res.repo}/{res.path}"
        if res.commit:
            verb = "Published" if res.created else "Updated"
            output.line(
                f"{verb} {res.incident}: {where} (commit {res.commit[:10]} on {res.branch})"
            )
        else:
            output.line(f"{res.incident}: {where} is up to date; nothing to commit")
        if res.closed:
            output.line(f"Closed {res.incident} (resolved, postmortem published)")
        if res.pushed:
            output.line(f"Pushed {res.branch} to {settings.postmortems.remote}")
        if res.to_write:
            output.line(
                f"{res.to_write} section(s) still to write: look for 'TO WRITE' in the file"
            )
        if res.dropped_blocks:
            output.line("Not regenerated (removed from the file): " + ", ".join(res.dropped_blocks))
        if res.lint and res.lint.findings:
            output.err(f"warning: {len(res.lint.findings)} blameful phrase(s):")
            _show_lint(res.lint, limit=5)
    if res.push_error:
        kept = (
            f"the commit {res.commit[:10]} is kept locally"
            if res.commit
            else "local commits are kept"
        )
        output.err(f"error: {res.push_error}")
        then = res.push_hint or (
            f"run `mlsre postmortem publish {res.incident} --push` again when the remote is"
            " reachable"
        )
        output.err(f"hint: {kept}; {then}")
        raise typer.Exit(int(ExitCode.FAILED))
