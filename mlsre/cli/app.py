"""The ``mlsre`` command: composes the command groups and turns errors into exit codes.

Command modules import only typer and light mlsre modules at the top; the logic they call is
imported inside each command, so ``mlsre --help`` never pays for requests, jinja2 or numpy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from mlsre import __version__
from mlsre.errors import ExitCode, MlsreError


class _Root(TyperGroup):
    """Root group: the one place that turns exceptions into a message and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MlsreError as exc:
            _report(ctx, exc)
            raise SystemExit(int(exc.exit_code)) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            sys.stderr.write("interrupted\n")
            raise SystemExit(int(ExitCode.INTERRUPTED)) from None
        except BrokenPipeError:
            raise SystemExit(int(ExitCode.OK)) from None
        except Exception as exc:  # a bug in mlsre: say so, never dump a stack unasked
            if _want_traceback(ctx):
                import traceback

                traceback.print_exc()
            name = type(exc).__name__
            sys.stderr.write(f"internal error: {name}: {exc}\n")
            sys.stderr.write("hint: this is a bug in mlsre; rerun with --traceback and report it\n")
            raise SystemExit(int(ExitCode.INTERNAL)) from None


def _want_traceback(ctx: typer.Context) -> bool:
    obj = ctx.find_root().obj
    return bool(isinstance(obj, dict) and obj.get("traceback")) or bool(os.environ.get("MLSRE_TRACEBACK"))


def _report(ctx: typer.Context, exc: MlsreError) -> None:
    if _want_traceback(ctx):
        import traceback

        traceback.print_exc()
    from mlsre.config import redact

    sys.stderr.write(f"error: {redact(exc.message)}\n")
    if exc.hint:
        sys.stderr.write(f"hint: {redact(exc.hint)}\n")


app = typer.Typer(
    cls=_Root,
    name="mlsre",
    help="Incident and runbook toolkit for machine-learning systems.\n\n"
    "Example: mlsre incident open 'fraud-model p99 latency up' --severity SEV2 --model fraud-detector",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"mlsre {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Use this mlsre.yaml instead of discovering one.")
    ] = None,
    store: Annotated[
        str | None, typer.Option("--store", help="Incident store URL (overrides config and MLSRE_STORE_URL).")
    ] = None,
    traceback: Annotated[bool, typer.Option("--traceback", help="Show the stack trace of any error.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Incident and runbook toolkit for machine-learning systems."""
    ctx.obj = {"config": config, "store": store, "traceback": traceback}


def _register() -> None:
    from mlsre.cli import config_cmd, incident, workspace

    app.add_typer(incident.app, name="incident")
    app.add_typer(config_cmd.app, name="config")
    workspace.register(app)


_register()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
