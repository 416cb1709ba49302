"""The isolation the suite relies on can itself fail: a test that writes into $HOME, or into a
store named by the environment the tests were started with, makes the run fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run_inner(
    tmp_path: Path, body: str, env_extra: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "inner" / "test_inner.py"
    test.parent.mkdir()
    test.write_text(
        "import os\nfrom pathlib import Path\n\n\ndef test_writes() -> None:\n" + body,
        encoding="utf-8",
    )
    env = {**os.environ, **env_extra, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            str(test),
        ],
        cwd=tmp_path / "inner",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_write_into_home_fails_the_test(tmp_path: Path) -> None:
    r = _run_inner(tmp_path, "    (Path.home() / 'note.txt').write_text('x')\n", {})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "written into $HOME" in r.stdout and "note.txt" in r.stdout, r.stdout


def test_a_write_into_the_outside_store_fails_the_run(tmp_path: Path) -> None:
    store = tmp_path / "team.db"
    store.write_text("before", encoding="utf-8")
    body = "    Path(os.environ['OUTSIDE']).write_text('after, longer')\n"
    r = _run_inner(tmp_path, body, {"MLSRE_STORE_URL": f"sqlite:///{store}", "OUTSIDE": str(store)})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "wrote outside their temporary directories" in r.stdout and str(store) in r.stdout


def test_a_clean_test_passes(tmp_path: Path) -> None:
    r = _run_inner(tmp_path, "    assert Path.home().is_dir()\n", {})
    assert r.returncode == 0, r.stdout + r.stderr
