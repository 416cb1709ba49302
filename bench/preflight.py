"""`mlsre runbook check --live` over the bundled library against a real Prometheus (and MLflow).

Backfills the fraud scenario into a real Prometheus, seeds a real MLflow registry when
.venv-mlflow is there (else the registry points at a closed port and registry steps answer
"unreachable" at once), then times the whole preflight in-process:

- concurrent: runbooks at once, the steps of each at once (the default);
- sequential: the same check one step at a time, measured in the same run (the baseline).

Aim: concurrent under 2 s here. Figures are printed as a ratio to the sequential baseline.

Run: .venv/bin/python bench/preflight.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlsre.preflight.check import check_runbooks
from mlsre.runbook.loader import discover
from mlsre.settings import Settings
from mlsre.timeutil import parse_time
from tests.support import scenario_fraud as scenario
from tests.support.faulty_server import refused_url
from tests.support.fixtures_servers import (
    MLFLOW_BIN,
    backfilled_prometheus,
    seeded_mlflow,
)

ROUNDS = 3


@contextmanager
def mlflow(root: Path) -> Iterator[str | None]:
    """The tests' seeded MLflow, with a fallback designated; None when it is not installed."""
    if not MLFLOW_BIN.exists():
        yield None
        return
    with seeded_mlflow(root) as server:
        server.call(
            "POST",
            "registered-models/alias",
            {"name": scenario.MODEL, "alias": "fallback", "version": "2"},
        )
        yield server.url


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="mlsre-bench-preflight-"))
    (root / "mlflow").mkdir()
    with (
        backfilled_prometheus(root, scenario.openmetrics()) as prom,
        mlflow(root / "mlflow") as reg,
    ):
        settings = Settings.model_validate(
            {
                "prometheus": {"url": prom, "retries": 0},
                "registry": {"url": reg or refused_url(), "retries": 0},
            }
        )
        runbooks = [e.runbook for e in discover(settings).in_force() if e.runbook is not None]
        at = parse_time(str(scenario.T0 + 45 * 60))
        inputs = {"model": scenario.MODEL}
        check_runbooks(runbooks, settings, inputs=inputs, at=at)  # warm imports and caches
        timings: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(ROUNDS):
            for concurrent in (True, False):
                t0 = time.perf_counter()
                report = check_runbooks(
                    runbooks, settings, inputs=inputs, at=at, concurrent=concurrent
                )
                timings[concurrent].append(time.perf_counter() - t0)
        fast, slow = min(timings[True]), min(timings[False])
        steps = sum(len(r.steps) for r in report.runbooks)
        print(f"registry: {'real MLflow' if reg else 'none (closed port)'}")
        print(f"{len(runbooks)} runbooks, {steps} steps, best of {ROUNDS}:")
        print(f"  concurrent  {fast:6.3f} s  (aim: under 2 s)")
        print(f"  sequential  {slow:6.3f} s  (baseline)")
        print(f"  concurrent / sequential = {fast / slow:.2f}")
        print(
            f"  verdict: {'ok' if report.ok else 'some runbook would not work'}; {report.counts()}"
        )


if __name__ == "__main__":
    main()
