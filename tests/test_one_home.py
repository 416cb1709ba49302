"""Rules that live in one place: the on_fail default, duration units, the bundled-files folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

import mlsre
from mlsre import paths
from mlsre.errors import UsageError
from mlsre.runbook.model import OnFail, Step, default_on_fail
from mlsre.serve.config import AlertsSettings, AutoMitigation
from mlsre.slo.budget import WINDOWS
from mlsre.slo.openslo import duration_seconds
from mlsre.slo.promql import prom_duration
from mlsre.steps.base import Phase
from mlsre.timeutil import human_duration, parse_duration


@pytest.mark.parametrize(
    ("phase", "action"),
    [(Phase.DIAGNOSE, OnFail.CONTINUE), (Phase.MITIGATE, OnFail.STOP), (Phase.VERIFY, OnFail.STOP)],
)
def test_a_step_without_on_fail_gets_the_phase_default(phase: Phase, action: OnFail) -> None:
    step = Step.model_validate({"id": "s", "uses": "manual", "phase": phase.value})
    assert default_on_fail(phase) is action
    assert step.on_fail_action is action
    explicit = Step.model_validate(
        {"id": "s", "uses": "manual", "phase": phase.value, "on_fail": "continue"}
    )
    assert explicit.on_fail_action is OnFail.CONTINUE


@pytest.mark.parametrize("text", ["30s", "5m", "1h30m", "1.5h", "7d", "2w", "500ms"])
def test_serve_config_accepts_what_the_server_reads(text: str) -> None:
    seconds = parse_duration(text).total_seconds()
    assert seconds > 0
    assert AlertsSettings.model_validate({"still_firing_every": text}).still_firing_every == text
    assert AutoMitigation.model_validate({"per": text}).per == text


@pytest.mark.parametrize("text", ["5 min", "1hour", "h", "-5m", "", "1h 30m"])
def test_serve_config_refuses_what_the_server_cannot_read(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)
    with pytest.raises(ValidationError, match="is not a duration"):
        AlertsSettings.model_validate({"still_firing_every": text})


def test_every_unit_spelling_gives_the_same_seconds() -> None:
    for window, seconds in WINDOWS.items():
        assert parse_duration(window).total_seconds() == seconds
        assert duration_seconds(window) == seconds
        assert prom_duration(seconds) == window
    assert WINDOWS["3d"] == 3 * 86400
    assert duration_seconds("4w") == 28 * 86400
    assert prom_duration(5400) == "90m"
    assert human_duration(90061) == "1d 1h"


def test_the_bundled_folder_is_named_in_one_module() -> None:
    for name in ("runbooks", "templates", "data", "gamedays", "slos"):
        assert paths.bundled_dir(name).is_dir(), name
    package = Path(mlsre.__file__).parent
    spelled = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if re.search(r"""["']_bundled["']""", p.read_text(encoding="utf-8"))
    ]
    assert spelled == ["paths.py"], spelled


def test_the_samples_come_from_the_bundled_folder() -> None:
    from mlsre.chaos.sample import sample_paths as transactions
    from mlsre.drift.samples import sample_paths as fraud

    for path in (*transactions(), *fraud()):
        assert path.is_file(), path
        assert path.parent == paths.bundled_dir("data")
