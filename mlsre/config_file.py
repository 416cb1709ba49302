"""The config file (``mlsre.yaml``) as written, before validation, and the store URL.

:mod:`mlsre.settings` builds the validated ``Settings`` from what this reads. Incident commands
only need the store URL: :func:`store_url` finds it (flag > ``MLSRE_STORE_URL`` > file > default)
without importing pydantic, so ``mlsre incident list`` stays fast and a typo in an unrelated
section never stops anyone from seeing their incidents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlsre import paths
from mlsre.errors import ConfigError


@dataclass
class RawConfig:
    """The config file as read: its data, where it lives, and where each key was written."""

    path: Path | None
    data: dict[str, Any] = field(default_factory=dict)
    doc: Any = None  # mlsre.yamlfile.YamlDocument, when a file was read

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


def read_raw(config_path: Path | None = None) -> RawConfig:
    path = config_path or paths.find_config()
    if path is None:
        return RawConfig(path=None)
    if not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist",
            hint="run `mlsre init` to create a workspace, or unset MLSRE_CONFIG",
        )
    from mlsre.yamlfile import YamlProblems, load_yaml

    try:
        doc = load_yaml(path)
    except YamlProblems as exc:
        if exc.problems and exc.problems[0].message == "file is empty":
            return RawConfig(path=path)
        raise ConfigError(
            str(exc), hint="fix mlsre.yaml (see `mlsre init` for a commented example)"
        ) from None
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}:1:1: mlsre.yaml must be a mapping of settings")
    return RawConfig(path=path, data=doc.data, doc=doc)


def default_store_url(raw: RawConfig) -> str:
    if raw.path is not None and raw.path.parent != paths.user_config_dir():
        return f"sqlite:///{raw.base_dir / '.mlsre' / 'mlsre.db'}"
    return f"sqlite:///{paths.user_data_dir() / 'mlsre.db'}"


def store_url(flag: str | None = None, config_path: Path | None = None) -> str:
    """The store URL without full validation (hot path of every incident command)."""
    if flag:
        return check_store_url(flag)
    env = os.environ.get("MLSRE_STORE_URL")
    if env:
        return check_store_url(env)
    path = config_path or paths.find_config()
    cached = _cached_store_url(path) if path is not None else None
    if cached:
        return cached
    raw = read_raw(path)
    store = raw.data.get("store")
    if store is None:
        url = default_store_url(raw)
    else:
        given = store.get("url") if isinstance(store, dict) else None
        if not isinstance(given, str) or not given:
            where = _where(raw, ("store", "url") if isinstance(store, dict) else ("store",))
            raise ConfigError(f"{where}: store.url must be a URL such as sqlite:///.mlsre/mlsre.db")
        url = check_store_url(resolve_sqlite_url(given, raw.base_dir))
    if raw.path is not None:
        _remember_store_url(raw.path, url)
    return url


# The store URL of a config file, remembered by the file's size and mtime in the workspace's
# .mlsre/ folder: incident commands then skip importing and parsing YAML (~40 ms a command).
_CACHE = "store-url.json"


def _cache_key(path: Path) -> list[object] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [str(path.resolve()), st.st_mtime_ns, st.st_size]


def _cached_store_url(path: Path) -> str | None:
    import json

    try:
        data = json.loads((path.parent / ".mlsre" / _CACHE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    key = _cache_key(path)
    if isinstance(data, dict) and key is not None and data.get("key") == key:
        url = data.get("url")
        return url if isinstance(url, str) and url else None
    return None


def _remember_store_url(path: Path, url: str) -> None:
    import json

    folder = path.parent / ".mlsre"
    key = _cache_key(path)
    if not folder.is_dir() or key is None:
        return  # only in a workspace that already has its .mlsre/ folder
    tmp = folder / f".{_CACHE}.{os.getpid()}"
    try:
        tmp.write_text(json.dumps({"key": key, "url": url}), encoding="utf-8")
        os.replace(tmp, folder / _CACHE)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only workspace just stays uncached


def resolve_sqlite_url(url: str, base: Path) -> str:
    """Relative sqlite paths are relative to the config file, like every path in it."""
    prefix = "sqlite:///"
    if url.startswith(prefix):
        p = Path(url[len(prefix) :]).expanduser()
        if not p.is_absolute():
            p = base / p
        return prefix + str(p)
    return url


def check_store_url(url: str) -> str:
    """Refuse a store URL that would keep nothing (in memory, or no file named)."""
    prefix = "sqlite:///"
    path = url[len(prefix) :] if url.startswith(prefix) else None
    if (
        url in (":memory:", "sqlite://", "sqlite:")
        or path in ("", ":memory:")
        or (path is not None and (path.endswith("/") or Path(path).is_dir()))
    ):
        raise ConfigError(
            f"store URL {url!r} keeps nothing: incidents written there are lost when mlsre exits",
            hint="name a database file, e.g. sqlite:///.mlsre/mlsre.db (or leave store.url unset)",
        )
    return url


def _where(raw: RawConfig, loc: tuple[str, ...]) -> str:
    if raw.doc is None:
        return str(raw.path or "config")
    m = raw.doc.mark(loc)
    return f"{raw.path}:{m.line}:{m.column}"


def secret(name: str) -> str | None:
    """A secret named in the config: only ever read from the environment, never the file."""
    value = os.environ.get(name)
    return value or None
