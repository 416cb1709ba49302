"""``mlsre config``: what configuration is in force, and where each value came from."""

from __future__ import annotations

import typer

from mlsre.cli import output
from mlsre.cli.common import JsonOpt, config_path, store_flag

app = typer.Typer(
    help="Inspect the effective configuration.\n\nExample: mlsre config show",
    no_args_is_help=True,
)


@app.command()
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Print the effective config, where each value came from, secrets redacted.

    Precedence: flag > MLSRE_* environment > mlsre.yaml > default.

    Example: mlsre config show --json
    """
    from mlsre.settings import effective, load_settings

    overrides = {("store", "url"): s} if (s := store_flag(ctx)) else None
    settings, sources = load_settings(config_path(ctx), overrides)
    rows = effective(settings, sources)
    if as_json:
        output.print_json(
            {
                "config_file": settings.config_path,
                "settings": [{"key": k, "value": v, "source": src} for k, v, src in rows],
            }
        )
        return
    output.line(f"config file: {settings.config_path or '(none found; using defaults)'}")
    output.table(None, ["KEY", "VALUE", "SOURCE"], [[k, v, src] for k, v, src in rows])
