"""The preflight copy of a runbook: what the engine runs in place of the runbook itself.

Each step's kind decides (:class:`mlsre.steps.base.StepKind`'s preflight hooks):

- a kind with a ``preflight_skip`` reason is dropped (it asks a person, or only records);
- a step that changes a system runs only as its kind's ``preflight`` stand-ins (a rollback as a
  read of the model and its serving alias); without stand-ins (a command, a POST) it never runs,
  and neither does any other mitigation;
- a read-only step runs as itself, or as its kind's stand-in (a poll as one run of its check);
- makes every kept step a diagnose step with ``on_fail: continue``, no ``confirm``, no retries,
  and no ``when`` that reads other steps' results (a preflight checks each step whatever the
  others found; a ``when`` on inputs alone still decides, e.g. an empty ``health_url``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlsre.errors import MlsreError
from mlsre.runbook.model import Runbook, Step
from mlsre.steps.base import Phase, StepKind

if TYPE_CHECKING:
    from mlsre.steps.catalog import KindCatalog


@dataclass
class Plan:
    """The preflight copy of a runbook and how its steps map back to the original."""

    runbook: Runbook | None
    not_run: dict[str, str] = field(default_factory=dict)  # original step id -> why
    origin: dict[str, str] = field(default_factory=dict)  # copy step id -> original step id
    used_inputs: dict[str, set[str]] = field(default_factory=dict)  # copy step id -> inputs
    # copy step id -> what a "not found" finding of it adds ({name}: the model's name)
    if_missing: dict[str, str] = field(default_factory=dict)


def _refs(step: Step) -> tuple[set[str], set[str]]:
    """(steps, inputs) whose values the step's ``with`` and ``expect`` read (not ``needs``)."""
    from mlsre.runbook.refs import analyze_expression, analyze_template, template_strings

    steps: set[str] = set()
    inputs: set[str] = set()
    for text in template_strings(step.with_):
        a = analyze_template(text)
        steps |= {r.step for r in a.steps}
        inputs |= {name for name, _ in a.inputs}
    if step.expect:
        a = analyze_expression(step.expect)
        steps |= {r.step for r in a.steps}
        inputs |= {name for name, _ in a.inputs}
    return steps, inputs


def _when_reads_steps(step: Step) -> bool:
    from mlsre.runbook.refs import analyze_expression

    return isinstance(step.when, str) and bool(analyze_expression(step.when).steps)


def plan(runbook: Runbook, settings: Any, catalog: KindCatalog | None = None) -> Plan:
    from mlsre.steps.catalog import default_catalog

    catalog = catalog or default_catalog()
    out = Plan(None)
    kept: list[Step] = []
    gone: set[str] = set()  # steps whose results the copy does not have
    for step in runbook.steps:
        planned = _plan_step(step, catalog, settings, gone)
        if isinstance(planned, str):
            out.not_run[step.id] = planned
            gone.add(step.id)
            continue
        copies, replaced = planned
        if replaced:
            gone.add(step.id)
        for copy, if_missing in copies:
            kept.append(copy)
            out.origin[copy.id] = step.id
            if if_missing:
                out.if_missing[copy.id] = if_missing
    if kept:
        _link(out, kept)
        out.runbook = runbook.model_copy(update={"steps": kept})
    return out


def _link(out: Plan, kept: list[Step]) -> None:
    """Kept steps wait only for kept steps; note the inputs each one reads."""
    ids = {s.id for s in kept}
    for s in kept:
        s.needs = [n for n in s.needs if n in ids]
        out.used_inputs[s.id] = _refs(s)[1]


# What the copy holds for one step: why it is not run, or its read-only copies (each with the
# hint for when it finds nothing) and whether they stand in for a step that changes a system.
_Planned = str | tuple[list[tuple[Step, str]], bool]


def _plan_step(step: Step, catalog: KindCatalog, settings: Any, gone: set[str]) -> _Planned:
    try:
        kind = catalog.instance(step.uses)
    except MlsreError as exc:
        return exc.message
    if kind.preflight_skip:
        return kind.preflight_skip
    changes = kind.changes_system_as_written(step.with_)
    if not changes and step.phase is not Phase.MITIGATE:
        return _read_only(step, kind, settings, gone)
    # only a kind that changes a system has stand-ins; any other mitigation never runs
    stand_ins = kind.preflight(step.with_, settings) if changes else None
    if stand_ins is None:
        return "changes a system: a preflight never runs it"
    copies = [
        (
            _copy(step, step.id if k == 0 else f"{step.id}--{k}", c.uses, c.with_, c.expect),
            c.if_missing,
        )
        for k, c in enumerate(stand_ins)
    ]
    return copies, True


def _read_only(step: Step, kind: StepKind[Any], settings: Any, gone: set[str]) -> _Planned:
    uses, with_, expect = step.uses, step.with_, step.expect
    stand_ins = kind.preflight(step.with_, settings)
    if stand_ins:  # a read-only step that is checked through another (a wait's check)
        uses, with_, expect = stand_ins[0].uses, stand_ins[0].with_, stand_ins[0].expect
    copy = _copy(step, step.id, uses, with_, expect)
    reads, _ = _refs(copy)
    blocked = sorted(reads & gone)
    if blocked:
        return f"reads the result of {', '.join(blocked)}, which a preflight does not run"
    return [(copy, "")], False


def _copy(step: Step, sid: str, uses: str, with_: dict[str, Any], expect: str | None) -> Step:
    return step.model_copy(
        update={
            "id": sid,
            "uses": uses,
            "with_": with_,
            "expect": expect,
            "phase": Phase.DIAGNOSE,
            "on_fail": None,
            "confirm": None,
            "retries": 0,
            "when": None if _when_reads_steps(step) else step.when,
            "needs": list(step.needs),
        }
    )
