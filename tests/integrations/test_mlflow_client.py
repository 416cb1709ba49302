"""The MLflow registry client against a real MLflow server seeded through its REST API."""

from __future__ import annotations

import pytest

from mlsre.errors import NotFoundError
from mlsre.integrations.mlflow import MlflowClient
from mlsre.settings import RegistrySettings
from tests.support.fixtures_servers import MODEL, MlflowServer

pytestmark = pytest.mark.mlflow


@pytest.fixture
def client(registry: MlflowServer) -> MlflowClient:
    return MlflowClient(RegistrySettings(url=registry.url, timeout_s=30))


def test_versions_sorted_numerically_with_aliases(client: MlflowClient) -> None:
    versions = client.versions(MODEL)
    assert [v.version for v in versions] == ["1", "2", "3", "4"]
    assert {v.version: v.aliases for v in versions} == {
        "1": [],
        "2": [],
        "3": ["previous"],
        "4": ["champion"],
    }
    assert all(v.status == "READY" for v in versions)
    assert versions[3].tags["git_sha"] == "abc4"


def test_version_by_alias_and_resolve(client: MlflowClient) -> None:
    assert client.version_by_alias(MODEL, "champion").version == "4"
    assert client.resolve(MODEL, "previous").version == "3"
    assert client.resolve(MODEL, "2").version == "2"


def test_missing_alias_is_not_a_missing_model(client: MlflowClient) -> None:
    with pytest.raises(NotFoundError) as exc:
        client.version_by_alias("churn-model", "previous")
    assert str(exc.value) == "churn-model has no alias 'previous' (aliases: champion=2)"


def test_missing_model(client: MlflowClient) -> None:
    with pytest.raises(NotFoundError, match="registered model 'no-such-model' does not exist"):
        client.version_by_alias("no-such-model", "champion")
    with pytest.raises(NotFoundError, match="registered model 'no-such-model' does not exist"):
        client.versions("no-such-model")


def test_missing_version(client: MlflowClient) -> None:
    with pytest.raises(NotFoundError, match="fraud-detector has no version 99"):
        client.get_version(MODEL, "99")
    with pytest.raises(NotFoundError, match="fraud-detector has no version 99"):
        client.set_alias(MODEL, "champion", "99")


def test_set_and_delete_alias(client: MlflowClient) -> None:
    client.set_alias(MODEL, "canary", "2")
    assert client.version_by_alias(MODEL, "canary").version == "2"
    client.delete_alias(MODEL, "canary")
    with pytest.raises(NotFoundError, match="no alias 'canary'"):
        client.version_by_alias(MODEL, "canary")


def test_run_params_and_metrics(client: MlflowClient, registry: MlflowServer) -> None:
    version = client.get_version(MODEL, "4")
    assert version.run_id == registry.run_ids["4"]
    run = client.run(version.run_id)
    assert run.params["algo"] == "lightgbm"
    assert run.metrics["auc"] == pytest.approx(0.95)


def test_server_version(client: MlflowClient) -> None:
    assert client.server_version()[:1].isdigit()
