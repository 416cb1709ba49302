"""What a step found: `expect` judged on its samples, and the line a person reads about it."""

from __future__ import annotations

import re
from typing import Any

from mlsre.errors import MlsreError
from mlsre.numbers import finite, fmt, ratio_text
from mlsre.runbook.model import Step
from mlsre.runbook.sandbox import check_samples
from mlsre.steps.base import StepResult, StepStatus

_SHOWN_WITH = {"ratio": ("now", "baseline"), "delta": ("now", "baseline")}


def tested_fields(sample: dict[str, Any], expect: str) -> list[str]:
    """The numeric fields of ``sample`` that ``expect`` reads, in the order it reads them."""
    found: list[tuple[int, str]] = []
    for key, value in sample.items():
        if key == "labels" or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        m = re.search(rf"(?<![\w.'\"]){re.escape(key)}\b", expect)
        if m:
            found.append((m.start(), key))
    return [k for _, k in sorted(found)]


def sample_text(sample: dict[str, Any], expect: str | None = None) -> str:
    """A sample as ``{labels} quantity``: the quantity ``expect`` tests (delta for a delta)."""
    labels = sample.get("labels") or {}
    shown = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")
    keys = tested_fields(sample, expect) if expect else []
    if not keys or keys == ["value"]:
        val = _quantity(sample, "value")
    else:
        parts = [f"{k} {_quantity(sample, k)}" for k in keys]
        extra = [f for k in keys for f in _SHOWN_WITH.get(k, ()) if f in sample and f not in keys]
        if extra:
            parts.append(
                "(" + ", ".join(f"{f} {fmt(sample[f])}" for f in dict.fromkeys(extra)) + ")"
            )
        val = " ".join(parts)
    return f"{{{shown}}} {val}" if shown else val


def _quantity(sample: dict[str, Any], key: str) -> str:
    """A tested figure; a ratio against a zero baseline reads "new: 0 -> 0.3", never inf."""
    value = sample.get(key)
    now, baseline = sample.get("now"), sample.get("baseline")
    if key in ("value", "ratio") and not finite(value) and finite(now) and finite(baseline):
        return ratio_text(float(now), float(baseline))  # type: ignore[arg-type]
    return fmt(value)


def judge(step: Step, result: StepResult, ctx: dict[str, Any]) -> StepResult:
    """Apply `expect` to every sample. Empty result with an expect: error 'no data'."""
    if result.status not in (None, StepStatus.PASSED) or not step.expect:
        if result.status is None:
            result.status = StepStatus.PASSED
        return result
    if not result.samples:
        if result.judged:  # the kind decided without samples (e.g. no version change)
            return result
        result.status = StepStatus.ERROR
        result.summary = (
            result.summary + "; " if result.summary else ""
        ) + "no data: the query returned nothing to check `expect` against"
        return result
    undefined = sorted(
        {
            f
            for smp in result.samples
            for f in tested_fields(smp, step.expect)
            if smp.get(f) is None or (isinstance(smp.get(f), float) and smp[f] != smp[f])
        }
    )
    if undefined:  # a value the check needs is unknown: health unknown, never "failed"
        result.status = StepStatus.ERROR
        why = f" ({result.summary})" if result.summary else ""
        result.summary = f"cannot judge `{step.expect}`: no value for {', '.join(undefined)}{why}"
        return result
    try:
        broken = [
            sample_text(s, step.expect)
            for s in check_samples(step.expect, result.samples, ctx, result.output)
        ]
    except MlsreError as exc:
        result.status = StepStatus.ERROR
        result.summary = exc.message
        return result
    if broken:
        result.status = StepStatus.FAILED
        more = f" (+{len(broken) - 3} more)" if len(broken) > 3 else ""
        result.summary = f"expect `{step.expect}` broken by {'; '.join(broken[:3])}{more}"
        if result.finding:
            result.summary = f"{result.finding}: {result.summary}"
    else:
        result.status = StepStatus.PASSED
        result.summary = (
            result.summary or f"all {len(result.samples)} sample(s) meet `{step.expect}`"
        )
    return result
