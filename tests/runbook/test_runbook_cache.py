"""The validation cache: reused only for unchanged files, and never changes an answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlsre.runbook import cache
from mlsre.runbook.validate import validate_paths
from tests.support.fixtures_runbooks import minimal_runbook


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _folder(isolated: Path) -> Path:
    folder = isolated / "rb"
    folder.mkdir()
    (folder / "good.yaml").write_text(minimal_runbook("good"), encoding="utf-8")
    (folder / "bad.yaml").write_text(
        minimal_runbook("bad").replace("uses: prometheus.query", "uses: promql"), encoding="utf-8"
    )
    return folder


def test_second_run_gives_the_same_answer_from_the_cache(isolated: Path, cache_home: Path) -> None:
    folder = _folder(isolated)
    first = validate_paths([folder])
    assert cache.cache_path().is_file()
    second = validate_paths([folder])
    assert [str(p) for p in second.problems] == [str(p) for p in first.problems]
    good = {Path(f.path).name: f for f in second.files}["good.yaml"]
    fresh = {Path(f.path).name: f for f in first.files}["good.yaml"]
    assert good.runbook == fresh.runbook  # rebuilt lazily from the cached data


def test_changed_file_is_validated_again(isolated: Path, cache_home: Path) -> None:
    folder = _folder(isolated)
    assert len(validate_paths([folder]).problems) == 1
    (folder / "bad.yaml").write_text(minimal_runbook("bad"), encoding="utf-8")
    assert validate_paths([folder]).problems == []


def test_cache_can_be_switched_off(
    isolated: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSRE_NO_CACHE", "1")
    validate_paths([_folder(isolated)])
    assert not cache.cache_path().exists()


def test_unwritable_or_corrupt_cache_is_no_cache(isolated: Path, cache_home: Path) -> None:
    cache.cache_path().parent.mkdir(parents=True)
    cache.cache_path().write_text("{not json", encoding="utf-8")
    report = validate_paths([_folder(isolated)])
    assert len(report.problems) == 1


def test_every_bundled_runbook_comes_back_from_the_cache_unchanged(cache_home: Path) -> None:
    from mlsre.runbook.loader import bundled_dir

    fresh = validate_paths([bundled_dir()])
    cached = validate_paths([bundled_dir()])
    assert len(cached.files) >= 8
    for a, b in zip(fresh.files, cached.files, strict=True):
        assert b._runbook is None  # not built until asked for: it came from the cache
        assert b.runbook == a.runbook and b.summary == a.summary and b.warnings == a.warnings


@pytest.mark.parametrize("module", ["timeutil.py", "incident/lifecycle.py", "steps/catalog.py"])
def test_any_package_module_changing_invalidates_the_cache(module: str) -> None:
    """The fingerprint covers every source file of the package, not a hand-kept list."""
    import mlsre
    from mlsre.runbook.cache import fingerprint
    from mlsre.steps.catalog import default_catalog

    reg = default_catalog()
    path = Path(mlsre.__file__).parent / module
    before = fingerprint(reg)
    st = path.stat()
    try:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        assert fingerprint(reg) != before
    finally:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert fingerprint(reg) == before
