"""Which diagnose steps may run at once in an unattended run."""

from __future__ import annotations

from mlsre.runbook import journal
from mlsre.runbook.model import Step
from mlsre.runbook.run_model import PERSON_KINDS, RunOptions
from mlsre.steps.base import Phase


def parallel_batch(
    steps: list[Step], i: int, options: RunOptions, prior: journal.RunRecord
) -> list[Step]:
    """Consecutive diagnose steps that depend on no step of the batch and ask nobody."""
    from mlsre.runbook.refs import analyze_expression, analyze_template, template_strings

    batch: list[Step] = []
    ids: set[str] = set()
    for step in steps[i:]:
        if (
            step.phase != Phase.DIAGNOSE
            or (options.phase and step.phase != options.phase)
            or step.confirm
            or step.uses in PERSON_KINDS
            or step.goto
            or step.id in prior.results
            or step.id in prior.started_only
        ):
            break
        refs: set[str] = set(step.needs)
        for text in template_strings(step.with_):
            refs |= {r.step for r in analyze_template(text).steps}
        for expr in (step.when, step.expect):
            if isinstance(expr, str):
                refs |= {r.step for r in analyze_expression(expr).steps}
        if refs & ids:
            break
        batch.append(step)
        ids.add(step.id)
        if len(batch) >= options.max_parallel:
            break
    return batch or [steps[i]]
