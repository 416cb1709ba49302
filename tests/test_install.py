"""The installed package: a real wheel, installed outside the source tree, used as a person would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mlsre built as a wheel and installed into its own folder (dependencies from this venv).

    Only the folder is shared between tests: each run's environment is built when it runs,
    after the ``isolated`` fixture has pointed HOME, config and the store into its tmp_path."""
    dist = tmp_path_factory.mktemp("dist")
    target = tmp_path_factory.mktemp("site")
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources.
    source = tmp_path_factory.mktemp("src") / "mlsre"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv*", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("mlsre-*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return target


def _mlsre(target: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)  # ahead of the editable install of the source tree
    return subprocess.run(
        [str(target / "bin" / "mlsre"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_installed_wheel_finds_bundled_runbooks_templates_and_data(
    installed: Path, isolated: Path
) -> None:
    target = installed
    r = _mlsre(installed, "--version", cwd=isolated)
    assert r.returncode == 0 and r.stdout.startswith("mlsre "), r.stderr
    r = _mlsre(installed, "runbook", "list", "--json", cwd=isolated)
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    rows = listed if isinstance(listed, list) else listed.get("runbooks", [])
    paths = {row["id"]: row["path"] for row in rows}
    assert {"latency-regression", "data-drift", "bad-model-deploy", "stale-model"} <= set(paths)
    assert all(str(target) in p for p in paths.values()), paths  # from the wheel, not the tree
    assert (target / "mlsre" / "_bundled" / "templates" / "postmortem.md.j2").is_file()
    assert (target / "mlsre" / "_bundled" / "slos" / "model-latency-p99.yaml").is_file()
    r = _mlsre(installed, "demo", "--dir", str(isolated / "demo"), "--json", cwd=isolated)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert Path(report["postmortem"]).is_file() and report["postmortem_commit"]
    assert all(str(target) in p for p in report["replayed_from"])


def test_smoke_installed_script_incident_lifecycle(installed: Path, isolated: Path) -> None:
    assert _mlsre(installed, "init", ".", cwd=isolated).returncode == 0
    r = _mlsre(installed, "incident", "open", "smoke", "-s", "SEV4", cwd=isolated)
    assert r.returncode == 0 and "Opened INC-1" in r.stdout, r.stderr
    r = _mlsre(installed, "incident", "ack", "INC-1", cwd=isolated)
    assert r.returncode == 0, r.stderr
    r = _mlsre(installed, "incident", "close", "INC-1", cwd=isolated)
    assert (
        r.returncode == 1
        and r.stderr.startswith("error: INC-1 is acknowledged")
        and "Traceback" not in r.stderr
    )
    r = _mlsre(installed, "incident", "list", cwd=isolated)
    assert r.returncode == 0 and r.stdout.splitlines()[1].startswith("INC-1\t")
