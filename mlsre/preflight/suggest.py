"""Which ``--input name=value`` would fix a finding: the input that put the wrong word there.

A runbook names its metrics, labels, model and alias through inputs (``requests_metric``,
``model_label``, ...). When a finding names a word an input produced (the metric
``model_requests_total`` from ``requests_metric``, or ``model_request_duration_seconds_bucket``
from ``latency_metric`` plus ``_bucket``) and the live system offers a close alternative, the
override is that input set to the alternative.
"""

from __future__ import annotations

from typing import Any

from mlsre.preflight.diagnose import SUFFIXES
from mlsre.preflight.report import CheckStatus, Finding


def _producers(word: str, inputs: dict[str, Any], used: set[str]) -> list[tuple[str, str]]:
    """(input name, suffix the query added) for the inputs whose value made ``word``."""
    out = []
    for name in sorted(used):
        value = inputs.get(name)
        if not isinstance(value, str) or not value:
            continue
        if word == value:
            out.append((name, ""))
        else:
            out.extend((name, s) for s in SUFFIXES if word == value + s)
    return out


def suggest(finding: Finding, inputs: dict[str, Any], used: set[str]) -> dict[str, str]:
    """The overrides that would fix ``finding`` (empty when none is known)."""
    if not finding.did_you_mean:
        return {}
    word = {
        CheckStatus.UNKNOWN_METRIC: finding.metric,
        CheckStatus.MISSING_LABEL: finding.label,
        CheckStatus.UNKNOWN_LABEL_VALUE: finding.value,
        CheckStatus.REGISTRY_MISSING: finding.value,
    }.get(finding.status)
    if not word:
        return {}
    for name, suffix in _producers(word, inputs, used):
        for candidate in finding.did_you_mean:
            if suffix and not candidate.endswith(suffix):
                continue
            return {name: candidate[: len(candidate) - len(suffix)] if suffix else candidate}
    return {}
