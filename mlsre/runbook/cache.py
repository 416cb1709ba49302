"""A cache of validation results, keyed by file content, so unchanged runbooks are not re-parsed.

Parsing YAML is most of the cost of validating a runbook (PyYAML builds every node in Python);
``mlsre runbook list``/``run`` discover every runbook each time, and a pre-commit hook validates
a whole folder. A result is reused only when the file's path and bytes, the mlsre version, every source file
of the package and the step kinds (built-in and plugins) are all unchanged. The cache is
a plain JSON file under the user cache dir; any trouble reading or writing it just means no cache.
Set ``MLSRE_NO_CACHE=1`` to bypass it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from mlsre import __version__
from mlsre.steps.catalog import KindCatalog

FORMAT = 2  # 2: each entry is [report JSON, runbook JSON]
MAX_ENTRIES = 5000


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlsre" / f"runbook-validation-v{FORMAT}.json"


def enabled() -> bool:
    return not os.environ.get("MLSRE_NO_CACHE")


def fingerprint(catalog: KindCatalog) -> str:
    """Changes whenever anything that could decide a validation result changes: the mlsre
    version, any file of the package itself (no hand-kept list to fall behind), and the
    modules of the step kinds (built-in and plugins)."""
    h = hashlib.sha256(f"{FORMAT}:{__version__}".encode())
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        h.update(_stamp(path))
    for kind in catalog.names():
        cls = catalog.kinds[kind]
        module = sys.modules.get(cls.__module__)
        h.update(f"{kind}={catalog.sources[kind]}".encode())
        h.update(_stamp(Path(getattr(module, "__file__", "") or "")))
    return h.hexdigest()


def _stamp(path: Path) -> bytes:
    try:
        st = path.stat()
    except OSError:
        return b"-"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}".encode()


class ResultCache:
    def __init__(self, catalog: KindCatalog, path: Path | None = None) -> None:
        self.path = path or cache_path()
        self.prefix = fingerprint(catalog)
        self.entries: dict[str, Any] = {}
        self.dirty = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("fingerprint") == self.prefix:
                self.entries = data.get("entries") or {}
        except (OSError, ValueError):
            pass

    def key(self, name: str, text: str) -> str:
        return hashlib.sha256(f"{name}\0{text}".encode()).hexdigest()

    def get(self, key: str) -> Any:
        return self.entries.get(key)

    def put(self, key: str, value: Any) -> None:
        self.entries[key] = value
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        entries = dict(list(self.entries.items())[-MAX_ENTRIES:])
        payload = json.dumps(
            {"fingerprint": self.prefix, "entries": entries}, separators=(",", ":")
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(payload, encoding="utf-8")
            tmp.replace(self.path)
            self.dirty = False
        except OSError:
            pass
