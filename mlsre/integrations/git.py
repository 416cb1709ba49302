"""The only door to git (GitPython, imported lazily by callers of this module).

Everything here works on a repository a person also uses: nothing is forced, stashed or reset.
A change of someone else's that is not committed stops us (:func:`ensure_clean`); a push that
fails leaves the local commit in place and says so (:class:`PushFailed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
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


def ensure_clean(repo: Any, own: tuple[str, ...] = ()) -> list[str]:
    """Refuse when anything but ``own`` paths (or what is under them) has uncommitted changes.

    Returns the changed paths that are ``own`` (a person's edits to a file we generate), which
    the caller may commit as they are before regenerating.
    """
    changed = dirty_paths(repo)
    mine = [p for p in changed if any(p == o or p.startswith(o.rstrip("/") + "/") for o in own)]
    changed = [p for p in changed if p not in mine]
    if changed:
        shown = ", ".join(changed[:5]) + (
            f" (+{len(changed) - 5} more)" if len(changed) > 5 else ""
        )
        raise IntegrationError(
            f"{repo.working_tree_dir} has uncommitted changes: {shown}",
            hint="commit or stash them first (mlsre never overwrites work that is not committed),"
            " then publish again",
        )
    return mine


def restore(repo: Any, paths: list[str], saved: dict[str, bytes | None]) -> None:
    """Undo a failed publication: unstage ``paths`` and put their files back as they were.

    ``saved`` holds each file's bytes before we wrote it (None: it did not exist). Works on a
    read-only ``.git`` too: the files are restored from ``saved``, not from git.
    """
    import contextlib

    import git

    with contextlib.suppress(git.GitCommandError, OSError):
        repo.git.reset("-q", "--", *paths)
    root = Path(repo.working_tree_dir)
    for rel, data in saved.items():
        target = root / rel
        with contextlib.suppress(OSError):
            if data is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(data)
    for rel in saved:  # folders we created and left empty
        folder = (root / rel).parent
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


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
    """Stage ``paths`` (and the removal of ``removed``), commit them; None when nothing changed.

    Commits with git itself, so the repository's hooks run; a refusal (a failing hook, a
    read-only ``.git``) is an :class:`IntegrationError` with git's reason.
    """
    import git

    from mlsre.redaction import redact
    from mlsre.textsafe import visible

    try:
        if paths:
            repo.git.add("-f", "--", *paths)  # ours even where .gitignore says otherwise
        if removed:
            repo.git.rm("-q", "--", *removed)
        if has_commits(repo) and not repo.git.diff("--cached", "--name-only", "HEAD").strip():
            return None
        env = {
            "GIT_AUTHOR_NAME": visible(who.name),
            "GIT_AUTHOR_EMAIL": who.email,
            "GIT_COMMITTER_NAME": visible(who.name),
            "GIT_COMMITTER_EMAIL": who.email,
        }
        with repo.git.custom_environment(**env):
            repo.git.commit("-q", "-m", visible(redact(message)))
    except (git.GitCommandError, OSError) as exc:
        if isinstance(exc, OSError):
            raise CommitFailed(
                f"cannot commit in {repo.working_tree_dir}: {exc.strerror or exc}",
                hint="check that the repository is writable and not locked by another git",
            ) from None
        raise CommitFailed(
            f"git commit in {repo.working_tree_dir} failed: {_stderr(exc, verdict_first=True)}",
            hint="nothing was committed and mlsre's files were put back; fix the cause"
            " (a hook, permissions on .git) and publish again",
        ) from None
    return str(repo.head.commit.hexsha)


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


def _stderr(exc: Any, verdict_first: bool = False) -> str:
    """The lines of git's complaint that say what happened (not its hints or our command)."""
    text = str(getattr(exc, "stderr", "") or exc)
    lines = [ln.strip().strip("'\"").strip() for ln in text.splitlines()]
    lines = [ln.removeprefix("stderr:").strip().strip("'").strip() for ln in lines]
    useful = [ln for ln in lines if ln and not ln.startswith(("hint:", "To ", "cmdline:"))]
    if verdict_first:  # git's own verdict; the advice after it says less (index.lock...)
        useful = [ln for ln in useful if ln.startswith(("fatal:", "error:"))] or useful
    from mlsre.redaction import redact

    return redact("; ".join(useful[-3:])) or "unknown git error"


# ---- reading history (what changed before an incident) -----------------------------------------


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    email: str
    at: datetime  # author time, UTC
    subject: str
    files: tuple[str, ...] = ()


_LOG_FORMAT = "--format=%x1e%H%x1f%an%x1f%ae%x1f%at%x1f%s"


def _parse_log(out: str) -> list[CommitInfo]:
    commits = []
    for record in out.split("\x1e"):
        if not record.strip():
            continue
        head, _, rest = record.partition("\n")
        parts = head.split("\x1f")
        if len(parts) != 5:
            continue
        sha, author, email, at, subject = parts
        files = tuple(f for f in rest.splitlines() if f.strip())
        commits.append(
            CommitInfo(sha, author, email, datetime.fromtimestamp(int(at), UTC), subject, files)
        )
    return commits


def _history_repo(path: Path) -> Any:
    import git

    if not path.is_dir():
        raise IntegrationError(f"repository {path} does not exist")
    try:
        return git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise IntegrationError(f"{path} is not a git repository") from None


def commits_in_window(
    path: Path, since: datetime, until: datetime, *, rev: str = "HEAD", limit: int = 200
) -> list[CommitInfo]:
    """Commits reachable from ``rev`` committed in ``[since, until]``, newest first. git stops
    walking at the window's start, so a long history costs no more than the window."""
    import git

    repo = _history_repo(path)
    try:
        out = repo.git.log(
            rev,
            f"--since={int(since.timestamp())}",
            f"--until={int(until.timestamp())}",
            f"--max-count={limit}",
            "--name-only",
            _LOG_FORMAT,
        )
    except git.GitCommandError as exc:
        raise IntegrationError(f"cannot read history of {path}: {_stderr(exc)}") from None
    return _parse_log(out)


def commits_between(
    path: Path, old: str, new: str, *, limit: int = 20
) -> tuple[int, list[CommitInfo]] | None:
    """How many commits lead from ``old`` to ``new`` and the newest ``limit`` of them; None
    when the repository does not hold both."""
    import git

    repo = _history_repo(path)
    try:
        repo.git.cat_file("-e", f"{old}^{{commit}}")
        repo.git.cat_file("-e", f"{new}^{{commit}}")
    except git.GitCommandError:
        return None
    try:
        count = int(repo.git.rev_list("--count", f"{old}..{new}"))
        out = repo.git.log(f"{old}..{new}", f"--max-count={limit}", "--name-only", _LOG_FORMAT)
    except git.GitCommandError as exc:
        raise IntegrationError(f"cannot read history of {path}: {_stderr(exc)}") from None
    return count, _parse_log(out)
