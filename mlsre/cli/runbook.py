"""``mlsre runbook``: every subcommand of the group is registered here (see the end).

list, show, validate, schema, kinds and new live in this module; run, resume, approve and test
(the engine at the terminal) in :mod:`mlsre.cli.runbook_run`; check --live (the preflight) in
:mod:`mlsre.cli.runbook_check`. Thin: parse, call :mod:`mlsre.runbook`, render.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlsre.cli import common, output, runbook_check, runbook_run
from mlsre.cli.common import JsonOpt
from mlsre.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from mlsre.runbook.validate import Report
    from mlsre.yamlfile import Problem

app = typer.Typer(
    help="Runbooks: list, show, validate, scaffold, and export the JSON Schema.\n\n"
    "Example: mlsre runbook list --failure-mode latency",
    no_args_is_help=True,
)


def _warn_kinds(warnings: list[str]) -> None:
    for w in warnings:
        output.err(f"warning: {w}")


@app.command("list")
def list_(
    ctx: typer.Context,
    failure_mode: Annotated[
        str | None,
        typer.Option("--failure-mode", "-f", help="Only runbooks for this failure mode."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List runbooks: bundled and workspace ones, and which is in force for each id.

    Example: mlsre runbook list --failure-mode latency --json
    """
    from mlsre.runbook.loader import discover

    catalog = discover(common.settings(ctx))
    entries = [e for e in catalog.entries if failure_mode in (None, e.failure_mode)]
    if as_json:
        output.print_json(
            {
                "runbooks": [e.summary() for e in entries],
                "problems": [str(p) for p in catalog.problems],
                "warnings": catalog.kind_warnings,
            }
        )
        return
    _warn_kinds(catalog.kind_warnings)
    rows = [
        [
            e.id,
            e.failure_mode,
            e.severity,
            e.source.value,
            "yes" if e.in_force else f"no (overridden by {e.overridden_by})",
            e.title,
        ]
        for e in entries
    ]
    output.table(None, ["ID", "FAILURE MODE", "SEV", "SOURCE", "IN FORCE", "TITLE"], rows)
    for p in catalog.problems:
        output.err(f"broken runbook: {p}")


