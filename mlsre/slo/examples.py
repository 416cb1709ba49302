"""The example SLO files shipped with mlsre (``mlsre init`` can copy them into ``slos/``).

They are the files of ``docs/examples/slos/`` (a test keeps the two identical), bundled so an
installed mlsre has them too.
"""

from __future__ import annotations

from mlsre import paths


def example_files() -> dict[str, str]:
    """File name -> text of each bundled example SLO file, sorted by name."""
    folder = paths.bundled_dir("slos")
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))}
