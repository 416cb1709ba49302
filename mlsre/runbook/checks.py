"""Checks that need the whole runbook: step references, flow, templates, confirm on mitigations.

They run on the raw YAML data (not the pydantic model) so one wrong type never hides the other
problems in the file: every problem found is reported, each at its ``file:line:column``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from mlsre.runbook import refs
from mlsre.runbook.model import ENGINE_FILTERS, EXPECT_NAMES, STEP_RESULT_FIELDS, TEMPLATE_GLOBALS
from mlsre.steps.registry import KindRegistry, is_mutating, unknown_kind_message
from mlsre.yamlfile import Loc, Problem, YamlDocument, format_loc

PHASES = ("diagnose", "mitigate", "verify")
NO_CONFIRM_NEEDED = frozenset({"manual", "note"})  # the person is already in the loop


def did_you_mean(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


@dataclass
class _Ctx:
    doc: YamlDocument
    lines: list[str]
    registry: KindRegistry
    inputs: set[str]
    ids: dict[str, int] = field(default_factory=dict)  # step id -> index of first definition
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    used_inputs: set[str] = field(default_factory=set)

    def add(self, loc: Loc, message: str) -> None:
        self.problems.append(self.doc.problem(loc, message))

    def warn(self, loc: Loc, message: str) -> None:
        self.warnings.append(self.doc.problem(loc, message))

    def add_at(self, loc: Loc, lineno: int, message: str) -> None:
        """A problem on line ``lineno`` of the (possibly multi-line) string value at ``loc``."""
        m = self.doc.mark(loc)
        line, col = m.line, m.column
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        rest = text[col - 1 :].split(":", 1)[1].strip() if ":" in text[col - 1 :] else ""
        if rest[:1] in ("|", ">") or (not rest and isinstance(loc[-1], str)):
            line += 1
        if lineno > 1 or line != m.line:
            line += lineno - 1
            target = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
            col = len(target) - len(target.lstrip()) + 1
        self.problems.append(Problem(self.doc.path, line, col, message, format_loc(loc)))


def check_runbook(
    doc: YamlDocument, lines: list[str], registry: KindRegistry
) -> tuple[list[Problem], list[Problem]]:
    data = doc.data if isinstance(doc.data, dict) else {}
    raw_inputs = data.get("inputs")
    ctx = _Ctx(
        doc,
        lines,
        registry,
        {str(k) for k in raw_inputs} if isinstance(raw_inputs, dict) else set(),
    )
    steps = data.get("steps")
    steps = steps if isinstance(steps, list) else []
    _collect_ids(ctx, steps)
    for i, step in enumerate(steps):
        if isinstance(step, dict):
            _check_step(ctx, steps, i, step)
    _check_cycles(ctx, steps)
    _check_reachability(ctx, steps)
    for name in sorted(ctx.inputs - ctx.used_inputs):
        ctx.warn(("inputs", name), f"input '{name}' is never used")
    phases = {_phase(s) for s in steps if isinstance(s, dict)}
    if "mitigate" in phases and "verify" not in phases:
        ctx.warn(("steps",), "the runbook mitigates but never verifies: add a verify step")
    return ctx.problems, ctx.warnings


def _step_id(step: Any) -> str | None:
    sid = step.get("id") if isinstance(step, dict) else None
    return sid if isinstance(sid, str) else None


def _phase(step: dict[str, Any]) -> str:
    p = step.get("phase", "diagnose")
    return p if p in PHASES else "diagnose"


def _collect_ids(ctx: _Ctx, steps: list[Any]) -> None:
    for i, step in enumerate(steps):
        sid = _step_id(step)
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


def _goto(step: dict[str, Any]) -> str | None:
    on_fail = step.get("on_fail")
    if isinstance(on_fail, str) and on_fail.startswith("goto "):
        return on_fail[5:].strip()
    return None


def _check_step(ctx: _Ctx, steps: list[Any], i: int, step: dict[str, Any]) -> None:
    sid = _step_id(step) or f"#{i + 1}"
    phase = _phase(step)
    earlier = [_phase(s) for s in steps[:i] if isinstance(s, dict)]
    later_phase = next((p for p in earlier if PHASES.index(p) > PHASES.index(phase)), None)
    if later_phase:
        at: Loc = ("steps", i, "phase") if "phase" in step else ("steps", i)
        implicit = "" if "phase" in step else " (no `phase` means diagnose)"
        ctx.add(
            at,
            f"a {phase} step after a {later_phase} step{implicit}: keep steps in "
            "phase order (diagnose, mitigate, verify)",
        )
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
    target = _goto(step)
    if target is not None:
        where = ("steps", i, "on_fail")
        if target not in ctx.ids:
            ctx.add(where, f"goto unknown step '{target}'{did_you_mean(target, ctx.ids)}")
        elif ctx.ids[target] <= i:
            ctx.add(where, f"goto '{target}' jumps backwards: goto may only skip ahead (no loops)")
    _check_kind(ctx, i, step, phase)
    _check_templates(ctx, i, step)


def _check_kind(ctx: _Ctx, i: int, step: dict[str, Any], phase: str) -> None:
    uses = step.get("uses")
    if not isinstance(uses, str):
        return
    cls = ctx.registry.kinds.get(uses)
    if cls is None:
        ctx.add(("steps", i, "uses"), unknown_kind_message(uses, ctx.registry.names()))
        return
    raw = step.get("with", {})
    params = validate_params(ctx, ("steps", i, "with"), cls, raw) if isinstance(raw, dict) else None
    confirm = step.get("confirm")
    if confirm:
        return
    if is_mutating(cls, params):
        ctx.add(
            ("steps", i),
            f"step changes a system ({uses}) but has no `confirm`: add a question "
            "the person must answer yes to",
        )
    elif phase == "mitigate" and uses not in NO_CONFIRM_NEEDED:
        ctx.add(
            ("steps", i),
            "mitigation step has no `confirm`: add a question the person must answer yes to",
        )


def validate_params(ctx: _Ctx, loc: Loc, cls: type, raw: dict[str, Any]) -> Any:
    """The kind's Params for ``raw``, reporting errors; values that are templates are not typed here
    (they are only known at run time), so their errors are left to the run."""
    from pydantic import ValidationError

    from mlsre.runbook.validate import pydantic_errors

    params_model = cls.Params  # type: ignore[attr-defined]
    try:
        params = params_model.model_validate(raw)
    except ValidationError as exc:
        ctx.problems.extend(pydantic_errors(ctx.doc, exc, loc, params_model, skip_templates=True))
        return None
    check = getattr(params, "check", None)
    nested_uses = getattr(check, "uses", None)
    if isinstance(nested_uses, str):
        nested = ctx.registry.kinds.get(nested_uses)
        if nested is None:
            ctx.add(
                (*loc, "check", "uses"), unknown_kind_message(nested_uses, ctx.registry.names())
            )
        elif isinstance(raw.get("check", {}).get("with", {}), dict):
            inner = validate_params(
                ctx, (*loc, "check", "with"), nested, raw["check"].get("with", {})
            )
            if inner is not None and is_mutating(nested, inner):
                ctx.add(
                    (*loc, "check", "uses"),
                    f"a wait may only poll a check; {nested_uses} changes a system",
                )
    return params


def _strings(value: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*loc, str(k)))
    elif isinstance(value, list):
        for j, v in enumerate(value):
            yield from _strings(v, (*loc, j))


def _sample_names(ctx: _Ctx, uses: Any) -> frozenset[str] | None:
    """Names an ``expect`` of this kind may use, or None when the kind does not declare them."""
    cls = ctx.registry.kinds.get(uses) if isinstance(uses, str) else None
    fields = getattr(cls, "sample_fields", None)
    return TEMPLATE_GLOBALS | EXPECT_NAMES | frozenset(fields) if fields is not None else None


def _check_templates(ctx: _Ctx, i: int, step: dict[str, Any]) -> None:
    base: Loc = ("steps", i)
    for key in ("title", "guidance", "confirm"):
        if isinstance(step.get(key), str):
            _check_refs(ctx, i, (*base, key), refs.analyze_template(step[key]), TEMPLATE_GLOBALS)
    with_block = step.get("with")
    nested_expect: tuple[Loc, str, Any] | None = None
    for loc, text in _strings(with_block, (*base, "with")):
        if loc[-2:] == ("check", "expect") and isinstance(with_block, dict):
            nested_expect = (loc, text, (with_block.get("check") or {}).get("uses"))
            continue
        _check_refs(ctx, i, loc, refs.analyze_template(text), TEMPLATE_GLOBALS)
    when = step.get("when")
    if isinstance(when, str):
        _check_refs(ctx, i, (*base, "when"), refs.analyze_expression(when), TEMPLATE_GLOBALS)
    if isinstance(step.get("expect"), str):
        names = _sample_names(ctx, step.get("uses"))
        _check_refs(ctx, i, (*base, "expect"), refs.analyze_expression(step["expect"]), names)
    if nested_expect is not None:
        loc, text, uses = nested_expect
        _check_refs(ctx, i, loc, refs.analyze_expression(text), _sample_names(ctx, uses))


def _check_refs(
    ctx: _Ctx, i: int, loc: Loc, a: refs.Analysis, allowed: frozenset[str] | None
) -> None:
    if a.error is not None:
        hint = ""
        if "{{{" in str(_value_at(ctx.doc.data, loc)):
            hint = " (a PromQL '{' right before '{{' reads as a Jinja dict: write '{ {{ ... }}')"
        ctx.add_at(loc, a.error_line, f"template error: {a.error}{hint}")
        return
    if allowed is not None:
        for name in sorted(a.names - allowed):
            hint = did_you_mean(name, allowed)
            dashed = [s for s in ctx.ids if s.endswith(f"-{name}") or s.startswith(f"{name}-")]
            if dashed and not hint:
                hint = f" — step ids with '-' need brackets: steps['{dashed[0]}']"
            ctx.add(loc, f"'{name}' is not defined here{hint}")
    for name, lineno in a.inputs:
        ctx.used_inputs.add(name)
        if name not in ctx.inputs:
            ctx.add_at(loc, lineno, f"undefined input '{name}'{did_you_mean(name, ctx.inputs)}")
    for ref in a.steps:
        if ref.step not in ctx.ids:
            ctx.add_at(
                loc, ref.lineno, f"unknown step '{ref.step}'{did_you_mean(ref.step, ctx.ids)}"
            )
        elif ctx.ids[ref.step] >= i:
            ctx.add_at(
                loc, ref.lineno, f"refers to step '{ref.step}', which has not run yet at this point"
            )
        elif ref.field is not None and ref.field not in STEP_RESULT_FIELDS:
            ctx.add_at(
                loc,
                ref.lineno,
                f"steps['{ref.step}'] has no '{ref.field}'"
                f"{did_you_mean(ref.field, STEP_RESULT_FIELDS)}"
                f" (one of {', '.join(STEP_RESULT_FIELDS)})",
            )
    filters = _filters()
    for name, lineno in a.filters:
        if name not in filters:
            ctx.add_at(loc, lineno, f"unknown filter '{name}'{did_you_mean(name, filters)}")
    tests = refs.known_tests()
    for name, lineno in a.tests:
        if name not in tests:
            ctx.add_at(loc, lineno, f"unknown test '{name}'{did_you_mean(name, tests)}")


@lru_cache(maxsize=1)
def _filters() -> frozenset[str]:
    return refs.known_filters() | ENGINE_FILTERS


def _check_cycles(ctx: _Ctx, steps: list[Any]) -> None:
    graph: dict[str, list[str]] = {}
    for step in steps:
        sid = _step_id(step)
        needs = step.get("needs") if isinstance(step, dict) else None
        if sid is not None and sid not in graph:
            graph[sid] = [
                n for n in (needs if isinstance(needs, list) else []) if n in ctx.ids and n != sid
            ]
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


def _check_reachability(ctx: _Ctx, steps: list[Any]) -> None:
    dead: set[str] = set()
    for i, step in enumerate(steps):
        sid = _step_id(step)
        if sid is None or not isinstance(step, dict) or ctx.ids.get(sid) != i:
            continue
        when = step.get("when")
        why = None
        if when is False or (isinstance(when, str) and when.strip() in ("false", "False", "0")):
            why = "its `when` is always false"
        raw_needs = step.get("needs")
        needs = raw_needs if isinstance(raw_needs, list) else []
        dead_need = next((n for n in needs if n in dead), None)
        if dead_need:
            why = f"it needs '{dead_need}', which never runs"
        gate = refs.analyze_expression(when).only_failed_of if isinstance(when, str) else None
        if gate in ctx.ids and ctx.ids[gate] < i:
            why = why or _never_after_failure(steps[ctx.ids[gate]], gate, i, ctx)
        if why:
            dead.add(sid)
            ctx.add(("steps", i), f"step '{sid}' is unreachable: {why}")


def _never_after_failure(gate_step: Any, gate: str, i: int, ctx: _Ctx) -> str | None:
    """Why a step that runs only when ``gate`` failed can never run (None when it can)."""
    if not isinstance(gate_step, dict):
        return None
    on_fail = gate_step.get("on_fail")
    if on_fail is None:
        on_fail = "continue" if _phase(gate_step) == "diagnose" else "stop"
    if on_fail == "stop":
        return f"it runs only when '{gate}' fails, and '{gate}' stops the run when it fails"
    target = _goto(gate_step)
    if target in ctx.ids and ctx.ids[target] > i:
        return f"it runs only when '{gate}' fails, and then the run jumps past it to '{target}'"
    return None


def _value_at(data: Any, loc: Loc) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data