@app.command("show")
def show(
    ctx: typer.Context,
    runbook: Annotated[str, typer.Argument(help="Runbook id, or a path to a runbook file.")],
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input", "-i", help="name=value: fill the templates in, showing concrete queries."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a runbook: its inputs, and each step with its phase, what it checks and its guidance.

    Example: mlsre runbook show latency-regression --input model=fraud-detector
    """
    from mlsre.runbook.loader import find_runbook
    from mlsre.runbook.runner import parse_pairs
    from mlsre.runbook.view import describe_runbook

    entry = find_runbook(runbook, common.settings(ctx))
    assert entry.runbook is not None
    given = parse_pairs(inputs) if inputs is not None else None
    view = describe_runbook(entry.runbook, path=entry.path, source=entry.source.value, inputs=given)
    if as_json:
        output.print_json(view)
        return
    _render_show(view)


def _render_show(view: dict[str, Any]) -> None:
    output.line(f"{view['title']}  ({view['id']})", tone="accent")
    output.fields(
        [
            ("failure mode", view["failure_mode"]),
            ("severity", view["severity"]),
            ("source", f"{view['source']}: {view['path']}"),
            ("triggers", ", ".join(view["triggers"]["alerts"] + view["triggers"]["slos"]) or "-"),
            ("owners", ", ".join(view["owners"]) or "-"),
        ]
    )
    if view["description"]:
        output.line()
        output.line(view["description"].strip())
    if view["inputs"]:
        output.line()
        rows = [
            [
                name,
                i["type"],
                "yes" if i["required"] else "",
                "" if i["default"] is None else str(i["default"]),
                i["description"],
            ]
            for name, i in view["inputs"].items()
        ]
        output.table("Inputs", ["NAME", "TYPE", "REQUIRED", "DEFAULT", "DESCRIPTION"], rows)
    for n, step in enumerate(view["steps"], start=1):
        output.line()
        output.line(f"{n}. [{step['phase']}] {step['id']}: {step['title']}", tone="accent")
        output.line(f"   {step['uses']}: {step['action']}")
        for key in ("when", "expect", "needs", "on_fail", "confirm"):
            if step.get(key):
                value = ", ".join(step[key]) if isinstance(step[key], list) else str(step[key])
                output.line(f"   {key}: {value}")
        for text in step["guidance"].strip().splitlines():
            output.line(f"   | {text}")


def _print_report(report: Report, strict: bool) -> list[Problem]:
    _warn_kinds(report.kind_warnings)
    for p in report.problems:
        output.line(f"{p}")
    for w in report.warnings:
        output.line(f"{w} (warning)")
    return report.problems + (report.warnings if strict else [])


@app.command("validate")
def validate(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Runbook files or folders (default: the bundled and workspace runbooks)."
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Treat warnings as problems too.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate runbooks: every problem in every file, at file:line:column. Exit 1 if any.

    Results are cached by file content (MLSRE_NO_CACHE=1 skips the cache).

    Example: mlsre runbook validate runbooks/
    """
    from mlsre.runbook.loader import bundled_dir, workspace_dirs
    from mlsre.runbook.validate import runbook_files, validate_paths

    defaults = [
        bundled_dir(),
        *(d for d in workspace_dirs(common.settings(ctx)) if runbook_files(d)),
    ]
    targets = list(paths or defaults)
    missing = [str(p) for p in targets if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    report = validate_paths(targets)
    failing = report.problems + (report.warnings if strict else [])
    if as_json:
        output.print_json(
            {
                "ok": not failing,
                "files": len(report.files),
                "problems": [_problem_json(p) for p in report.problems],
                "warnings": [_problem_json(p) for p in report.warnings],
                "kind_warnings": report.kind_warnings,
            }
        )
    else:
        _print_report(report, strict)
        n = len(report.files)
        if failing:
            output.err(
                f"{len(failing)} problem(s) in {len({p.path for p in failing})} of {n} file(s)"
            )
        else:
            output.err(
                f"{n} runbook file(s) OK"
                + (f", {len(report.warnings)} warning(s)" if report.warnings else "")
            )
    if failing:
        raise typer.Exit(int(ExitCode.FAILED))


def _problem_json(p: Problem) -> dict[str, Any]:
    return {
        "path": p.path,
        "line": p.line,
        "column": p.column,
        "field": p.loc,
        "message": p.message,
    }


@app.command("schema")
def schema(
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of the runbook format (for editors with the YAML language server).

    Example: mlsre runbook schema -o .mlsre/runbook.schema.json
    """
    import json

    from mlsre.runbook.schema import runbook_schema, write_schema

    if out is not None:
        write_schema(out)
        output.err(f"wrote {out}")
        return
    output.line(json.dumps(runbook_schema(), indent=2))


@app.command("kinds")
def kinds(
    kind: Annotated[
        str | None, typer.Argument(help="One kind: each parameter's meaning and default.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the step kinds a runbook can use (`uses:`), with their parameters.

    Example: mlsre runbook kinds prometheus.compare
    """
    from mlsre.runbook.view import describe_kinds

    view = describe_kinds()
    if kind is not None:
        from mlsre.errors import NotFoundError

        one = next((k for k in view["kinds"] if k["name"] == kind), None)
        if one is None:
            names = ", ".join(k["name"] for k in view["kinds"])
            raise NotFoundError(f"no step kind named '{kind}'", hint=f"one of: {names}")
        if as_json:
            output.print_json(one)
            return
        output.line(
            f"{one['name']}: {one['summary']}" + (" (changes a system)" if one["mutating"] else "")
        )
        rows = [
            [
                p["name"],
                p["type"],
                "yes" if p["required"] else "",
                "" if p["default"] is None else str(p["default"]),
                p["description"],
            ]
            for p in one["parameters"]
        ]
        output.table(None, ["PARAMETER", "TYPE", "REQUIRED", "DEFAULT", "MEANING"], rows)
        return
    if as_json:
        output.print_json(view)
        return
    _warn_kinds(view["warnings"])
    rows = [
        [k["name"], "yes" if k["mutating"] else "", ", ".join(k["params"]), k["source"]]
        for k in view["kinds"]
    ]
    output.table(None, ["KIND", "MUTATING", "WITH", "FROM"], rows)


@app.command("new")
def new(
    ctx: typer.Context,
    runbook_id: Annotated[
        str, typer.Argument(metavar="ID", help="Id of the new runbook, e.g. fraud-latency.")
    ],
    failure_mode: Annotated[
        str, typer.Option("--failure-mode", "-f", help="e.g. latency, data-drift.")
    ],
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Folder to write to (default: the first runbook_paths entry)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Scaffold a new runbook that validates, with one step per phase to fill in.

    Example: mlsre runbook new fraud-latency --failure-mode latency
    """
    from mlsre.runbook.scaffold import write_scaffold

    settings = common.settings(ctx)
    folder = directory or settings.resolve(
        settings.runbook_paths[0] if settings.runbook_paths else "runbooks"
    )
    path = write_scaffold(
        runbook_id, failure_mode, folder, force=force, workspace=Path(settings.base_dir)
    )
    if as_json:
        output.print_json({"id": runbook_id, "path": str(path)})
    else:
        output.line(f"wrote {path}")
        output.line(f"next: edit it, then `mlsre runbook validate {path}`")


# The engine at the terminal, and the live preflight, in their own modules.
app.command("run")(runbook_run.run)
app.command("resume")(runbook_run.resume)
app.command("approve")(runbook_run.approve)
app.command("test")(runbook_run.test)
app.command("check")(runbook_check.check)
