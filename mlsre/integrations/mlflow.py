"""The only module that speaks the MLflow Model Registry REST API (``/api/2.0/mlflow/``).

Versions come back sorted numerically with their aliases filled in (the search endpoint returns
them newest-updated first and without aliases). A missing alias (MLflow answers 400
``INVALID_PARAMETER_VALUE``) and a missing model (404) are told apart and explained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlsre.errors import NotFoundError
from mlsre.integrations.http import (
    ApiClient,
    FailureKind,
    HttpFailure,
    status_failure,
    unexpected_shape,
)

if TYPE_CHECKING:
    pass

API = "/api/2.0/mlflow/"
DEPLOY_TAGS = ("deployed_at", "promoted_at")  # unix seconds, set by a deploy pipeline
_YEAR_10000 = 253_402_300_800  # unix seconds: later is not a datetime
MAX_PAGES = 200  # 200 pages of 1000 versions: far beyond any real model, short of forever
# Every top-level key an MLflow registry answer can have; JSON with none of them is not MLflow.
_MLFLOW_KEYS = frozenset(
    {
        "registered_model",
        "registered_models",
        "model_version",
        "model_versions",
        "next_page_token",
        "run",
        "error_code",
        "message",
        "details",
    }
)


@dataclass
class ModelVersion:
    name: str
    version: str
    status: str = "READY"
    run_id: str = ""
    source: str = ""
    description: str = ""
    created_ms: int = 0
    updated_ms: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)

    @property
    def number(self) -> int:
        return int(self.version) if self.version.isdigit() else -1

    def went_live(self) -> tuple[float | None, str | None]:
        """When the version reached production (unix seconds) and which record says so: a
        ``deployed_at`` or ``promoted_at`` tag a deploy pipeline set, else ``created`` (MLflow
        keeps no alias history), else (None, None)."""
        import math

        for key in DEPLOY_TAGS:
            try:
                when = float(self.tags[key])
            except (KeyError, ValueError):
                continue
            if math.isfinite(when) and 0 <= when < _YEAR_10000:  # a date, not garbage
                return when, key
        if self.created_ms:
            return self.created_ms / 1000, "created"
        return None, None


@dataclass
class RegisteredModel:
    name: str
    description: str = ""
    created_ms: int = 0
    updated_ms: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> version


@dataclass
class RunData:
    run_id: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    start_ms: int = 0
    # datasets logged as run inputs: name, digest, source, source_type, context ("training")
    datasets: list[dict[str, str]] = field(default_factory=list)


def _dataset(item: Any) -> dict[str, str] | None:
    if not isinstance(item, dict) or not isinstance(item.get("dataset"), dict):
        return None
    ds = item["dataset"]
    out = {k: str(ds.get(k) or "") for k in ("name", "digest", "source", "source_type")}
    out["context"] = _kv(item.get("tags")).get("mlflow.data.context", "")
    return out


def _kv(items: Any) -> dict[str, str]:
    return {str(t.get("key")): str(t.get("value")) for t in items or [] if isinstance(t, dict)}


def _version(d: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        name=str(d.get("name", "")),
        version=str(d.get("version", "")),
        status=str(d.get("status") or "READY"),
        run_id=str(d.get("run_id") or ""),
        source=str(d.get("source") or ""),
        description=str(d.get("description") or ""),
        created_ms=int(d.get("creation_timestamp") or 0),
        updated_ms=int(d.get("last_updated_timestamp") or 0),
        tags=_kv(d.get("tags")),
        aliases=sorted(str(a) for a in d.get("aliases") or []),
    )


class MlflowClient(ApiClient):
    service = "MLflow"
    token_env = "MLFLOW_TRACKING_TOKEN"
    user_env = "MLFLOW_TRACKING_USERNAME"
    password_env = "MLFLOW_TRACKING_PASSWORD"

    def call(
        self,
        method: str,
        endpoint: str,
        params: list[tuple[str, str]] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One REST call; MLflow's ``{error_code, message}`` becomes a one-line error."""
        request = self.request(method, API + endpoint, params, body)
        data, response = self.exchange(request)
        if not isinstance(data, dict) or (data and not _MLFLOW_KEYS & set(data)):
            if response.status >= 400:
                raise status_failure(response, request)
            raise HttpFailure(
                f"{request.display_url()} answered JSON that is not an MLflow registry answer "
                f"(HTTP {response.status}: {response.snippet(60)!r})",
                kind=FailureKind.BAD_JSON,
                attempts=response.attempts,
                status=response.status,
                hint="check registry.url in mlsre.yaml: it should be the MLflow tracking server's "
                "root, e.g. http://host:5000",
            )
        if response.status >= 400:
            code = str(data.get("error_code") or "")
            message = " ".join(str(data.get("message") or "").split())
            if response.status == 404 and code == "RESOURCE_DOES_NOT_EXIST":
                raise NotFoundError(message or "not found in the MLflow registry")
            detail = f"{code}: {message}" if code else message
            raise status_failure(response, request, detail, code)
        return data

    # -- reads ---------------------------------------------------------------------------------

    def get_model(self, name: str) -> RegisteredModel:
        try:
            data = self.call("GET", "registered-models/get", [("name", name)])
        except NotFoundError:
            raise NotFoundError(
                f"registered model {name!r} does not exist in the MLflow registry at {self.base}",
                hint="check the name (`mlsre model versions NAME`) and registry.url in mlsre.yaml",
            ) from None
        rm = self._expect(data, "registered_model")
        with unexpected_shape("MLflow", self.base):
            return RegisteredModel(
                name=str(rm.get("name", name)),
                description=str(rm.get("description") or ""),
                created_ms=int(rm.get("creation_timestamp") or 0),
                updated_ms=int(rm.get("last_updated_timestamp") or 0),
                tags=_kv(rm.get("tags")),
                aliases={str(a["alias"]): str(a["version"]) for a in rm.get("aliases") or []},
            )

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version, oldest first by number, with aliases from the registered model."""
        model = self.get_model(name)
        quoted = name.replace("'", "\\'")
        found: list[ModelVersion] = []
        token = ""
        seen: set[str] = set()
        for _page in range(MAX_PAGES):
            params = [("filter", f"name='{quoted}'"), ("max_results", "1000")]
            if token:
                params.append(("page_token", token))
            data = self.call("GET", "model-versions/search", params)
            with unexpected_shape("MLflow", self.base):
                found.extend(_version(v) for v in data.get("model_versions") or [])
            token = str(data.get("next_page_token") or "")
            if not token:
                break
            if token in seen:
                raise HttpFailure(
                    f"MLflow at {self.base} sent the same next_page_token twice while listing "
                    f"{name}'s versions (a pagination loop)",
                    kind=FailureKind.BAD_JSON,
                    hint="the server (or a proxy caching its answers) is misbehaving",
                )
            seen.add(token)
        else:
            raise HttpFailure(
                f"MLflow at {self.base} kept sending more pages of {name}'s versions "
                f"(stopped after {MAX_PAGES})",
                kind=FailureKind.BAD_JSON,
                hint="the server is misbehaving, or the model has more versions than mlsre lists",
            )
        by_version: dict[str, list[str]] = {}
        for alias, version in model.aliases.items():
            by_version.setdefault(version, []).append(alias)
        for v in found:
            v.aliases = sorted(by_version.get(v.version, []))
        return sorted(found, key=lambda v: (v.number, v.version))

    def model_names(self, max_pages: int = 10) -> list[str]:
        """Names of registered models (at most ``max_pages`` pages of 1000), sorted."""
        names: list[str] = []
        token = ""
        for _ in range(max_pages):
            params = [("max_results", "1000")] + ([("page_token", token)] if token else [])
            data = self.call("GET", "registered-models/search", params)
            names.extend(str(m.get("name")) for m in data.get("registered_models") or [])
            token = str(data.get("next_page_token") or "")
            if not token:
                break
        return sorted(names)

    def get_version(self, name: str, version: str) -> ModelVersion:
        try:
            data = self.call(
                "GET", "model-versions/get", [("name", name), ("version", str(version))]
            )
        except NotFoundError:
            self.get_model(name)  # a missing model explains itself first
            raise NotFoundError(
                f"{name} has no version {version}",
                hint=f"see `mlsre model versions {name}`",
            ) from None
        with unexpected_shape("MLflow", self.base):
            return _version(self._expect(data, "model_version"))

    def version_by_alias(self, name: str, alias: str) -> ModelVersion:
        try:
            data = self.call("GET", "registered-models/alias", [("name", name), ("alias", alias)])
        except NotFoundError:
            self.get_model(name)
            raise
        except HttpFailure as exc:
            if exc.status != 400 or exc.code != "INVALID_PARAMETER_VALUE":
                raise
            model = self.get_model(name)  # raises if the MODEL is what is missing
            have = ", ".join(f"{a}={v}" for a, v in sorted(model.aliases.items())) or "none"
            raise NotFoundError(
                f"{name} has no alias {alias!r} (aliases: {have})",
                hint=f"set it with `mlsre model rollback {name} --to VERSION` or in the MLflow UI",
            ) from None
        with unexpected_shape("MLflow", self.base):
            return _version(self._expect(data, "model_version"))

    def resolve(self, name: str, ref: str) -> ModelVersion:
        """A version number or an alias."""
        return self.get_version(name, ref) if ref.isdigit() else self.version_by_alias(name, ref)

    def _expect(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        """The object under ``key``; a 200 without it is not an MLflow answer."""
        value = data.get(key)
        if not isinstance(value, dict):
            raise HttpFailure(
                f"MLflow at {self.base} answered without {key!r}: not an MLflow registry answer",
                kind=FailureKind.BAD_JSON,
                hint="check registry.url in mlsre.yaml: it should be the MLflow tracking server's "
                "root, e.g. http://host:5000",
            )
        return value

    def run(self, run_id: str) -> RunData:
        data = self.call("GET", "runs/get", [("run_id", run_id)])
        run = data.get("run") or {}
        rd = run.get("data") or {}
        metrics: dict[str, float] = {}
        for m in rd.get("metrics") or []:
            try:
                metrics[str(m["key"])] = float(m["value"])
            except (KeyError, TypeError, ValueError):
                continue
        inputs = run.get("inputs") or {}
        datasets = [_dataset(i) for i in inputs.get("dataset_inputs") or []]
        return RunData(
            run_id,
            params=_kv(rd.get("params")),
            metrics=metrics,
            tags=_kv(rd.get("tags")),
            start_ms=int((run.get("info") or {}).get("start_time") or 0),
            datasets=[d for d in datasets if d is not None],
        )

    # -- writes --------------------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: str) -> None:
        body = {"name": name, "alias": alias, "version": str(version)}
        try:
            self.call("POST", "registered-models/alias", body=body)
        except NotFoundError:
            self.get_version(name, version)  # says whether the model or the version is missing
            raise

    def delete_alias(self, name: str, alias: str) -> None:
        self.call("DELETE", "registered-models/alias", body={"name": name, "alias": alias})

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        self.call(
            "POST", "registered-models/set-tag", body={"name": name, "key": key, "value": value}
        )

    def server_version(self) -> str:
        """The server's version (``mlsre doctor``); ``/version`` answers plain text."""
        request = self.request("GET", "/version")
        response = self.transport.send(request)
        if response.status >= 400:
            raise status_failure(response, request)
        text = response.text().strip()
        if not re.fullmatch(r"\d+\.\d+[\w.+-]*", text):
            raise HttpFailure(
                f"{request.display_url()} is not an MLflow server: /version answered "
                f"{response.snippet(40)!r} (HTTP {response.status})",
                kind=FailureKind.HTML if response.looks_html() else FailureKind.BAD_JSON,
                attempts=response.attempts,
                status=response.status,
                hint="check registry.url in mlsre.yaml: it should be the MLflow tracking server's "
                "root, e.g. http://host:5000",
            )
        return text[:40]
