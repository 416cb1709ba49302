"""``mlsre doctor``: check config, store, postmortem repo, Prometheus and the registry."""

from __future__ import annotations

import typer

from mlsre.cli import output
from mlsre.cli.common import JsonOpt, config_path, store_flag

app = typer.Typer()


@app.command("doctor")
def doctor(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Check that mlsre can work here: config, store, postmortem repo, Prometheus, registry.

    Each problem comes with a hint. Exits 1 if anything is wrong.

    Example: mlsre doctor
    """
    from mlsre.doctor import CheckStatus, run_checks

    checks = run_checks(config_path(ctx), store_flag(ctx))
    failed = any(c.status is CheckStatus.FAIL for c in checks)
    if as_json:
        output.print_json({"ok": not failed, "checks": checks})
    else:
        rows = [[c.name, output.styled(c.status.value), c.detail, c.hint or ""] for c in checks]
        output.table("mlsre doctor", ["check", "status", "detail", "fix"], rows)
    if failed:
        raise typer.Exit(1)
