"""The preflight copy of a runbook: what the engine runs in place of the runbook itself.

- drops steps that ask a person (``manual``) or only record (``note``);
- replaces each mutating step by read-only checks of what it needs (a rollback needs the model
  and its serving alias; a fallback also needs the fallback alias); other mutating steps
  (``shell``, a POST) never run;
- replaces ``wait`` by one run of its check;
- makes every kept step a diagnose step with ``on_fail: continue``, no ``confirm``, no retries,
  and no ``when`` that reads other steps' results (a preflight checks each step whatever the
  others found; a ``when`` on inputs alone still decides, e.g. an empty ``health_url``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlsre.errors import MlsreError
from mlsre.runbook.model import Runbook, Step
from mlsre.steps.base import Phase


def _current(model: Any, alias: Any) -> tuple[str, dict[str, Any]]:
    return "registry.current", {"model": model, "alias": alias}


# What a mutating step needs, as read-only (kind, with) checks; ``with`` may hold templates.
TargetChecks = Callable[[dict[str, Any], str], list[tuple[str, dict[str, Any]]]]
TARGET_CHECKS: dict[str, TargetChecks] = {
    "registry.rollback": lambda w, _: [_current(w.get("model"), w.get("alias") or "champion")],
    "registry.promote": lambda w, _: [("registry.versions", {"model": w.get("model")})],
    "registry.fallback": lambda w, fb: [
        _current(w.get("model"), w.get("alias") or "champion"),
        _current(w.get("model"), w.get("fallback_alias") or fb),
    ],
}


@dataclass
class Plan:
    """The preflight copy of a runbook and how its steps map back to the original."""

    runbook: Runbook | None
    not_run: dict[str, str] = field(default_factory=dict)  # original step id -> why
    origin: dict[str, str] = field(default_factory=dict)  # copy step id -> original step id
    used_inputs: dict[str, set[str]] = field(default_factory=dict)  # copy step id -> inputs


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


def _mutating(cls: Any, step: Step) -> bool:
    from mlsre.steps.registry import is_mutating

    try:
        params = cls.Params.model_validate(step.with_)
    except Exception:  # templated values: ask the class
        params = None
    return step.phase is Phase.MITIGATE or is_mutating(cls, params)


def plan(runbook: Runbook, fallback_alias: str = "fallback") -> Plan:
    from mlsre.steps.registry import default_registry

    registry = default_registry()
    out = Plan(None)
    kept: list[Step] = []
    gone: set[str] = set()  # steps whose results the copy does not have
    for step in runbook.steps:
        if step.uses in ("manual", "note"):
            out.not_run[step.id] = (
                "asks a person" if step.uses == "manual" else "only records a note"
            )
            gone.add(step.id)
            continue
        try:
            cls: Any = registry.get(step.uses)
        except MlsreError as exc:
            out.not_run[step.id] = exc.message
            gone.add(step.id)
            continue
        if _mutating(cls, step):
            gone.add(step.id)
            targets = TARGET_CHECKS.get(step.uses)
            if targets is None:
                out.not_run[step.id] = "changes a system: a preflight never runs it"
                continue
            for k, (uses, with_) in enumerate(targets(step.with_, fallback_alias)):
                sid = step.id if k == 0 else f"{step.id}--{k}"
                kept.append(_copy(step, sid, uses, with_, None))
                out.origin[sid] = step.id
            continue
        uses, with_, expect = step.uses, step.with_, step.expect
        if step.uses == "wait":
            check = step.with_.get("check") if isinstance(step.with_.get("check"), dict) else {}
            assert isinstance(check, dict)
            uses = str(check.get("uses") or "")
            with_ = dict(check.get("with") or {})
            expect = check.get("expect")
        copy = _copy(step, step.id, uses, with_, expect)
        reads, _ = _refs(copy)
        blocked = sorted(reads & gone)
        if blocked:
            out.not_run[step.id] = (
                f"reads the result of {', '.join(blocked)}, which a preflight does not run"
            )
            gone.add(step.id)
            continue
        kept.append(copy)
        out.origin[step.id] = step.id
    ids = {s.id for s in kept}
    for s in kept:
        s.needs = [n for n in s.needs if n in ids]
        out.used_inputs[s.id] = _refs(s)[1]
    if kept:
        out.runbook = runbook.model_copy(update={"steps": kept})
    return out


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
