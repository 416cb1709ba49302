"""registry.* step kinds against a real MLflow server: rollback moves champion 4 -> 3, verified."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlsre.integrations.mlflow import MlflowClient
from mlsre.integrations.recording import RecordingTransport, ReplayTransport
from mlsre.settings import RegistrySettings, Settings
from mlsre.steps.base import StepContext, StepStatus
from mlsre.steps.model_registry.kinds import (
    RegistryCompare,
    RegistryCurrent,
    RegistryPromote,
    RegistryRollback,
    RegistryVersions,
)
from tests.support.fixtures_servers import MODEL, MlflowServer
from tests.support.scenario_fraud import T0

pytestmark = pytest.mark.mlflow


def ctx(server: MlflowServer, **kw: object) -> StepContext:
    settings = Settings(registry=RegistrySettings(url=server.url, timeout_s=30))
    return StepContext(settings=settings, **kw)  # type: ignore[arg-type]


def champion(server: MlflowServer, name: str = MODEL) -> str:
    mc = MlflowClient(RegistrySettings(url=server.url))
    return mc.version_by_alias(name, "champion").version


def test_versions_step(registry: MlflowServer) -> None:
    kind = RegistryVersions()
    result = kind.run(kind.parse({"model": MODEL, "limit": 2}), ctx(registry))
    assert [s["version"] for s in result.samples] == ["3", "4"]
    assert result.output["aliases"] == {"champion": "4", "previous": "3"}
    assert result.output["latest"] == "4"


def test_current_step_says_how_long_it_has_been_live(registry: MlflowServer) -> None:
    kind = RegistryCurrent()
    at = datetime.fromtimestamp(T0 + 1800, UTC)
    result = kind.run(kind.parse({"model": MODEL}), ctx(registry, at=at))
    assert result.samples[0]["version"] == "4" and result.samples[0]["value"] == 4.0
    assert result.samples[0]["age_s"] == pytest.approx(1800)
    assert result.summary == (
        "fraud-detector@champion is version 4, live for 30m (version tag deployed_at) as of"
        " 2026-11-28T17:59:00Z (MLflow keeps no alias history: the alias as it is now)"
    )


def test_current_under_at_never_says_live_for_a_negative_time(registry: MlflowServer) -> None:
    kind = RegistryCurrent()
    before_deploy = datetime.fromtimestamp(T0 - 1800, UTC)
    result = kind.run(kind.parse({"model": MODEL}), ctx(registry, at=before_deploy))
    assert result.summary == (
        "fraud-detector@champion is version 4 now, which went live after 2026-11-28T16:59:00Z"
        " (version tag deployed_at): this shows the present, not 2026-11-28T16:59:00Z"
    )
    assert result.output["age_s"] is None


def test_current_under_at_before_our_rollback_reconstructs_the_alias(
    registry: MlflowServer,
) -> None:
    rollback = RegistryRollback()
    rollback.run(rollback.parse({"model": MODEL}), ctx(registry))
    assert champion(registry) == "3"
    kind = RegistryCurrent()
    during = datetime.fromtimestamp(T0 + 1800, UTC)
    result = kind.run(kind.parse({"model": MODEL}), ctx(registry, at=during))
    assert result.samples[0]["version"] == "4" and result.output["reconstructed"] is True
    assert result.summary.startswith(
        "fraud-detector@champion was version 4 at 2026-11-28T17:59:00Z (reconstructed from the"
        " mlsre rollback record of "
    )
    assert result.summary.endswith("; now 3)")


def test_current_missing_alias_is_explained(registry: MlflowServer) -> None:
    kind = RegistryCurrent()
    params = kind.parse({"model": "churn-model", "alias": "previous"})
    result = kind.run(params, ctx(registry))
    assert result.status is StepStatus.ERROR
    assert result.summary == "churn-model has no alias 'previous' (aliases: champion=2)"


def test_compare_step(registry: MlflowServer) -> None:
    kind = RegistryCompare()
    result = kind.run(kind.parse({"model": MODEL}), ctx(registry))
    assert result.output["a"]["version"] == "4" and result.output["b"]["version"] == "3"
    algo = next(p for p in result.output["params"] if p["key"] == "algo")
    assert algo == {"key": "algo", "a": "lightgbm", "b": "xgboost", "changed": True}
    auc = next(s for s in result.samples if s["labels"]["metric"] == "auc")
    assert auc["value"] == pytest.approx(0.01)
    # the line a person reads: old -> new of what differs
    assert result.summary.startswith("fraud-detector previous=v3 -> champion=v4: params ")
    assert "algo xgboost -> lightgbm" in result.summary
    assert "auc 0.94 -> 0.95" in result.summary


def test_rollback_moves_champion_back_and_is_idempotent(registry: MlflowServer) -> None:
    kind = RegistryRollback()
    assert kind.mutating
    params = kind.parse({"model": MODEL})
    first = kind.run(params, ctx(registry, incident={"id": "INC-7"}))
    assert first.status is StepStatus.PASSED, first.summary
    (change,) = first.changes
    assert change["before"] == change["from_version"] == "4"
    assert change["after"] == change["to_version"] == "3"
    assert change["verified"] is True and change["alias"] == "champion" and change["model"] == MODEL
    assert champion(registry) == "3"
    second = kind.run(params, ctx(registry))
    assert second.changes == [] and second.summary.startswith("no change")
    assert champion(registry) == "3"
    current = RegistryCurrent()
    now = current.run(current.parse({"model": MODEL}), ctx(registry))
    assert now.summary.startswith("fraud-detector@champion is version 3, live for")
    assert now.summary.endswith("(mlsre rollback record)")


def test_rollback_without_previous_alias_goes_one_below_once(registry: MlflowServer) -> None:
    kind = RegistryRollback()
    params = kind.parse({"model": "churn-model"})
    first = kind.run(params, ctx(registry))
    assert first.changes[0]["before"] == "2" and first.changes[0]["after"] == "1"
    assert "newest READY version below 2" in first.summary
    again = kind.run(params, ctx(registry))
    assert again.changes == [] and "already rolled back from 2 to 1" in again.summary
    assert champion(registry, "churn-model") == "1"


def test_rollback_dry_run_changes_nothing(registry: MlflowServer) -> None:
    kind = RegistryRollback()
    result = kind.run(kind.parse({"model": MODEL}), ctx(registry, dry_run=True))
    assert result.summary.startswith("would move fraud-detector@champion from 4 to 3")
    assert result.changes == [] and champion(registry) == "4"


def test_rollback_to_missing_version(registry: MlflowServer) -> None:
    kind = RegistryRollback()
    result = kind.run(kind.parse({"model": MODEL, "to": "99"}), ctx(registry))
    assert (
        result.status is StepStatus.ERROR and result.summary == "fraud-detector has no version 99"
    )
    assert champion(registry) == "4"


def test_promote_moves_previous_along(registry: MlflowServer) -> None:
    kind = RegistryPromote()
    result = kind.run(kind.parse({"model": MODEL, "version": "2"}), ctx(registry))
    assert result.changes[0]["before"] == "4" and result.changes[0]["after"] == "2"
    mc = MlflowClient(RegistrySettings(url=registry.url))
    assert mc.version_by_alias(MODEL, "previous").version == "4"
    assert champion(registry) == "2"


def test_rollback_replays_from_recorded_exchanges_without_a_server(registry: MlflowServer) -> None:
    kind = RegistryRollback()
    params = kind.parse({"model": MODEL})
    recorder = RecordingTransport()
    live = kind.run(params, ctx(registry, transport=recorder))
    exchanges = recorder.take()
    methods = [(e["request"]["method"], e["request"]["path"].rsplit("/", 1)[-1]) for e in exchanges]
    assert ("POST", "alias") in methods and methods.count(
        ("GET", "alias")
    ) == 2  # before and read-back
    registry.reset_aliases()
    dead = Settings(registry=RegistrySettings(url="http://127.0.0.1:9", retries=0))
    replayed = kind.run(params, StepContext(settings=dead, transport=ReplayTransport(exchanges)))
    assert replayed.changes == live.changes and replayed.summary == live.summary
    assert champion(registry) == "4"  # the replay touched no server
