"""Checks that need the whole runbook: step references, flow, templates, confirm on mitigations.

They run on the raw YAML data (not the pydantic model) so one wrong type never hides the other
problems in the file: every problem found is reported, each at its ``file:line:column``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from mlsre.runbook import flow, injection, refs
from mlsre.runbook.messages import did_you_mean, pydantic_errors
from mlsre.runbook.model import ENGINE_FILTERS, EXPECT_NAMES, STEP_RESULT_FIELDS, TEMPLATE_GLOBALS
from mlsre.steps.base import StepKind
from mlsre.steps.catalog import KindCatalog, unknown_kind_message
from mlsre.yamlfile import Loc, Problem, YamlDocument, format_loc


@dataclass
class Ctx:
    doc: YamlDocument
    catalog: KindCatalog
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
        lines = self.doc.lines
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        rest = text[col - 1 :].split(":", 1)[1].strip() if ":" in text[col - 1 :] else ""
        if rest[:1] in ("|", ">") or (not rest and isinstance(loc[-1], str)):
            line += 1
        if lineno > 1 or line != m.line:
            line += lineno - 1
            target = lines[line - 1] if 0 < line <= len(lines) else ""
            col = len(target) - len(target.lstrip()) + 1
        self.problems.append(Problem(self.doc.path, line, col, message, format_loc(loc)))


def check_runbook(doc: YamlDocument, catalog: KindCatalog) -> tuple[list[Problem], list[Problem]]:
    data = doc.data if isinstance(doc.data, dict) else {}
    raw_inputs = data.get("inputs")
    ctx = Ctx(
        doc,
        catalog,
        {str(k) for k in raw_inputs} if isinstance(raw_inputs, dict) else set(),
    )
    steps = data.get("steps")
    steps = steps if isinstance(steps, list) else []
    flow.collect_ids(ctx, steps)
    seen: list[int] = []  # phases (indexes into flow.PHASES) in the order they first appear
    for i, step in enumerate(steps):
        if isinstance(step, dict):
            _check_step(ctx, i, step, seen)
    flow.check_cycles(ctx, steps)
    flow.check_reachability(ctx, steps)
    _whole_runbook_warnings(ctx, steps)
    return ctx.problems, ctx.warnings


def _whole_runbook_warnings(ctx: Ctx, steps: list[Any]) -> None:
    """Inputs nothing reads, and a runbook that mitigates but never verifies."""
    for name in sorted(ctx.inputs - ctx.used_inputs):
        ctx.warn(("inputs", name), f"input '{name}' is never used")
    phases = {flow.phase_of(s) for s in steps if isinstance(s, dict)}
    if "mitigate" in phases and "verify" not in phases:
        ctx.warn(("steps",), "the runbook mitigates but never verifies: add a verify step")


def _check_step(ctx: Ctx, i: int, step: dict[str, Any], seen: list[int]) -> None:
    sid = flow.step_id(step) or f"#{i + 1}"
    phase = flow.phase_of(step)
    index = flow.PHASES.index(phase)
    later = next((p for p in seen if p > index), None)  # the first earlier step of a later phase
    if index not in seen:
        seen.append(index)
    if later is not None:
        later_phase = flow.PHASES[later]
        at: Loc = ("steps", i, "phase") if "phase" in step else ("steps", i)
        implicit = "" if "phase" in step else " (no `phase` means diagnose)"
        ctx.add(
            at,
            f"a {phase} step after a {later_phase} step{implicit}: keep steps in "
            "phase order (diagnose, mitigate, verify)",
        )
    flow.check_links(ctx, i, step, sid)
    _check_kind(ctx, i, step, phase)
    _check_templates(ctx, i, step)


def _check_kind(ctx: Ctx, i: int, step: dict[str, Any], phase: str) -> None:
    uses = step.get("uses")
    if not isinstance(uses, str):
        return
    cls = ctx.catalog.kinds.get(uses)
    if cls is None:
        ctx.add(("steps", i, "uses"), unknown_kind_message(uses, ctx.catalog.names()))
        return
    kind = cls()
    raw = step.get("with", {})
    params = (
        validate_params(ctx, ("steps", i, "with"), kind, raw) if isinstance(raw, dict) else None
    )
    if isinstance(raw, dict):
        _check_injection(ctx, i, kind, raw)
    if step.get("confirm") or not kind.needs_confirm(params, phase):
        return
    if kind.changes_system(params):
        ctx.add(
            ("steps", i),
            f"step changes a system ({uses}) but has no `confirm`: add a question "
            "the person must answer yes to",
        )
    else:
        ctx.add(
            ("steps", i),
            "mitigation step has no `confirm`: add a question the person must answer yes to",
        )


def _check_injection(ctx: Ctx, i: int, kind: StepKind[Any], raw: dict[str, Any]) -> None:
    """What the kind refuses to run is an error; a template unescaped inside a PromQL matcher
    (in any parameter whose name says it holds a query) is warned of."""
    refused = kind.refusal(raw)
    if refused is not None:
        ctx.add(("steps", i, "with", *refused.at), refused.message)
    for key, value in raw.items():
        if isinstance(value, str) and "query" in str(key) and refs.is_template(value):
            for expr in injection.unescaped_matchers(value):
                ctx.warn(
                    ("steps", i, "with", str(key)),
                    f"`{{{{ {expr} }}}}` lands inside a PromQL label matcher unescaped: a value "
                    f'with a quote (a",x!=") changes the query; write {{{{ {expr} | promql_escape }}}}',
                )


def validate_params(ctx: Ctx, loc: Loc, kind: StepKind[Any], raw: dict[str, Any]) -> Any:
    """The kind's Params for ``raw``, reporting errors; values that are templates are not typed here
    (they are only known at run time), so their errors are left to the run. A check the kind
    polls (its ``nested_check`` field) is validated as a step of its own, which must not change
    a system."""
    try:
        params = kind.parse(raw)
    except ValidationError as exc:
        ctx.problems.extend(pydantic_errors(ctx.doc, exc, loc, kind.Params, skip_templates=True))
        return None
    field_name = kind.nested_check
    check = raw.get(field_name) if field_name else None
    if field_name is not None and isinstance(check, dict):
        _validate_polled(ctx, (*loc, field_name), kind, check)
    return params


def _validate_polled(ctx: Ctx, at: Loc, kind: StepKind[Any], check: dict[str, Any]) -> None:
    """The check a kind polls (at ``at``): a known kind, valid params, and no change to a system."""
    nested_uses = check.get("uses")
    if not isinstance(nested_uses, str):
        return
    nested = ctx.catalog.kinds.get(nested_uses)
    if nested is None:
        ctx.add((*at, "uses"), unknown_kind_message(nested_uses, ctx.catalog.names()))
    elif isinstance(check.get("with", {}), dict):
        inner_kind = nested()
        inner = validate_params(ctx, (*at, "with"), inner_kind, check.get("with", {}))
        if inner is not None and inner_kind.changes_system(inner):
            ctx.add(
                (*at, "uses"),
                f"a {kind.name} may only poll a check; {nested_uses} changes a system",
            )


def _templates_in(value: Any, loc: Loc, skip: Loc) -> list[tuple[Loc, str]]:
    """Strings with template tags inside ``value`` (plain text refers to nothing), but not the
    one at ``skip``; locations are built only for what is returned."""
    out: list[tuple[Loc, str]] = []
    if isinstance(value, str):
        if loc != skip and refs.is_template(value):
            out.append((loc, value))
        return out
    todo: list[tuple[Loc, Any]] = [(loc, value)]
    while todo:
        where, node = todo.pop()
        items: Iterable[tuple[str | int, Any]]
        if isinstance(node, dict):
            items = ((str(k), v) for k, v in node.items())  # a location names keys as text
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        for key, item in items:
            if isinstance(item, str):
                if refs.is_template(item) and (*where, key) != skip:
                    out.append(((*where, key), item))
            elif isinstance(item, dict | list):
                todo.append(((*where, key), item))
    return out


def _sample_names(ctx: Ctx, uses: Any) -> frozenset[str] | None:
    """Names an ``expect`` of this kind may use, or None when the kind does not declare them."""
    cls = ctx.catalog.kinds.get(uses) if isinstance(uses, str) else None
    fields = cls.sample_fields if cls is not None else None
    return TEMPLATE_GLOBALS | EXPECT_NAMES | fields if fields is not None else None


def _nested_check(ctx: Ctx, step: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(field name, value) of the check a step's kind polls, when it has one."""
    uses = step.get("uses")
    cls = ctx.catalog.kinds.get(uses) if isinstance(uses, str) else None
    with_block = step.get("with")
    field_name = cls.nested_check if cls is not None else None
    check = with_block.get(field_name) if field_name and isinstance(with_block, dict) else None
    return (field_name, check) if field_name and isinstance(check, dict) else None


