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

# Command groups load on demand: `mlsre incident list` builds only the incident group, so
# adding groups never slows the commands people type at 03:00. To add one: a line here; its
# module exposes `app` (a typer.Typer). Names in SINGLE are one command, not a group.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "mlsre.cli.workspace",
        "Create a workspace (mlsre.yaml, runbooks/, slos/, postmortems/).",
    ),
    "incident": ("mlsre.cli.incident", "Open, track and close incidents."),
    "runbook": ("mlsre.cli.runbook", "List, show, validate, write and run runbooks."),
    "triage": ("mlsre.cli.triage", "What is wrong with a model, and which runbook to run next."),
    "change": ("mlsre.cli.change", "The team's change log, read by `incident changes`."),
    "notify": ("mlsre.cli.notify", "Notifications: deliver, list, retry, test a channel."),
    "canary": ("mlsre.cli.canary", "Judge a canary model version against the baseline."),
    "model": ("mlsre.cli.model", "Model registry: versions, rollback, promotion, fallback."),
    "drift": ("mlsre.cli.drift", "Compare two datasets for drift."),
    "data": ("mlsre.cli.data", "Data-quality checks on a dataset."),
    "chaos": ("mlsre.cli.chaos", "Corrupt data on purpose; find out which checks would notice."),
    "gameday": ("mlsre.cli.gameday", "Run Chaos Toolkit game days, recorded as incidents."),
    "slo": ("mlsre.cli.slo", "SLOs, error budgets, burn rates and Prometheus rules."),
    "postmortem": ("mlsre.cli.postmortem", "Render, lint and publish blameless postmortems."),
    "config": ("mlsre.cli.config_cmd", "Inspect the effective configuration."),
    "store": ("mlsre.cli.store", "Incident store: status, migrations, copy between backends."),
    "doctor": ("mlsre.cli.doctor", "Check config, store, Prometheus and the registry."),
    "readiness": (
        "mlsre.cli.readiness",
        "Production-readiness scorecard per model, measured live.",
    ),
    "demo": ("mlsre.cli.demo", "The whole incident story on this machine, no servers needed."),
    "serve": ("mlsre.cli.serve", "Alertmanager receiver: alerts in, incidents out; incident page."),
}


SINGLE = frozenset({"init", "doctor", "demo", "readiness", "triage"})


class _Root(TyperGroup):
    """Root group: loads command groups lazily; the one place exceptions become exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        import importlib

        sub = importlib.import_module(COMMANDS[cmd_name][0]).app
        cmd = typer.main.get_command(sub) if cmd_name in SINGLE else typer.main.get_group(sub)
        cmd.name = cmd_name
        # shell completion is the root's business, not each command's
        cmd.params = [
            p for p in cmd.params if p.name not in ("install_completion", "show_completion")
        ]
        if cmd_name not in SINGLE:  # the summary lives in COMMANDS; the module adds its example
            _, _, more = (cmd.help or "").partition("\n\n")
            cmd.help = COMMANDS[cmd_name][1] + (f"\n\n{more}" if more else "")
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from mlsre.redaction import redacted_streams

        with redacted_streams():  # everything printed, by us or a library, loses its secrets
            return self._invoke(ctx)

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MlsreError as exc:
            _report(ctx, exc)
            raise SystemExit(int(exc.exit_code)) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            from mlsre import interrupts

            interrupts.record()  # "interrupted" on the incident a run was working on
            sys.stderr.write("interrupted\n")
            raise SystemExit(int(ExitCode.INTERRUPTED)) from None
        except BrokenPipeError:
            raise SystemExit(int(ExitCode.OK)) from None
        except OSError as exc:  # a path that is a directory, read-only, missing: not our bug
            _report(ctx, MlsreError(_os_error(exc), hint="check the path and its permissions"))
            raise SystemExit(int(ExitCode.FAILED)) from None
        except ValueError as exc:
            if "null byte" not in str(exc):  # os.* refuses a path with NUL in it
                return self._internal(ctx, exc)
            _report(ctx, MlsreError("an argument contains a NUL byte (\\x00)"))
            raise SystemExit(int(ExitCode.USAGE)) from None
        except Exception as exc:  # a bug in mlsre: say so, never dump a stack unasked
            return self._internal(ctx, exc)

    def _internal(self, ctx: click.Context, exc: Exception) -> Any:
        if _want_traceback(ctx):
            import traceback

            traceback.print_exception(exc)
        from mlsre.textsafe import visible

        sys.stderr.write(f"internal error: {type(exc).__name__}: {visible(str(exc))}\n")
        sys.stderr.write("hint: this is a bug in mlsre; rerun with --traceback and report it\n")
        raise SystemExit(int(ExitCode.INTERNAL)) from None


def _os_error(exc: OSError) -> str:
    """``cannot use '.': Is a directory`` from an OSError, in one line."""
    what = exc.strerror or type(exc).__name__
    name = exc.filename if exc.filename is not None else ""
    return f"cannot use '{name}': {what}" if name != "" else f"file system error: {what}"


def _want_traceback(ctx: click.Context) -> bool:
    obj = ctx.find_root().obj
    return bool(isinstance(obj, dict) and obj.get("traceback")) or bool(
        os.environ.get("MLSRE_TRACEBACK")
    )


def _report(ctx: click.Context, exc: MlsreError) -> None:
    if _want_traceback(ctx):
        import traceback

        traceback.print_exc()
    from mlsre.redaction import redact
    from mlsre.textsafe import visible  # a message may echo input: its escapes stay inert

    sys.stderr.write(f"error: {visible(redact(exc.message))}\n")
    if exc.hint:
        sys.stderr.write(f"hint: {visible(redact(exc.hint))}\n")


app = typer.Typer(
    cls=_Root,
    name="mlsre",
    help="Incident and runbook toolkit for machine-learning systems.\n\n"
    "Example: mlsre incident open 'fraud-model p99 latency up' --severity SEV2 --model fraud-detector",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
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
        Path | None,
        typer.Option("--config", "-c", help="Use this mlsre.yaml instead of discovering one."),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option("--store", help="Incident store URL (overrides config and MLSRE_STORE_URL)."),
    ] = None,
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Show the stack trace of any error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Incident and runbook toolkit for machine-learning systems."""
    ctx.obj = {"config": config, "store": store, "traceback": traceback}


def main() -> None:
    from mlsre import interrupts

    interrupts.install()
    code: int | str | None = 0
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = int(ExitCode.INTERRUPTED)
    except SystemExit as exc:
        code = exc.code
    # A step worker still stuck on a server must not hold the finished command open.
    if code == int(ExitCode.INTERRUPTED) or interrupts.stuck_threads():
        interrupts.exit_now(code if isinstance(code, int) else 1)
    raise SystemExit(code)
