"""One entry point for ``mlsre canary judge``, the ``canary.judge`` step and gated promotion:
options as people type them (``--lookback 30m``, ``--at -10m``, a config path or none) in, a
:class:`~mlsre.canary.judge.Judgement` out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mlsre.canary.config import CanaryConfig, load_config, parse_config
from mlsre.canary.judge import Judgement, Request, judge
from mlsre.errors import UsageError
from mlsre.timeutil import parse_duration, parse_time, utcnow

DEFAULT_LOOKBACK = "30m"
DEFAULT_STEP = "1m"
MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series


@dataclass
class JudgeOptions:
    model: str
    canary: str
    baseline: str
    config: str | None = None  # a CanaryConfig file; None: the default config
    at: str | None = None  # end of the window (default now)
    lookback: str | None = None  # or start/end
    start: str | None = None
    end: str | None = None
    step: str = DEFAULT_STEP
    inputs: dict[str, str] = field(default_factory=dict)


def load(config: str | None, base: Path | None = None) -> tuple[CanaryConfig, str]:
    """The config to judge with, and its name for reports; relative paths are from ``base``."""
    if config is None:
        from mlsre.canary.defaults import DEFAULT_CONFIG

        return parse_config(DEFAULT_CONFIG, "<default canary config>"), "default"
    path = Path(config)
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.is_file():
        raise UsageError(f"canary config {config} does not exist")
    return load_config(path), str(config)


def window(opts: JudgeOptions, now: datetime | None = None) -> tuple[datetime, datetime, float]:
    """(start, end, step seconds) from --at/--lookback or --start/--end."""
    ref = now or utcnow()
    if (opts.start is None) != (opts.end is None):
        raise UsageError("give both --start and --end, or neither (then --lookback)")
    if opts.start is not None and opts.lookback is not None:
        raise UsageError("give --lookback or --start/--end, not both")
    if opts.start is not None and opts.end is not None:
        start, end = parse_time(opts.start, now=ref), parse_time(opts.end, now=ref)
    else:
        end = parse_time(opts.at, now=ref) if opts.at else ref
        start = end - parse_duration(opts.lookback or DEFAULT_LOOKBACK)
    if end <= start:
        raise UsageError("the window is empty: its end is not after its start")
    text = str(opts.step).strip()
    try:
        step = float(text)
    except ValueError:
        step = parse_duration(text).total_seconds()
    if step <= 0:
        raise UsageError(f"--step {opts.step} must be positive")
    points = (end - start).total_seconds() / step
    if points < 2:
        raise UsageError(f"--step {opts.step} leaves fewer than 2 points in the window")
    if points > MAX_POINTS:
        raise UsageError(
            f"--step {opts.step} asks for {int(points)} points a series; Prometheus allows "
            f"{MAX_POINTS}",
            hint="use a larger --step or a shorter window",
        )
    return start, end, step


def run_judge(
    opts: JudgeOptions,
    settings: Any,
    *,
    transport: Any = None,
    now: datetime | None = None,
    base: Path | None = None,
) -> Judgement:
    from mlsre.integrations.prometheus import PrometheusClient

    if opts.canary == opts.baseline:
        raise UsageError(f"canary and baseline are the same version ({opts.canary})")
    config, name = load(opts.config, base)
    start, end, step = window(opts, now)
    request = Request(
        model=opts.model,
        canary=opts.canary,
        baseline=opts.baseline,
        start=start,
        end=end,
        step_s=step,
        inputs=dict(opts.inputs),
        config_name=name,
    )
    return judge(config, request, PrometheusClient(settings.prometheus, transport))
