"""Where mlsre keeps things: config discovery and the bundled runbooks and templates."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_NAME = "mlsre.yaml"


def user_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mlsre"


def user_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mlsre"


def find_config(start: Path | None = None) -> Path | None:
    """Walk up from ``start`` to the first ``mlsre.yaml``, then ``$MLSRE_CONFIG``, then the user dir."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    env = os.environ.get("MLSRE_CONFIG")
    if env:
        return Path(env).expanduser()
    user = user_config_dir() / CONFIG_NAME
    return user if user.is_file() else None


def bundled_dir(name: str) -> Path:
    """A folder shipped with the package under ``mlsre/_bundled`` (runbooks, templates, data,
    gamedays, slos); the one place that knows where it is (works from a wheel too)."""
    return Path(__file__).resolve().parent / "_bundled" / name
