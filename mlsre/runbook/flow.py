"""Flow: which step comes after an outcome (:func:`after`), and the validator's flow checks
(step ids, `needs` and `goto` targets, dependency cycles, unreachable steps).

Steps run in file order, phases in order (diagnose steps may run concurrently, each waiting
for the steps it needs). So a step may depend only on steps above it, and `goto` only jumps
forward; anything else is reported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlsre.runbook import refs
from mlsre.runbook.messages import did_you_mean
from mlsre.steps.base import Phase
from mlsre.yamlfile import Loc

if TYPE_CHECKING:
    from mlsre.runbook.checks import Ctx
    from mlsre.runbook.model import Step
    from mlsre.runbook.run_model import StepOutcome

PHASES = tuple(p.value for p in Phase)


def after(here: int, out: StepOutcome, steps: list[Step]) -> int | None:
    """The index of the step that comes after the outcome of ``steps[here]``; None: the run stops.

    The one rule for fresh outcomes and for outcomes an interrupted run recorded.
    """
    from mlsre.runbook.model import OnFail
    from mlsre.steps.base import StepStatus

    step = steps[here]
    if out.status not in (StepStatus.FAILED, StepStatus.ERROR):
        return here + 1
    if step.goto:
        to = next((k for k, s in enumerate(steps) if s.id == step.goto), None)
        # The validator refuses unknown and backward targets; never loop at run time.
        return to if to is not None and to > here else None
    return None if step.on_fail_action is OnFail.STOP else here + 1


def step_id(step: Any) -> str | None:
    sid = step.get("id") if isinstance(step, dict) else None
    return sid if isinstance(sid, str) else None


def phase_of(step: dict[str, Any]) -> str:
    """A raw step's phase (an invalid one is reported elsewhere; read as the default here)."""
    p = step.get("phase", Phase.DIAGNOSE.value)
    return p if p in PHASES else Phase.DIAGNOSE.value


def collect_ids(ctx: Ctx, steps: list[Any]) -> None:
    for i, step in enumerate(steps):
        sid = step_id(step)
        if sid is None:
            continue
        if sid in ctx.ids:
            first = ctx.doc.mark(("steps", ctx.ids[sid], "id"))
            ctx.add(
                ("steps", i, "id"),
                f"duplicate step id '{sid}' (first defined at line {first.line})",
            )
        else:
            ctx.ids[sid] = i


def goto_target(step: dict[str, Any]) -> str | None:
    on_fail = step.get("on_fail")
    if isinstance(on_fail, str) and on_fail.startswith("goto "):
        return on_fail[5:].strip()
    return None


def check_links(ctx: Ctx, i: int, step: dict[str, Any], sid: str) -> None:
    """`needs` and `goto` of step ``i`` point at existing steps, in the allowed direction."""
    needs = step.get("needs")
    for j, need in enumerate(needs if isinstance(needs, list) else []):
        if not isinstance(need, str):
            continue
        where: Loc = ("steps", i, "needs", j)
        if need not in ctx.ids:
            ctx.add(where, f"needs unknown step '{need}'{did_you_mean(need, ctx.ids)}")
        elif need == sid:
            ctx.add(where, f"step '{sid}' needs itself")
        elif ctx.ids[need] > i:
            ctx.add(
                where, f"needs '{need}', which comes later: a step can only depend on earlier steps"
            )
    target = goto_target(step)
    if target is not None:
        where = ("steps", i, "on_fail")
        if target not in ctx.ids:
            ctx.add(where, f"goto unknown step '{target}'{did_you_mean(target, ctx.ids)}")
        elif ctx.ids[target] <= i:
            ctx.add(where, f"goto '{target}' jumps backwards: goto may only skip ahead (no loops)")


def check_cycles(ctx: Ctx, steps: list[Any]) -> None:
    graph = _need_graph(ctx, steps)
    state: dict[str, int] = {}  # 1 visiting, 2 done
    reported: set[frozenset[str]] = set()

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    ctx.add(
                        ("steps", ctx.ids[nxt], "needs"), "dependency cycle: " + " -> ".join(cycle)
                    )
            elif state.get(nxt) is None:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for sid in graph:
        if sid not in state:
            visit(sid, [sid])


def _needs(step: Any) -> list[str]:
    needs = step.get("needs") if isinstance(step, dict) else None
    return [n for n in needs if isinstance(n, str)] if isinstance(needs, list) else []


def _need_graph(ctx: Ctx, steps: list[Any]) -> dict[str, list[str]]:
    """Each step id (first definition) to the known steps it needs, itself left out."""
    graph: dict[str, list[str]] = {}
    for step in steps:
        sid = step_id(step)
        if sid is not None and sid not in graph:
            graph[sid] = [n for n in _needs(step) if n in ctx.ids and n != sid]
    return graph


def check_reachability(ctx: Ctx, steps: list[Any]) -> None:
    dead: set[str] = set()
    for i, step in enumerate(steps):
        sid = step_id(step)
        if sid is None or not isinstance(step, dict) or ctx.ids.get(sid) != i:
            continue
        why = _why_unreachable(ctx, steps, i, dead)
        if why:
            dead.add(sid)
            ctx.add(("steps", i), f"step '{sid}' is unreachable: {why}")


def _why_unreachable(ctx: Ctx, steps: list[Any], i: int, dead: set[str]) -> str | None:
    step = steps[i]
    when = step.get("when")
    why = "its `when` is always false" if _always_false(when) else None
    dead_need = next((n for n in _needs(step) if n in dead), None)
    if dead_need:
        why = f"it needs '{dead_need}', which never runs"
    gate = refs.analyze_expression(when).only_failed_of if isinstance(when, str) else None
    if why is None and gate in ctx.ids and ctx.ids[gate] < i:
        why = _never_after_failure(steps[ctx.ids[gate]], gate, i, ctx)
    return why


def _always_false(when: Any) -> bool:
    return when is False or (isinstance(when, str) and when.strip() in ("false", "False", "0"))


def _never_after_failure(gate_step: Any, gate: str, i: int, ctx: Ctx) -> str | None:
    """Why a step that runs only when ``gate`` failed can never run (None when it can)."""
    if not isinstance(gate_step, dict):
        return None
    on_fail = gate_step.get("on_fail")
    if on_fail is None:
        from mlsre.runbook.model import default_on_fail

        on_fail = default_on_fail(phase_of(gate_step)).value
    if on_fail == "stop":
        return f"it runs only when '{gate}' fails, and '{gate}' stops the run when it fails"
    target = goto_target(gate_step)
    if target in ctx.ids and ctx.ids[target] > i:
        return f"it runs only when '{gate}' fails, and then the run jumps past it to '{target}'"
    return None