def _check_templates(ctx: Ctx, i: int, step: dict[str, Any]) -> None:
    base: Loc = ("steps", i)
    for key in ("title", "guidance", "confirm"):
        text = step.get(key)
        if isinstance(text, str) and refs.is_template(text):
            _check_refs(ctx, i, (*base, key), refs.analyze_template(text), TEMPLATE_GLOBALS)
    polled = _nested_check(ctx, step)
    # a polled check's `expect` is an expression, not a template
    nested: Loc = (*base, "with", polled[0], "expect") if polled else (*base, "with", "", "")
    for loc, text in _templates_in(step.get("with"), (*base, "with"), nested):
        _check_refs(ctx, i, loc, refs.analyze_template(text), TEMPLATE_GLOBALS)
    when = step.get("when")
    if isinstance(when, str):
        _check_refs(ctx, i, (*base, "when"), refs.analyze_expression(when), TEMPLATE_GLOBALS)
    if isinstance(step.get("expect"), str):
        names = _sample_names(ctx, step.get("uses"))
        _check_refs(ctx, i, (*base, "expect"), refs.analyze_expression(step["expect"]), names)
    if polled and isinstance(polled[1].get("expect"), str):
        names = _sample_names(ctx, polled[1].get("uses"))
        _check_refs(ctx, i, nested, refs.analyze_expression(polled[1]["expect"]), names)


