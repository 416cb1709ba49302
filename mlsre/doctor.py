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


def check_prometheus(settings: Settings) -> Check:
    from mlsre.integrations.prometheus import PrometheusClient

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


def _has_secret(*names: str) -> bool:
    from mlsre.config import secret

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
    return checks
