"""Settings: one pydantic model, with precedence flag > ``MLSRE_*`` env > file > default.

Incident commands only need the store URL; :func:`store_url` finds it without importing
pydantic, so ``mlsre incident list`` stays fast and a typo in an unrelated section never stops
anyone from seeing their incidents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlsre import paths
from mlsre.errors import ConfigError

# Secrets never live in the file: each comes from one environment variable.
SECRET_ENV = (
    "MLSRE_PROMETHEUS_TOKEN",
    "MLSRE_PROMETHEUS_USERNAME",
    "MLSRE_PROMETHEUS_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLSRE_PAGERDUTY_ROUTING_KEY",
    "MLSRE_SLACK_WEBHOOK_URL",
)
REDACTED = "***"


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
        return flag
    env = os.environ.get("MLSRE_STORE_URL")
    if env:
        return env
    raw = read_raw(config_path)
    store = raw.data.get("store")
    if store is None:
        return default_store_url(raw)
    url = store.get("url") if isinstance(store, dict) else None
    if not isinstance(url, str) or not url:
        where = _where(raw, ("store", "url") if isinstance(store, dict) else ("store",))
        raise ConfigError(f"{where}: store.url must be a URL such as sqlite:///.mlsre/mlsre.db")
    return resolve_sqlite_url(url, raw.base_dir)


def resolve_sqlite_url(url: str, base: Path) -> str:
    """Relative sqlite paths are relative to the config file, like every path in it."""
    prefix = "sqlite:///"
    if url.startswith(prefix):
        p = Path(url[len(prefix) :]).expanduser()
        if not p.is_absolute():
            p = base / p
        return prefix + str(p)
    return url


def _where(raw: RawConfig, loc: tuple[str, ...]) -> str:
    if raw.doc is None:
        return str(raw.path or "config")
    m = raw.doc.mark(loc)
    return f"{raw.path}:{m.line}:{m.column}"


def secret(name: str) -> str | None:
    value = os.environ.get(name)
    return value or None


def secret_values() -> list[str]:
    """The secrets set in the environment (long enough to be worth hiding)."""
    return [v for name in SECRET_ENV if (v := os.environ.get(name)) and len(v) >= 4]


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Remove every secret known from the environment from ``text``."""
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, REDACTED)
    return text
