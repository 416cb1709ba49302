"""``mlsre store``: which store, which schema version, migrations, and copying history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mlsre.cli import output
from mlsre.cli.common import JsonOpt, config_path, store_flag

if TYPE_CHECKING:
    from mlsre.incident.store_base import EventStore

app = typer.Typer(
    help="The incident store: status, schema migrations, copying between SQLite and PostgreSQL."
    "\n\nExample: mlsre store status",
    no_args_is_help=True,
)


def _open(ctx: typer.Context, *, check_schema: bool) -> EventStore:
    from mlsre.config_file import store_url
    from mlsre.incident.store import open_event_store

    return open_event_store(store_url(store_flag(ctx), config_path(ctx)), check_schema=check_schema)


@app.command()
def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Backend, location, schema version (this mlsre's and the store's) and row counts.

    Example: mlsre --store postgresql://oncall@db.internal:5432/mlsre store status
    """
    st = _open(ctx, check_schema=False).status()
    if as_json:
        output.print_json(st)
        return
    if st.schema_version is None:
        state = "empty (created on first use)"
    elif st.schema_version > st.latest_version:
        state = "written by a newer mlsre: upgrade mlsre"
    elif st.up_to_date:
        state = "up to date"
    else:
        state = "needs `mlsre store migrate`"
    pairs = [
        ("backend", st.backend),
        ("store", st.where),
        ("schema", f"{st.schema_version or '-'} (this mlsre: {st.latest_version}); {state}"),
        ("written by", f"mlsre {st.written_by}" if st.written_by else "-"),
    ]
    pairs += [(name, str(n)) for name, n in st.counts.items()]
    output.fields(pairs)


@app.command()
def migrate(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Bring the store's schema up to this mlsre's version (safe to run twice, or at once).

    A SQLite store migrates by itself when opened; a shared PostgreSQL store only with this
    command, because everyone using it then needs this mlsre or a newer one.

    Example: mlsre store migrate
    """
    store = _open(ctx, check_schema=False)
    applied = store.migrate()
    if as_json:
        output.print_json({"applied": applied, "status": store.status()})
    elif applied:
        for m in applied:
            output.line(f"applied migration {m.version}: {m.name}")
    else:
        output.line(f"{store.where} is already at schema version {store.schema_version()[0]}.")


@app.command()
def copy(
    source: Annotated[str, typer.Argument(help="Store URL to copy from.", metavar="FROM_URL")],
    target: Annotated[str, typer.Argument(help="Store URL to copy into.", metavar="TO_URL")],
    batch: Annotated[
        int, typer.Option(min=1, help="Incidents per transaction in the target.")
    ] = 500,
    as_json: JsonOpt = False,
) -> None:
    """Copy every incident, event and action item from one store into another, and verify.

    Run it again to resume after an interruption or to catch up: rows already copied are
    skipped. Verified by row counts and a checksum of the event log on both sides; exit 1 if
    they differ. Stop writers to the source first for a final copy.

    Example: mlsre store copy sqlite:///.mlsre/mlsre.db postgresql://oncall@db.internal/mlsre
    """
    import sys

    from mlsre.errors import StoreError
    from mlsre.incident.store import open_event_store
    from mlsre.incident.store_copy import copy_store

    src = open_event_store(source)
    dst = open_event_store(target)

    def progress(after: int, copied: dict[str, int]) -> None:
        done = ", ".join(f"{n} {name}" for name, n in copied.items())
        sys.stderr.write(f"copied up to INC-{after}: {done}\n")
        sys.stderr.flush()

    result = copy_store(src, dst, batch=batch, progress=progress)
    if as_json:
        output.print_json({**output.to_jsonable(result), "verified": result.verified})
    else:
        output.fields(
            [
                ("from", result.source),
                ("to", result.target),
                ("copied now", ", ".join(f"{n} {t}" for t, n in result.copied.items())),
                ("source", ", ".join(f"{n} {t}" for t, n in result.source_counts.items())),
                ("target", ", ".join(f"{n} {t}" for t, n in result.target_counts.items())),
                ("event log sha256", result.source_checksum),
                ("verified", "yes" if result.verified else "NO"),
            ]
        )
    if not result.verified:
        raise StoreError(
            "the copy does not match its source (counts or event-log checksum differ)",
            hint="were people writing to either store meanwhile? run the copy again",
        )
