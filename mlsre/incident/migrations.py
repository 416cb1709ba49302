"""The schema's version history, shared by every backend.

Each backend module holds the SQL of each version (``SQL: dict[int, str]``) and nothing else;
the order, the names and the rules live here. To change the schema: append a ``Migration``
here, add its SQL to *every* backend (a test checks that none is missing), and never edit a
migration that has shipped. A store at a version this code does not know was written by a
newer mlsre and is refused, never read with a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlsre import __version__
from mlsre.errors import StoreError


@dataclass(frozen=True)
class Migration:
    version: int
    name: str


# Versions 2 and 3 are the numbers stores written by earlier mlsre releases already carry (the
# change log; escalation + outbox), so such stores open here as what they are.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "event log, incident projection, meta"),
    Migration(2, "the team's change log"),
    Migration(3, "escalation state and the notification outbox"),
    Migration(4, "migration history; index on opened_at for --since"),
    Migration(5, "serve: alert groups, diagnosis queue, automatic actions, flags"),
)
HISTORY_FROM = 4  # the version that added schema_migrations; earlier ones are back-filled
LATEST = MIGRATIONS[-1].version


def pending(current: int | None) -> tuple[Migration, ...]:
    """The migrations a store at ``current`` (None: empty) still needs, oldest first."""
    return tuple(m for m in MIGRATIONS if m.version > (current or 0))


def newer_store(where: str, version: int, written_by: str | None) -> StoreError:
    by = f" by mlsre {written_by}" if written_by else " by a newer mlsre"
    return StoreError(
        f"{where} has schema version {version}, written{by}; this mlsre {__version__}"
        f" knows versions up to {LATEST}",
        hint="upgrade mlsre (pip install -U mlsre) to use this store; nothing was read or changed",
    )


def needs_migration(where: str, version: int) -> StoreError:
    return StoreError(
        f"{where} has schema version {version}; this mlsre {__version__} needs version {LATEST}",
        hint="run `mlsre store migrate` (everyone sharing the store then needs this mlsre or newer)",
    )
