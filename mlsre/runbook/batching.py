"""Which diagnose steps may run at once in an unattended run."""

from __future__ import annotations

from mlsre.runbook import journal
from mlsre.runbook.model import Step
from mlsre.runbook.run_model import RunOptions
from mlsre.steps.base import Phase
from mlsre.steps.catalog import KindCatalog


def parallel_batch(
    steps: list[Step], i: int, options: RunOptions, prior: journal.RunRecord, kinds: KindCatalog
) -> list[Step]:
    """Consecutive diagnose steps that depend on no step of the batch and ask nobody."""
    batch: list[Step] = []
    ids: set[str] = set()
    for step in steps[i:]:
        if not _may_join(step, options, prior, kinds) or _reads(step) & ids:
            break
        batch.append(step)
        ids.add(step.id)
        if len(batch) >= options.max_parallel:
            break
    return batch or [steps[i]]


def _may_join(
    step: Step, options: RunOptions, prior: journal.RunRecord, kinds: KindCatalog
) -> bool:
    """A diagnose step of this run that asks nobody, jumps nowhere and has no record yet."""
    return not (
        step.phase != Phase.DIAGNOSE
        or (options.phase and step.phase != options.phase)
        or step.confirm
        or step.uses not in kinds.kinds  # an unknown kind runs alone (it errors)
        or kinds.kinds[step.uses].person_in_loop
        or step.goto
        or step.id in prior.results
        or step.id in prior.started_only
    )


def _reads(step: Step) -> set[str]:
    """The steps whose results ``step`` reads: `needs`, templates, `when` and `expect`."""
    from mlsre.runbook.refs import analyze_expression, analyze_template, template_strings

    refs: set[str] = set(step.needs)
    for text in template_strings(step.with_):
        refs |= {r.step for r in analyze_template(text).steps}
    for expr in (step.when, step.expect):
        if isinstance(expr, str):
            refs |= {r.step for r in analyze_expression(expr).steps}
    return refs
