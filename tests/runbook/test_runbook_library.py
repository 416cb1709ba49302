"""The bundled runbook library: valid, complete, portable across metric naming conventions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlsre.runbook.loader import bundled_dir
from mlsre.runbook.model import Runbook
from mlsre.runbook.validate import validate_file, validate_paths
from mlsre.steps.base import Phase

FAILURE_MODES = {
    "data-drift",
    "latency-regression",
    "error-rate",
    "accuracy-decay",
    "bad-model-deploy",
    "feature-pipeline",
    "training-serving-skew",
    "stale-model",
}
FILES = sorted(bundled_dir().glob("*.yaml"))


def _load(path: Path) -> Runbook:
    report = validate_file(path)
    assert report.runbook is not None, [str(p) for p in report.problems]
    return report.runbook


def test_library_has_every_failure_mode() -> None:
    assert {p.stem for p in FILES} >= FAILURE_MODES


def test_whole_library_validates_without_warnings() -> None:
    report = validate_paths([bundled_dir()])
    assert report.problems == [], "\n".join(map(str, report.problems))
    assert report.warnings == [], "\n".join(map(str, report.warnings))
    assert report.kind_warnings == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_runbook_is_complete(path: Path) -> None:
    rb = _load(path)
    assert rb.id == path.stem
    assert rb.description and rb.triggers.alerts
    phases = [s.phase for s in rb.steps]
    assert phases == sorted(phases, key=list(Phase).index)
    assert Phase.DIAGNOSE in phases and Phase.MITIGATE in phases and Phase.VERIFY in phases
    for step in rb.steps:
        assert step.title and len(step.guidance.strip()) > 40, step.id
    specs = rb.input_specs()
    assert specs["model"].required


def _values(obj: object) -> object:
    if isinstance(obj, dict):
        return [_values(v) for v in obj.values()]
    if isinstance(obj, list):
        return [_values(v) for v in obj]
    return obj


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_metric_and_label_names_come_from_inputs(path: Path) -> None:
    """Teams with other naming conventions override inputs; no query hardcodes our names."""
    rb = _load(path)
    defaults = {k: v.default for k, v in rb.input_specs().items()}
    metric_inputs = {k for k in defaults if k.endswith(("_metric", "_label"))}
    assert metric_inputs, "the runbook names no metric inputs"
    for step in rb.steps:
        values = json.dumps(_values(step.with_))  # parameter names such as model_label are fine
        text = re.sub(r"\{\{.*?\}\}", "", values)
        assert not re.search(r"\bmodel_[a-z_]+", text), f"{step.id} hardcodes a metric name: {text}"
        for label in ("model", "version", "feature", "code", "table"):
            assert not re.search(rf"[{{,]\s*{label}\s*=", text), (
                f"{step.id} hardcodes label {label}"
            )


def test_documented_metric_names_are_the_defaults() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8")
    for path in FILES:
        for name, spec in _load(path).input_specs().items():
            if name.endswith("_metric"):
                assert f"`{spec.default}`" in doc, (
                    f"{path.stem}: {spec.default} is not in docs/metrics.md"
                )
