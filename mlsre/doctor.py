"""``mlsre doctor``: is everything mlsre depends on configured, reachable and authenticated?

Each check is a :class:`Check` with a status and, when something is wrong, a hint that says what
to do. Servers are asked once, with at most one retry, so doctor answers quickly when one is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from mlsre.errors import MlsreError

if TYPE_CHECKING:
    from mlsre.settings import Settings


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but worth knowing
    FAIL = "fail"


@dataclass
class Check:
    name: str
    status: CheckStatus
    detail: str
    hint: str | None = None


def _fail(name: str, exc: MlsreError) -> Check:
    return Check(name, CheckStatus.FAIL, exc.message, exc.hint)


def check_config(config_path: Path | None) -> tuple[Check, Settings | None]:
    from mlsre.settings import load_settings

    try:
        settings, _ = load_settings(config_path)
    except MlsreError as exc:
        return _fail("config", exc), None
    if settings.config_path:
        return Check("config", CheckStatus.OK, f"{settings.config_path} is valid"), settings
    return (
        Check(
            "config",
            CheckStatus.WARN,
            "no mlsre.yaml found: using defaults",
            "run `mlsre init` to create a workspace",
        ),
        settings,
    )


def check_store(url: str) -> Check:
    from mlsre.incident.store import IncidentFilter, open_store

    try:
        store = open_store(url)
        try:
            n = len(store.rows(IncidentFilter()))
        finally:
            store.close()
    except MlsreError as exc:
        return _fail("store", exc)
    return Check(
        "store", CheckStatus.OK, f"{store.where} opens ({n} incident{'s' if n != 1 else ''})"
    )


def check_postmortems(settings: Settings) -> Check:
    repo = settings.resolve(settings.postmortems.repo)
    if not repo.is_dir():
        return Check(
            "postmortems",
            CheckStatus.FAIL,
            f"postmortem repo {repo} does not exist",
            "run `mlsre init`, or set postmortems.repo in mlsre.yaml to a git repository",
        )
    if not ((repo / ".git").exists() or (repo / "HEAD").is_file()):
        return Check(
            "postmortems",
            CheckStatus.FAIL,
            f"{repo} is not a git repository",
            f"run `git init {repo}`",
        )
    return Check("postmortems", CheckStatus.OK, f"{repo} is a git repository")


def url_problem(key: str, url: str) -> Check | None:
    """A URL requests cannot use (no http:// or https://, no host), as a failed check."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return None
    name = key.split(".")[0]
    if "://" not in url:
        return Check(
            name,
            CheckStatus.FAIL,
            f"{key} '{url}' has no scheme",
            f"write it as http://{url} (or https://{url}) in mlsre.yaml",
        )
    return Check(
        name,
        CheckStatus.FAIL,
        f"{key} '{url}' is not an http(s) URL",
        "use http://HOST:PORT or https://HOST:PORT",
    )


def check_prometheus(settings: Settings) -> Check:
    from mlsre.integrations.prometheus import PrometheusClient

    bad = url_problem("prometheus.url", settings.prometheus.url)
    if bad is not None:
        return bad
    s = settings.prometheus.model_copy(update={"retries": min(settings.prometheus.retries, 1)})
    try:
        info = PrometheusClient(s).buildinfo()
    except MlsreError as exc:
        return _fail("prometheus", exc)
    auth = (
        " (authenticated)"
        if _has_secret("MLSRE_PROMETHEUS_TOKEN", "MLSRE_PROMETHEUS_USERNAME")
        else ""
    )
    return Check(
        "prometheus",
        CheckStatus.OK,
        f"{settings.prometheus.url} answers{auth}: Prometheus {info.get('version', '?')}",
    )


def check_registry(settings: Settings) -> Check:
    from mlsre.integrations.mlflow import MlflowClient

    bad = url_problem("registry.url", settings.registry.url)
    if bad is not None:
        return bad
    s = settings.registry.model_copy(update={"retries": min(settings.registry.retries, 1)})
    mc = MlflowClient(s)
    try:
        version = mc.server_version()
        data = mc.call("GET", "registered-models/search", [("max_results", "100")])
    except MlsreError as exc:
        return _fail("registry", exc)
    n = len(data.get("registered_models") or [])
    more = "+" if data.get("next_page_token") else ""
    auth = (
        " (authenticated)"
        if _has_secret("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME")
        else ""
    )
    return Check(
        "registry",
        CheckStatus.OK,
        f"{settings.registry.url} answers{auth}: MLflow {version}, {n}{more} registered models",
    )


def check_channels(settings: Settings) -> list[Check]:
    """Each notification channel's secret is set and its address is an http(s) URL; nothing
    is sent (`mlsre notify test CHANNEL` does that)."""
    from urllib.parse import urlsplit

    from mlsre.notify.channels.base import secret_from

    out = []
    for name, ch in sorted(settings.notify.channels.items()):
        what = f"notify {name}"
        needs = {
            "pagerduty": (ch.routing_key_env, "routing key"),
            "slack": (None if ch.url else ch.webhook_url_env, "incoming-webhook URL"),
            "webhook": (ch.secret_env, "signing secret"),
        }[ch.type]
        try:
            if needs[0] or (ch.type != "webhook" and not ch.url):
                secret_from(needs[0], needs[1], name)
        except MlsreError as exc:
            out.append(_fail(what, exc))
            continue
        url = ch.url or ("https://events.pagerduty.com" if ch.type == "pagerduty" else "")
        if ch.type == "webhook" and not url:
            out.append(Check(what, CheckStatus.FAIL, f"channel {name} has no url", "add url:"))
            continue
        if url and urlsplit(url).scheme not in ("http", "https"):
            out.append(Check(what, CheckStatus.FAIL, f"channel {name}: url is not http(s)", None))
            continue
        out.append(
            Check(
                what, CheckStatus.OK, f"{ch.type} channel configured", f"mlsre notify test {name}"
            )
        )
    return out


def _has_secret(*names: str) -> bool:
    from mlsre.config_file import secret

    return any(secret(n) for n in names)


def run_checks(config_path: Path | None = None, store_url: str | None = None) -> list[Check]:
    config, settings = check_config(config_path)
    checks = [config]
    if settings is None:
        return checks
    checks.append(check_store(store_url or settings.store.url))
    checks.append(check_postmortems(settings))
    checks.append(check_prometheus(settings))
    checks.append(check_registry(settings))
    checks.extend(check_channels(settings))
    return checks
