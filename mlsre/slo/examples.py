"""The example SLO files shipped with mlsre (``mlsre init`` can copy them into ``slos/``).

``mlsre/_bundled/slos`` is a link to ``docs/examples/slos/``: one copy, which the docs show
and the wheel ships, so an installed mlsre has them too.
"""

from __future__ import annotations

from mlsre import paths


def example_files() -> dict[str, str]:
    """File name -> text of each bundled example SLO file, sorted by name."""
    folder = paths.bundled_dir("slos")
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))}
