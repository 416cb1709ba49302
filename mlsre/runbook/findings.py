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
    val = _quantity(sample, "value") if keys in ([], ["value"]) else _tested(sample, keys)
    return f"{{{shown}}} {val}" if shown else val


def _tested(sample: dict[str, Any], keys: list[str]) -> str:
    """``ratio 3.1 (now 0.31, baseline 0.1)``: the tested figures, and what a ratio is of."""
    parts = [f"{k} {_quantity(sample, k)}" for k in keys]
    extra = [f for k in keys for f in _SHOWN_WITH.get(k, ()) if f in sample and f not in keys]
    if extra:
        parts.append("(" + ", ".join(f"{f} {fmt(sample[f])}" for f in dict.fromkeys(extra)) + ")")
    return " ".join(parts)


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
        result.status = result.status or StepStatus.PASSED
        return result
    if not result.samples and result.judged:  # the kind decided without samples
        return result
    verdict = (
        _no_data(result) or _undefined(step.expect, result) or _checked(step.expect, result, ctx)
    )
    result.status, result.summary = verdict
    return result


Verdict = tuple[StepStatus, str]


def _no_data(result: StepResult) -> Verdict | None:
    if result.samples:
        return None
    said = result.summary + "; " if result.summary else ""
    return StepStatus.ERROR, f"{said}no data: the query returned nothing to check `expect` against"


def _undefined(expect: str, result: StepResult) -> Verdict | None:
    """A value the check needs is unknown: health unknown, never "failed"."""
    missing = sorted(
        {f for smp in result.samples for f in tested_fields(smp, expect) if not _known(smp.get(f))}
    )
    if not missing:
        return None
    why = f" ({result.summary})" if result.summary else ""
    return StepStatus.ERROR, f"cannot judge `{expect}`: no value for {', '.join(missing)}{why}"


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and value != value)


def _checked(expect: str, result: StepResult, ctx: dict[str, Any]) -> Verdict:
    try:
        broken = [
            sample_text(s, expect)
            for s in check_samples(expect, result.samples, ctx, result.output)
        ]
    except MlsreError as exc:
        return StepStatus.ERROR, exc.message
    if not broken:
        return StepStatus.PASSED, (
            result.summary or f"all {len(result.samples)} sample(s) meet `{expect}`"
        )
    more = f" (+{len(broken) - 3} more)" if len(broken) > 3 else ""
    summary = f"expect `{expect}` broken by {'; '.join(broken[:3])}{more}"
    return StepStatus.FAILED, f"{result.finding}: {summary}" if result.finding else summary
