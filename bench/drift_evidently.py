"""Run Evidently's DataDriftPreset on two Parquet files; print per-column results as JSON.

Executed by bench/drift.py with the bench-only interpreter (.venv-bench/bin/python), never
imported by mlsre. Output: {"columns": {name: {"method", "threshold", "value", "drift"}}}.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def main(reference: str, current: str) -> None:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref = pd.read_parquet(reference)
    cur = pd.read_parquet(current)
    snapshot = Report([DataDriftPreset()]).run(cur, ref)
    out: dict[str, Any] = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if not str(config.get("type", "")).endswith("ValueDrift"):
            continue
        method = str(config["method"])
        value = float(metric["value"])
        threshold = float(config["threshold"])
        drift = value < threshold if "p_value" in method else value >= threshold
        out[str(config["column"])] = {
            "method": method,
            "threshold": threshold,
            "value": value,
            "drift": drift,
        }
    json.dump({"columns": out}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
