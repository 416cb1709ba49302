"""Who is acting: ``--as``, then ``$MLSRE_USER``, then git ``user.name``, then ``$USER``."""

from __future__ import annotations

import os
import subprocess


def resolve_actor(flag: str | None = None) -> str:
    if flag:
        return flag
    env = os.environ.get("MLSRE_USER")
    if env:
        return env
    try:
        out = subprocess.run(
            ["git", "config", "--get", "user.name"],
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"
