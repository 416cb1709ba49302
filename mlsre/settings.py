"""The validated settings model (pydantic), with where each value came from.

Imported only by commands that need more than the store URL; the file itself is read by
:mod:`mlsre.config_file`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from mlsre.config_file import (
    RawConfig,
    check_store_url,
    default_store_url,
    read_raw,
    resolve_sqlite_url,
)
from mlsre.errors import ConfigError
from mlsre.redaction import SECRET_ENV
from mlsre.serve.config import AlertsSettings


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _HttpSection(_Section):
    """What every HTTP service shares; checked here so a bad value is a config error, named."""

    timeout_s: float = Field(10.0, gt=0, le=3600, allow_inf_nan=False)  # total, per attempt
    retries: int = Field(3, ge=0, le=10)
    backoff_s: float = Field(0.5, ge=0, le=10, allow_inf_nan=False)  # doubles each retry
    max_body_mb: float = Field(64.0, gt=0, le=4096, allow_inf_nan=False)  # larger is refused
    headers: dict[str, str] = Field(default_factory=dict)
    verify_tls: bool = True
    ca_bundle: str | None = None

    @field_validator("url", check_fields=False)
    @classmethod
    def _http_url(cls, value: str) -> str:
        return check_http_url(value)

    @field_validator("headers")
    @classmethod
    def _one_line_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not name or any(c in name for c in " :\t") or _has_control(name + text):
                raise ValueError(
                    f"header {name!r} must be a token name and a one-line value "
                    "(no line breaks or control characters)"
                )
        return value


class PrometheusSettings(_HttpSection):
    url: str = "http://127.0.0.1:9090"


class RegistrySettings(_HttpSection):
    kind: Literal["mlflow"] = "mlflow"
    url: str = "http://127.0.0.1:5000"
    fallback_alias: str = Field("fallback", min_length=1)  # names a model's fallback version


def _has_control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def check_http_url(value: str) -> str:
    """An http(s) URL with a host, or a ValueError saying what is wrong with it."""
    from urllib.parse import urlsplit

    if _has_control(value) or " " in value.strip():
        raise ValueError("a URL cannot contain spaces, line breaks or control characters")
    try:
        parts = urlsplit(value.strip())
        port = parts.port  # raises on a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"not a usable URL ({exc})") from None
    if "://" not in value:
        raise ValueError(
            f"{value.strip()!r} has no scheme: write it as http://{value.strip()}"
            f" (or https://{value.strip()})"
        )
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"must be an http:// or https:// URL, not {value!r}")
    if not parts.hostname:
        raise ValueError(f"has no host: {value!r}")
    del port
    return value.strip()


class StoreSettings(_Section):
    url: str = ""


class PostmortemSettings(_Section):
    repo: str = "./postmortems"
    remote: str = "origin"
    branch: str = "main"
    push: bool = False
    lint_allowlist: list[str] = Field(default_factory=list)


class ChangeRepo(_Section):
    path: str
    url: str | None = None  # web address for commit links, e.g. https://git.example.com/org/repo
    rev: str = "HEAD"  # what reaches production
    models: list[str] = Field(default_factory=list)  # models it feeds (ranking relevance)
    service: str | None = None  # the service it deploys


class ChangesSettings(_Section):
    """Where `incident changes` looks for "what changed?"."""

    repos: list[str | ChangeRepo] = Field(default_factory=list)
    window: str = "24h"  # how far before the incident start to look
    serving_alias: str = "champion"  # the registry alias that serves traffic
    version_label: str = "version"  # the label of serving metrics that names the version
    model_label: str = "model"
    metrics: list[str] = Field(default_factory=list)  # build-info/config-hash gauges to watch

    def repo_list(self) -> list[ChangeRepo]:
        return [ChangeRepo(path=r) if isinstance(r, str) else r for r in self.repos]


class ChannelSettings(_Section):
    """Where notifications go. Secrets are named, never written: ``*_env`` is a variable name."""

    type: Literal["pagerduty", "slack", "webhook"]
    url: str | None = None  # PagerDuty: the Events API (EU region, proxy, tests); webhook: target
    routing_key_env: str | None = None  # pagerduty: the integration's routing key
    webhook_url_env: str | None = None  # slack: the incoming-webhook URL
    secret_env: str | None = None  # webhook: the HMAC-SHA256 signing secret
    timeout_s: float = Field(5.0, gt=0, le=60)


class PolicyMatch(_Section):
    severity: list[str] = Field(default_factory=list)
    model: list[str] = Field(default_factory=list)
    service: list[str] = Field(default_factory=list)


class EscalationLevel(_Section):
    notify: list[str] = Field(min_length=1)
    wait: str = "5m"


class EscalationPolicy(_Section):
    name: str = Field(min_length=1)
    match: PolicyMatch = Field(default_factory=PolicyMatch)
    levels: list[EscalationLevel] = Field(min_length=1)
    repeat: int = Field(0, ge=0, le=10)


class NotifySettings(_Section):
    channels: dict[str, ChannelSettings] = Field(default_factory=dict)
    max_attempts: int = Field(8, ge=1, le=100)
    backoff_s: float = Field(2.0, gt=0, le=600)  # first retry delay; doubles, with jitter
    lease_s: float = Field(60.0, gt=0, le=3600)  # a worker that dies mid-send: resent after
    flush_budget_s: float = Field(1.0, ge=0, le=10)  # after a command, deliver for this long
    public_url: str | None = None  # `mlsre serve`'s address people can open (links)


class EscalationSettings(_Section):
    policies: list[EscalationPolicy] = Field(default_factory=list)


class ReadinessSettings(_Section):
    min_score: float = Field(0.0, ge=0, le=100)  # `mlsre readiness` exits 1 below this score


class Settings(_Section):
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    postmortems: PostmortemSettings = Field(default_factory=PostmortemSettings)
    changes: ChangesSettings = Field(default_factory=ChangesSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    readiness: ReadinessSettings = Field(default_factory=ReadinessSettings)
    runbook_paths: list[str] = Field(default_factory=lambda: ["./runbooks"])
    slo_paths: list[str] = Field(default_factory=lambda: ["./slos"])
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)  # mlsre serve's routing
    config_path: str | None = Field(None, exclude=True)
    base_dir: str = Field(".", exclude=True)

    @model_validator(mode="after")
    def _channel_secrets_are_secrets(self) -> Settings:
        from mlsre.redaction import register_secret_env

        for ch in self.notify.channels.values():
            register_secret_env(
                *(n for n in (ch.routing_key_env, ch.webhook_url_env, ch.secret_env) if n)
            )
        return self

    @model_validator(mode="after")
    def _policies_name_channels(self) -> Settings:
        known = set(self.notify.channels)
        for i, policy in enumerate(self.escalation.policies):
            for j, level in enumerate(policy.levels):
                for name in level.notify:
                    if name not in known:
                        have = ", ".join(sorted(known)) or "none"
                        raise ValueError(
                            f"escalation.policies[{i}] ({policy.name}) level {j + 1}: unknown "
                            f"channel {name!r} (notify.channels has: {have})"
                        )
        return self

    def resolve(self, p: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        path = Path(p).expanduser()
        return path if path.is_absolute() else Path(self.base_dir) / path


# Environment overrides: MLSRE_<SECTION>_<FIELD> for every scalar field of a section.
_SECTIONS: dict[str, type[_Section]] = {
    "prometheus": PrometheusSettings,
    "registry": RegistrySettings,
    "store": StoreSettings,
    "postmortems": PostmortemSettings,
    "changes": ChangesSettings,
    "notify": NotifySettings,
    "readiness": ReadinessSettings,
}


def _env_overrides() -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {}
    for section, model in _SECTIONS.items():
        for name, info in model.model_fields.items():
            var = f"MLSRE_{section.upper()}_{name.upper()}"
            value = os.environ.get(var)
            if value is None:
                continue
            if info.annotation in (str, float, int, bool, str | None):
                out[(section, name)] = value
            elif name == "headers":
                out[(section, name)] = _env_headers(var, value)
    return out


def _env_headers(var: str, value: str) -> dict[str, str]:
    """``{"X-Scope-OrgID": "a"}`` (JSON) or ``X-Scope-OrgID: a`` lines (one header a line)."""
    import json

    text = value.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
            return {str(k): v for k, v in data.items()}
        raise ConfigError(
            f"{var} is not a JSON object of header names to string values",
            hint=f'e.g. {var}=\'{{"X-Scope-OrgID": "team-a"}}\'',
        )
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, val = line.partition(":")
        if not sep or not name.strip():
            raise ConfigError(
                f"{var}: {line.strip()!r} is not a 'Name: value' header",
                hint=f"one 'Name: value' a line, or a JSON object, e.g. {var}='X-Scope-OrgID: a'",
            )
        headers[name.strip()] = val.strip()
    return headers


def load_settings(
    config_path: Path | None = None, overrides: dict[tuple[str, str], Any] | None = None
) -> tuple[Settings, dict[str, str]]:
    """Validated settings and, for each dotted key, where its value came from."""
    raw = read_raw(config_path)
    data: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.data.items()}
    sources: dict[str, str] = {}
    _note_file_sources(raw, data, sources)
    for (section, name), value in _env_overrides().items():
        sect = data.setdefault(section, {})
        if isinstance(sect, dict):
            sect[name] = value
            sources[f"{section}.{name}"] = f"env MLSRE_{section.upper()}_{name.upper()}"
    for (section, name), value in (overrides or {}).items():
        sect = data.setdefault(section, {})
        if isinstance(sect, dict):
            sect[name] = value
            sources[f"{section}.{name}"] = "flag"
    try:
        settings = Settings.model_validate(data)
    except PydanticValidationError as exc:
        raise ConfigError(
            _describe(raw, exc, sources), hint="fix mlsre.yaml or the MLSRE_* variable named"
        ) from None
    settings.config_path = str(raw.path) if raw.path else None
    settings.base_dir = str(raw.base_dir)
    if not settings.store.url:
        settings.store.url = default_store_url(raw)
    else:
        settings.store.url = check_store_url(resolve_sqlite_url(settings.store.url, raw.base_dir))
    return settings, sources


def _note_file_sources(raw: RawConfig, data: dict[str, Any], sources: dict[str, str]) -> None:
    if raw.path is None:
        return
    for key, value in data.items():
        if isinstance(value, dict):
            for sub in value:
                m = raw.doc.mark((key, sub)) if raw.doc else None
                sources[f"{key}.{sub}"] = f"{raw.path}:{m.line}" if m else str(raw.path)
        else:
            m = raw.doc.mark((key,)) if raw.doc else None
            sources[key] = f"{raw.path}:{m.line}" if m else str(raw.path)


def _describe(raw: RawConfig, exc: PydanticValidationError, sources: dict[str, str]) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(str(p) for p in err["loc"])
        dotted = ".".join(loc)
        msg = "unknown setting" if err["type"] == "extra_forbidden" else str(err["msg"])
        msg = msg.removeprefix("Value error, ")
        source = sources.get(".".join(loc[:2]), "")
        if source.startswith(("env ", "flag")):  # not the file's fault: name where it came from
            lines.append(f"{dotted} (from {source.removeprefix('env ')}): {msg}")
        elif raw.doc is not None and loc and loc[0] in raw.data:
            m = raw.doc.mark(loc)
            lines.append(f"{raw.path}:{m.line}:{m.column}: {dotted}: {msg}")
        else:
            lines.append(f"{dotted}: {msg}")
    return "; ".join(lines)


def effective(settings: Settings, sources: dict[str, str]) -> list[tuple[str, str, str]]:
    """(key, value, source) rows for ``mlsre config show``, secrets redacted."""
    rows: list[tuple[str, str, str]] = []
    dumped = settings.model_dump(mode="json")
    for channel in dumped.get("notify", {}).get("channels", {}).values():
        if channel.get("type") == "slack" and channel.get("url"):
            channel["url"] = "***"  # a Slack incoming-webhook URL is itself the secret
    for key, value in dumped.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                dotted = f"{key}.{sub}"
                shown = _show(v)
                if dotted == "store.url":
                    from mlsre.incident.store import redact_url

                    shown = redact_url(shown)
                rows.append((dotted, shown, sources.get(dotted, "default")))
        else:
            rows.append((key, _show(value), sources.get(key, "default")))
    for name in SECRET_ENV:
        if os.environ.get(name):
            rows.append((f"secret {name}", "***", f"env {name}"))
    return rows


def _show(value: Any) -> str:
    if isinstance(value, dict) and value:
        return ", ".join(
            f"{k}={'***' if 'auth' in k.lower() or 'token' in k.lower() else v}"
            for k, v in value.items()
        )
    return "" if value is None else str(value)
