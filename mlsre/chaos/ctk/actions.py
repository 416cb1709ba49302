"""Chaos Toolkit actions: corrupt a dataset, move a serving alias and back, break a replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["corrupt_dataset", "inject_replay_fault", "move_alias", "remove_file"]


def corrupt_dataset(source: str, output: str, faults: list[str], seed: int = 0) -> dict[str, Any]:
    """Write ``output``: ``source`` with ``faults`` (``KIND:key=value,...``) injected."""
    from mlsre.chaos.corrupt import corrupt_file
    from mlsre.chaos.faults import parse_fault
    from mlsre.jsonutil import plain

    Path(output).parent.mkdir(parents=True, exist_ok=True)
    report = corrupt_file(Path(source), Path(output), [parse_fault(f) for f in faults], seed)
    out: dict[str, Any] = plain(report)
    return out


def remove_file(path: str) -> bool:
    """Delete a file a game day made (a rollback); True when it was there."""
    target = Path(path)
    if target.is_file():
        target.unlink()
        return True
    return False


def inject_replay_fault(
    replay: str, output: str, match: str = "", scale: float = 1.0, status: int | None = None
) -> dict[str, Any]:
    """Copy a recorded replay (an incident export) with a fault in the Prometheus answers whose
    query contains ``match``: sample values multiplied by ``scale`` (latency injected or hidden),
    or the answer replaced by an HTTP ``status`` error (a monitoring outage)."""
    from mlsre.integrations.recording import find_exchanges

    data = json.loads(Path(replay).read_text(encoding="utf-8"))
    touched = 0
    for ex in find_exchanges(data):
        req = ex["request"]
        query = " ".join(str(v) for k, v in req.get("params") or [] if k == "query")
        if not req["path"].startswith("/api/v1/query") or match not in query:
            continue
        resp = ex.get("response") or {}
        if status is not None:
            body = {"status": "error", "errorType": "unavailable", "error": "injected by game day"}
            ex["response"] = {**resp, "status": status, "body": json.dumps(body)}
            touched += 1
            continue
        try:
            body = json.loads(resp.get("body") or "")
        except ValueError:
            continue
        for series in body.get("data", {}).get("result", []):
            for point in [series.get("value"), *(series.get("values") or [])]:
                if point:
                    point[1] = repr(float(point[1]) * scale)
        resp["body"] = json.dumps(body)
        touched += 1
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(data), encoding="utf-8")
    return {"output": output, "exchanges_touched": touched}


def move_alias(
    model: str, alias: str, version: str, configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Point ``model@alias`` at ``version`` in the configured registry; returns the version it
    had, so a rollback can move it back (``move_alias`` with ``previous_version``)."""
    from mlsre.chaos.ctk._settings import activity_settings
    from mlsre.errors import NotFoundError
    from mlsre.integrations.mlflow import MlflowClient

    settings = activity_settings(configuration)
    client = MlflowClient(settings.registry)
    try:
        before: str | None = client.version_by_alias(model, alias).version
    except NotFoundError:
        before = None
    client.set_alias(model, alias, str(version))
    return {"model": model, "alias": alias, "previous_version": before, "version": str(version)}
