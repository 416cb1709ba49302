"""Real servers for integration tests: Prometheus with the fraud scenario, MLflow, a faulty server.

Session-scoped: each server starts once (in its own process group) and stops at session end.
With ``CI`` set, a missing server binary is a test failure, never a skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import scenario_fraud as scenario
from tests.support.faulty_server import FaultyServer, free_port

REPO = Path(__file__).resolve().parents[2]
MLFLOW_BIN = REPO / ".venv-mlflow" / "bin" / "mlflow"
MODEL = scenario.MODEL


def missing(what: str) -> None:
    """Fail under CI (the server is part of the suite there), skip on a laptop without it."""
    message = f"{what} is not installed; run scripts/install-test-servers"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout_s}s: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the whole process group (mlflow forks workers)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@dataclass
class PromServer:
    url: str
    times: scenario.Times
    p99: dict[str, float]
    error_share: dict[str, float]


@contextmanager
def backfilled_prometheus(root: Path, openmetrics: str, rules: str | None = None) -> Iterator[str]:
    """A real Prometheus serving exactly ``openmetrics`` (backfilled with promtool); its URL.

    ``rules``: the text of a rule file to load (recording and alerting rules).
    """
    promtool, prom = shutil.which("promtool"), shutil.which("prometheus")
    if not promtool or not prom:
        missing("prometheus/promtool")
    assert promtool and prom
    data = root / "scenario.om"
    data.write_text(openmetrics)
    db = root / "db"
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(data), str(db)],
        check=True,
        capture_output=True,
    )
    config = root / "prometheus.yml"
    config.write_text("global: {}\n")  # scrapes nothing: the backfilled blocks are all it has
    if rules is not None:
        (root / "rules.yml").write_text(rules)
        config.write_text("global: {}\nrule_files: [rules.yml]\n")
    port = free_port()
    log = root / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                prom,
                f"--config.file={config}",
                f"--storage.tsdb.path={db}",
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", proc, log, 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromServer]:
    with backfilled_prometheus(
        tmp_path_factory.mktemp("prometheus"), scenario.openmetrics()
    ) as url:
        yield PromServer(
            url=url,
            times=scenario.Times(),
            p99=dict(scenario.P99),
            error_share=dict(scenario.ERROR_SHARE),
        )


@pytest.fixture(scope="session")
def prometheus_unversioned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromServer]:
    """The same incident, but only the latency histogram carries `version` (see the module)."""
    from tests.support import scenario_fraud_unversioned as other

    with backfilled_prometheus(
        tmp_path_factory.mktemp("prometheus-unversioned"), other.openmetrics()
    ) as url:
        yield PromServer(
            url=url,
            times=scenario.Times(),
            p99=dict(scenario.P99),
            error_share=dict(scenario.ERROR_SHARE),
        )


@dataclass
class MlflowServer:
    url: str
    run_ids: dict[str, str] = field(default_factory=dict)  # version -> run id

    def call(self, method: str, endpoint: str, body: dict[str, Any] | None = None) -> Any:
        """Raw REST, for seeding and resetting (the tests' own setup, not mlsre's client)."""
        url = f"{self.url}/api/2.0/mlflow/{endpoint}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")

    def reset_aliases(self) -> None:
        """champion=4, previous=3 on fraud-detector; champion=2 only on churn-model."""
        self.call(
            "POST", "registered-models/alias", {"name": MODEL, "alias": "champion", "version": "4"}
        )
        self.call(
            "POST", "registered-models/alias", {"name": MODEL, "alias": "previous", "version": "3"}
        )
        self.call(
            "POST",
            "registered-models/alias",
            {"name": "churn-model", "alias": "champion", "version": "2"},
        )
        for name in (MODEL, "churn-model"):
            model = self.call("GET", f"registered-models/get?name={name}")["registered_model"]
            for alias in model.get("aliases") or []:
                keep = {MODEL: ("champion", "previous"), "churn-model": ("champion",)}[name]
                if alias["alias"] not in keep:
                    self.call(
                        "DELETE", "registered-models/alias", {"name": name, "alias": alias["alias"]}
                    )
            for tag in model.get("tags") or []:
                if tag["key"].startswith("mlsre."):
                    self.call(
                        "DELETE", "registered-models/delete-tag", {"name": name, "key": tag["key"]}
                    )


# When each version went live (unix s): version 4 at the scenario's T0, like the metrics say.
DEPLOYED_AT = {
    "1": scenario.T0 - 90 * 86400,
    "2": scenario.T0 - 40 * 86400,
    "3": scenario.T0 - 14 * 86400,
    "4": scenario.T0,
}

VERSIONS = {
    "1": (
        "logistic baseline",
        {"algo": "logreg", "C": "1.0"},
        {"auc": 0.88, "recall_at_1pct_fpr": 0.41},
    ),
    "2": (
        "first gradient-boosted model",
        {"algo": "xgboost", "max_depth": "6"},
        {"auc": 0.92, "recall_at_1pct_fpr": 0.55},
    ),
    "3": (
        "stable production model (rollback target)",
        {"algo": "xgboost", "max_depth": "8"},
        {"auc": 0.94, "recall_at_1pct_fpr": 0.61},
    ),
    "4": (
        "larger feature set with merchant_id embeddings",
        {"algo": "lightgbm", "num_leaves": "255"},
        {"auc": 0.95, "recall_at_1pct_fpr": 0.63},
    ),
}


def seed(server: MlflowServer) -> None:
    exp = server.call("POST", "experiments/create", {"name": "fraud-training"})["experiment_id"]
    for name, versions in (
        (MODEL, VERSIONS),
        ("churn-model", {k: VERSIONS[k] for k in ("1", "2")}),
    ):
        server.call(
            "POST",
            "registered-models/create",
            {
                "name": name,
                "description": f"{name}: synthetic acceptance-test fixture",
                "tags": [{"key": "team", "value": "risk-ml"}],
            },
        )
        for version, (desc, params, metrics) in versions.items():
            run = server.call(
                "POST",
                "runs/create",
                {
                    "experiment_id": exp,
                    "run_name": f"{name}-v{version}",
                    "start_time": (scenario.T0 - 86400) * 1000,
                },
            )
            run_id = run["run"]["info"]["run_id"]
            server.call(
                "POST",
                "runs/log-batch",
                {
                    "run_id": run_id,
                    "params": [{"key": k, "value": v} for k, v in params.items()],
                    "metrics": [
                        {"key": k, "value": v, "timestamp": scenario.T0 * 1000, "step": 0}
                        for k, v in metrics.items()
                    ],
                },
            )
            mv = server.call(
                "POST",
                "model-versions/create",
                {
                    "name": name,
                    "source": f"runs:/{run_id}/model",
                    "run_id": run_id,
                    "description": desc,
                    "tags": [
                        {"key": "git_sha", "value": f"abc{version}"},
                        {"key": "deployed_at", "value": str(DEPLOYED_AT[version])},
                    ],
                },
            )
            assert mv["model_version"]["version"] == version
            if name == MODEL:
                server.run_ids[version] = run_id
    server.reset_aliases()


@contextmanager
def mlflow_running(root: Path) -> Iterator[MlflowServer]:
    """A real, empty MLflow tracking server on 127.0.0.1 (tests and bench/ scripts share it)."""
    if not MLFLOW_BIN.exists():
        missing("mlflow (.venv-mlflow)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLSRE_"))}
    env.update(HOME=str(root), MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", PYTHONUNBUFFERED="1")
    log = root / "mlflow.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(MLFLOW_BIN),
                "server",
                "--backend-store-uri",
                f"sqlite:///{root / 'mlflow.db'}",
                "--default-artifact-root",
                str(root / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=root,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc, log, 120)
        yield MlflowServer(url=f"http://127.0.0.1:{port}")
    finally:
        stop(proc)


@contextmanager
def seeded_mlflow(root: Path) -> Iterator[MlflowServer]:
    """A real MLflow tracking server with fraud-detector v1..v4 and churn-model v1..v2."""
    with mlflow_running(root) as server:
        seed(server)
        yield server


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    with seeded_mlflow(tmp_path_factory.mktemp("mlflow")) as server:
        yield server


@pytest.fixture
def registry(mlflow_server: MlflowServer) -> MlflowServer:
    """The MLflow server with aliases reset (champion=4, previous=3) before the test."""
    mlflow_server.reset_aliases()
    return mlflow_server


@pytest.fixture(scope="session")
def faulty_session() -> Iterator[FaultyServer]:
    server = FaultyServer(hang_s=5.0, fail_first=2)
    yield server
    server.stop()


@pytest.fixture
def faulty(faulty_session: FaultyServer) -> Iterator[FaultyServer]:
    faulty_session.reset()
    yield faulty_session
    errors, faulty_session.httpd.errors[:] = list(faulty_session.httpd.errors), []
    assert not errors, f"the faulty server itself failed: {errors!r}"
