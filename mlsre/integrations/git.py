"""The only door to git (GitPython, imported lazily by callers of this module).

Everything here works on a repository a person also uses: nothing is forced, stashed or reset.
A change of someone else's that is not committed stops us (:func:`ensure_clean`); a push that
fails leaves the local commit in place and says so (:class:`PushFailed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlsre.errors import IntegrationError, UsageError


class PushFailed(IntegrationError):
    """The commit is made locally; sending it to the remote did not work."""


class CommitFailed(IntegrationError):
    """Staging or committing did not work (a hook refused, the repository is read-only)."""


@dataclass(frozen=True)
class Identity:
    name: str
    email: str
    source: str  # "git config" or "actor"


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


def open_repo(path: Path) -> Any:
    """The repository whose top folder is ``path`` (a ``git.Repo``)."""
    import git

    if not path.is_dir():
        raise UsageError(
            f"postmortem repository {path} does not exist",
            hint="create it with `git init` (or `mlsre init`), or pass --repo PATH",
        )
    try:
        return git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(
            f"{path} is not a git repository",
            hint=f"run `git init {path}`, or point postmortems.repo / --repo at your postmortem repo",
        ) from None


def dirty_paths(repo: Any) -> list[str]:
    """Paths with uncommitted changes (staged, unstaged or untracked), as git prints them."""
    out: str = repo.git.status("--porcelain", "--untracked-files=all")
    return [line[3:] for line in out.splitlines() if line.strip()]


def ensure_clean(repo: Any) -> None:
    changed = dirty_paths(repo)
    if changed:
        shown = ", ".join(changed[:5]) + (
            f" (+{len(changed) - 5} more)" if len(changed) > 5 else ""
        )
        raise IntegrationError(
            f"{repo.working_tree_dir} has uncommitted changes: {shown}",
            hint="commit or stash them first (mlsre never overwrites work that is not committed),"
            " then publish again",
        )


def has_commits(repo: Any) -> bool:
    try:
        repo.head.commit  # noqa: B018 - raises on an unborn branch
    except ValueError:
        return False
    return True


def current_branch(repo: Any) -> str | None:
    try:
        return str(repo.active_branch.name)
    except TypeError:  # detached HEAD
        return None


def switch_branch(repo: Any, branch: str) -> bool:
    """Make ``branch`` the checked-out branch (creating it from HEAD). True when it was created."""
    if current_branch(repo) == branch:
        return False
    if not has_commits(repo):  # unborn: just point HEAD at the new name
        repo.git.symbolic_ref("HEAD", f"refs/heads/{branch}")
        return True
    created = branch not in [h.name for h in repo.heads]
    import git

    try:
        if created:
            repo.git.checkout("-b", branch)
        else:
            repo.git.checkout(branch)
    except git.GitCommandError as exc:
        raise IntegrationError(f"cannot switch to branch {branch}: {_stderr(exc)}") from None
    return created


def identity(repo: Any, actor: str) -> Identity:
    """Author from the repository's git config (user.name/email), else the mlsre actor."""
    reader = repo.config_reader()
    name = reader.get_value("user", "name", default="")
    email = reader.get_value("user", "email", default="")
    if name and email:
        return Identity(str(name), str(email), "git config")
    local = re.sub(r"[^A-Za-z0-9._-]+", ".", actor).strip(".") or "mlsre"
    return Identity(str(name) or actor, str(email) or f"{local}@users.noreply.mlsre", "actor")


def commit_paths(
    repo: Any, paths: list[str], removed: list[str], message: str, who: Identity
) -> str | None:
    """Stage ``paths`` (and the removal of ``removed``), commit them; None when nothing changed."""
    import git

    from mlsre.redaction import redact
    from mlsre.textsafe import visible

    where = repo.working_tree_dir
    try:
        if paths:
            repo.index.add(paths)
        if removed:
            repo.index.remove(removed, working_tree=True)
        if has_commits(repo) and not repo.index.diff("HEAD"):
            return None
        person = git.Actor(visible(who.name), who.email)
        commit = repo.index.commit(visible(redact(message)), author=person, committer=person)
    except git.exc.HookExecutionError as exc:
        raise CommitFailed(
            f"a git hook in {where} refused the commit: {_stderr(exc)}",
            hint="fix what the hook reports (or the hook itself), then publish again",
        ) from None
    except (git.GitCommandError, OSError) as exc:
        why = _stderr(exc) if isinstance(exc, git.GitCommandError) else (exc.strerror or str(exc))
        raise CommitFailed(
            f"cannot commit in {where}: {why}",
            hint="check that the repository is writable and not locked by another git",
        ) from None
    return str(commit.hexsha)


def push(repo: Any, remote: str, branch: str) -> None:
    """Push ``branch`` to ``remote``; raises :class:`PushFailed` (the local commit stays)."""
    import git

    if remote not in [r.name for r in repo.remotes]:
        raise PushFailed(
            f"the repository has no remote named {remote}",
            hint=f"add one with `git -C {repo.working_tree_dir} remote add {remote} URL`",
        )
    try:
        repo.git.push(remote, f"refs/heads/{branch}:refs/heads/{branch}")
    except git.GitCommandError as exc:
        why = _stderr(exc)
        if "[rejected]" in why or "non-fast-forward" in why or "fetch first" in why:
            raise PushFailed(
                f"push to {remote} failed: {branch} was rejected, the remote has commits this"
                " repository does not",
                hint=f"run `git -C {repo.working_tree_dir} pull --rebase {remote} {branch}`, then"
                " publish again with --push",
            ) from None
        raise PushFailed(f"push to {remote} failed: {why}") from None


def _stderr(exc: Any) -> str:
    """The lines of git's complaint that say what happened (not its hints or our command)."""
    text = str(getattr(exc, "stderr", "") or exc)
    lines = [ln.strip().strip("'\"").strip() for ln in text.splitlines()]
    lines = [ln.removeprefix("stderr:").strip().strip("'").strip() for ln in lines]
    useful = [ln for ln in lines if ln and not ln.startswith(("hint:", "To ", "cmdline:"))]
    from mlsre.redaction import redact

    return redact("; ".join(useful[-3:])) or "unknown git error"