def _check_refs(
    ctx: Ctx, i: int, loc: Loc, a: refs.Analysis, allowed: frozenset[str] | None
) -> None:
    if a.error is not None:
        _template_error(ctx, loc, a)
        return
    if allowed is not None:
        _names_not_allowed(ctx, loc, a.names - allowed, allowed)
    for name, lineno in a.inputs:
        ctx.used_inputs.add(name)
        if name not in ctx.inputs:
            ctx.add_at(loc, lineno, f"undefined input '{name}'{did_you_mean(name, ctx.inputs)}")
    for ref in a.steps:
        message = _step_ref_problem(ctx, i, ref)
        if message is not None:
            ctx.add_at(loc, ref.lineno, message)
    _filters_and_tests(ctx, loc, a)


def _filters_and_tests(ctx: Ctx, loc: Loc, a: refs.Analysis) -> None:
    for name, lineno in a.filters:
        if name not in ENGINE_FILTERS and not refs.is_jinja_filter(name):
            ctx.add_at(loc, lineno, f"unknown filter '{name}'{did_you_mean(name, _filters())}")
    if a.tests:
        tests = refs.known_tests()
        for name, lineno in a.tests:
            if name not in tests:
                ctx.add_at(loc, lineno, f"unknown test '{name}'{did_you_mean(name, tests)}")


def _template_error(ctx: Ctx, loc: Loc, a: refs.Analysis) -> None:
    hint = ""
    if "{{{" in str(_value_at(ctx.doc.data, loc)):
        hint = " (a PromQL '{' right before '{{' reads as a Jinja dict: write '{ {{ ... }}')"
    ctx.add_at(loc, a.error_line, f"template error: {a.error}{hint}")


def _names_not_allowed(ctx: Ctx, loc: Loc, names: frozenset[str], allowed: frozenset[str]) -> None:
    for name in sorted(names):
        hint = did_you_mean(name, allowed)
        dashed = [s for s in ctx.ids if s.endswith(f"-{name}") or s.startswith(f"{name}-")]
        if dashed and not hint:
            hint = f" — step ids with '-' need brackets: steps['{dashed[0]}']"
        ctx.add(loc, f"'{name}' is not defined here{hint}")


def _step_ref_problem(ctx: Ctx, i: int, ref: refs.StepRef) -> str | None:
    """What is wrong with ``steps['x'].field`` used in step ``i``, or None."""
    if ref.step not in ctx.ids:
        return f"unknown step '{ref.step}'{did_you_mean(ref.step, ctx.ids)}"
    if ctx.ids[ref.step] >= i:
        return f"refers to step '{ref.step}', which has not run yet at this point"
    if ref.field is not None and ref.field not in STEP_RESULT_FIELDS:
        return (
            f"steps['{ref.step}'] has no '{ref.field}'"
            f"{did_you_mean(ref.field, STEP_RESULT_FIELDS)}"
            f" (one of {', '.join(STEP_RESULT_FIELDS)})"
        )
    return None


@lru_cache(maxsize=1)
def _filters() -> frozenset[str]:
    return refs.known_filters() | ENGINE_FILTERS


def _value_at(data: Any, loc: Loc) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data
