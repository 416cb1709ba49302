"""How long a step may take: every time limit of a run, named once.

A step's limit is its `timeout` in the runbook, else what its kind says it needs
(:func:`default_timeout`). Kinds also bound their own waits inside that limit (a shell step's
``timeout_s``, an HTTP request's), never beyond it: the engine hands the limit to the kind as
``StepContext.timeout_s``.
"""

from __future__ import annotations

from typing import Any

from mlsre.runbook.model import Step

DEFAULT_TIMEOUT_S = 60.0  # a kind that names no limit of its own
# A kind past its limit gets this long to return its own "timed out" error (with what it saw)
# before the engine stops waiting and abandons the thread it runs on.
GRACE_S = 5.0
# On Ctrl-C, how long recording "interrupted" waits for a step thread that is mid-write.
INTERRUPT_WRITE_WAIT_S = 1.0


def step_timeout(step: Step, kind: Any, params: Any) -> float:
    return step.timeout_s or default_timeout(kind, params)


def default_timeout(kind: Any, params: Any) -> float:
    """A kind may say how long it needs (wait: its deadline); else its timeout_s; else 60 s."""
    own = getattr(kind, "timeout_s", None)
    if callable(own):
        return float(own(params))
    return float(getattr(params, "timeout_s", None) or DEFAULT_TIMEOUT_S)
