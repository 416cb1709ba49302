"""Shared fixtures. Every test is isolated: config, data and HOME point into tmp_path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins: list[str] = [
    "tests.support.fixtures_servers",
    "tests.support.fixtures_runbooks",
    "tests.support.fixtures_slo",
    "tests.support.fixtures_drift",
    "tests.support.fixtures_postmortem",
    "tests.support.fixtures_canary",
    "tests.support.scenario_service",
    "tests.support.fixtures_postgres",
    "tests.support.fixtures_serve",
]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No test reads or writes the real home, config or store; writes to $HOME fail loudly.

    HOME is an empty read-only folder. Root ignores the permission, so the test also fails
    if anything appeared in it: every place mlsre writes has its own variable pointed here."""
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(home, 0o500)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in list(os.environ):
        if name.startswith(("MLSRE_", "MLFLOW_")) or name in ("NO_COLOR", "COLUMNS"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLSRE_USER", "tester")
    monkeypatch.chdir(work)
    yield work
    os.chmod(home, 0o700)
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert not written, f"written into $HOME (a bug in the test or in mlsre): {written}"


# ---- after the whole run: nothing was written outside the temporary directories -------------


def _outside_snapshot() -> dict[str, tuple[int, int]]:
    """What a test could wrongly touch: mlsre's folders under the real home, the store named by
    the environment the tests were started with, and the files of the source tree."""
    import subprocess

    real_home = Path(os.path.expanduser("~"))
    places = [
        real_home / ".mlsre",
        real_home / ".cache" / "mlsre",
        real_home / ".config" / "mlsre",
        real_home / ".local" / "share" / "mlsre",
    ]
    store = os.environ.get("MLSRE_STORE_URL", "")
    if store.startswith("sqlite:///"):
        places.append(Path(store[len("sqlite:///") :]))
    seen: dict[str, tuple[int, int]] = {}
    for place in places:
        for path in [place, *(place.rglob("*") if place.is_dir() else [])]:
            if path.exists():
                st = path.stat()
                seen[str(path)] = (st.st_size, st.st_mtime_ns)
    root = Path(__file__).resolve().parents[1]
    status = subprocess.run(  # new files only: a person may be editing while the tests run
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored=matching"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    for line in status.splitlines():
        if line.startswith(("??", "!!")) and not any(t in line for t in _TOOL_CACHES):
            seen[f"tree:{line[3:]}"] = (0, 0)
    return seen


_TOOL_CACHES = ("__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache")
_BEFORE: dict[str, tuple[int, int]] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    _BEFORE.update(_outside_snapshot())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    after = _outside_snapshot()
    changed = sorted(k for k in after.keys() | _BEFORE.keys() if after.get(k) != _BEFORE.get(k))
    if changed:
        print(f"\nerror: the tests wrote outside their temporary directories: {changed}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
