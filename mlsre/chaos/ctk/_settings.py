"""The mlsre settings an activity runs with: the game day's ``-c`` config when it was given
(passed in the experiment configuration as ``mlsre_config``), else discovery as usual."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CONFIG_KEY = "mlsre_config"


def activity_settings(configuration: dict[str, Any] | None) -> Any:
    from mlsre.settings import load_settings

    path = (configuration or {}).get(CONFIG_KEY)
    settings, _ = load_settings(Path(path) if path else None)
    return settings
