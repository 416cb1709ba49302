"""Shared fixtures. Every test is isolated: config, data and HOME point into tmp_path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins: list[str] = [
    "tests.fixtures_servers",
    "tests.fixtures_runbooks",
    "tests.fixtures_slo",
    "tests.fixtures_drift",
    "tests.fixtures_postmortem",
    "tests.fixtures_serve",
]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No test reads or writes the real home, config or store; writes to $HOME fail loudly."""
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(home, 0o500)  # read-only: a write to $HOME is a bug in the test or in mlsre
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in list(os.environ):
        if name.startswith(("MLSRE_", "MLFLOW_")) or name in ("NO_COLOR", "COLUMNS"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLSRE_USER", "tester")
    monkeypatch.chdir(work)
    yield work
    os.chmod(home, 0o700)
