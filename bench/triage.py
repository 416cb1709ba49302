"""`mlsre triage` over the bundled library against a real Prometheus and MLflow.

Starts a Prometheus backfilled with the fraud scenario (tests/support/scenario_fraud.py) and a seeded
MLflow, then times, at 45 minutes into the incident:
  1. baseline: the diagnose phase of each fitting runbook, one runbook after another;
  2. `triage`: all of them at once (what `mlsre triage fraud-detector --at ...` does).
Prints the wall times and the ratio triage / baseline. Aim: triage under 2 s here.

Run: .venv/bin/python bench/triage.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo's tests/ helpers

from mlsre.runbook.triage import _diagnose, fitting, library, triage
from mlsre.settings import PrometheusSettings, RegistrySettings, Settings
from mlsre.timeutil import parse_time
from tests.support import scenario_fraud as scenario
from tests.support.fixtures_servers import backfilled_prometheus, seeded_mlflow

ROUNDS = 3


def main() -> None:
    at = parse_time(str(scenario.T0 + 45 * 60))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "prom").mkdir()
        (root / "mlflow").mkdir()
        with (
            backfilled_prometheus(root / "prom", scenario.openmetrics()) as prom_url,
            seeded_mlflow(root / "mlflow") as mlflow,
        ):
            settings = Settings(
                prometheus=PrometheusSettings(url=prom_url),
                registry=RegistrySettings(url=mlflow.url),
            )
            runbooks = fitting(library(settings))
            triage(scenario.MODEL, settings, at=at, runbooks=runbooks)  # warm-up
            seq, par = [], []
            for _ in range(ROUNDS):
                t0 = time.perf_counter()
                for rb in runbooks:
                    _diagnose(rb, scenario.MODEL, at, settings)
                seq.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                report = triage(scenario.MODEL, settings, at=at, runbooks=runbooks)
                par.append(time.perf_counter() - t0)
            best_seq, best_par = min(seq), min(par)
            print(f"runbooks diagnosed: {len(runbooks)}; next: {report.next_runbook}")
            print(f"baseline, one runbook after another: {best_seq:.2f} s (best of {ROUNDS})")
            print(f"triage, all at once:                 {best_par:.2f} s (best of {ROUNDS})")
            print(f"ratio triage / baseline: {best_par / best_seq:.2f}  (aim: triage < 2 s)")


if __name__ == "__main__":
    main()
