"""How long a step may take: every time limit of a run, named once.

A step's limit is its `timeout` in the runbook, else what its kind says it needs
(``StepKind.time_limit``: its params' ``timeout_s``, a wait step's deadline, else
``mlsre.steps.base.DEFAULT_TIME_LIMIT_S``). Kinds also bound their own waits inside that limit (a shell step's
``timeout_s``, an HTTP request's), never beyond it: the engine hands the limit to the kind as
``StepContext.timeout_s``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlsre.runbook.model import Step

if TYPE_CHECKING:
    from mlsre.steps.base import StepKind

# A kind past its limit gets this long to return its own "timed out" error (with what it saw)
# before the engine stops waiting and abandons the thread it runs on.
GRACE_S = 5.0
# On Ctrl-C, how long recording "interrupted" waits for a step thread that is mid-write.
INTERRUPT_WRITE_WAIT_S = 1.0


def step_timeout(step: Step, kind: StepKind[Any], params: Any) -> float:
    return step.timeout_s or kind.time_limit(params)
