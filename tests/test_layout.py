"""The tests mirror the package, so a reader finds the tests of ``mlsre/X/`` in ``tests/X/``;
tests/README.md maps every folder; every folder is a package, so two test files may share a name."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "mlsre"
# Folders that are no package of mlsre: shared modules, data files, the probe across every command.
OWN = {"support", "data", "hardening"}


def _folders() -> list[Path]:
    return sorted(p for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))


def test_every_test_folder_is_a_package_of_mlsre_or_named_as_shared() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    strays = [f.name for f in _folders() if f.name not in packages | OWN]
    assert not strays, f"tests/ folders that mirror no mlsre package: {strays}"


def test_every_folder_holding_python_is_a_package() -> None:
    folders = [TESTS, *(d for d in TESTS.rglob("*") if d.is_dir())]
    missing = [
        str(d.relative_to(TESTS.parent))
        for d in folders
        if "__pycache__" not in d.parts and any(d.glob("*.py")) and not (d / "__init__.py").exists()
    ]
    assert not missing, f"add an empty __init__.py to: {missing}"


def test_the_map_names_every_folder() -> None:
    text = (TESTS / "README.md").read_text(encoding="utf-8")
    unnamed = [f.name for f in _folders() if f"`{f.name}/`" not in text]
    assert not unnamed, f"tests/README.md does not say what these hold: {unnamed}"
