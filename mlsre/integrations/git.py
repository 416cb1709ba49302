"""The only door to git (GitPython, imported lazily by callers of this module)."""

from __future__ import annotations

from pathlib import Path

from mlsre.errors import IntegrationError


def init_repo(path: Path, branch: str = "main") -> bool:
    """Create a git repository at ``path`` unless one is there. True when one was created."""
    if (path / ".git").exists():
        return False
    import git

    try:
        path.mkdir(parents=True, exist_ok=True)
        git.Repo.init(path, initial_branch=branch)
    except (git.GitCommandError, OSError) as exc:
        raise IntegrationError(f"cannot create git repository at {path}: {exc}") from None
    return True
