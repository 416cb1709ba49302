"""Plain-data views of runbooks and step kinds, for ``mlsre runbook show|kinds`` (human or JSON)."""

from __future__ import annotations

from typing import Any

from mlsre.runbook.model import Runbook, Step
from mlsre.steps.catalog import KindCatalog, default_catalog


def step_action(step: Step, catalog: KindCatalog) -> str:
    """What the step queries or changes, in one line (its kind's ``describe``, unrendered)."""
    cls = catalog.kinds.get(step.uses)
    if cls is None:
        return f"(unknown step kind {step.uses})"
    kind = cls()
    try:
        return kind.describe(kind.parse(step.with_))
    except Exception:  # templated non-string values only resolve at run time
        return ", ".join(f"{k}={v}" for k, v in step.with_.items()) or "-"


def rendered_actions(
    rb: Runbook, given: dict[str, Any], catalog: KindCatalog | None = None
) -> dict[str, str]:
    """Each step's action with the inputs filled in (concrete PromQL to copy at 03:00).

    Raises a UsageError for unknown or missing required inputs. A step whose templates need
    run-time values (earlier steps' results) keeps its unrendered description.
    """
    import contextlib

    from pydantic import ValidationError

    from mlsre.errors import MlsreError
    from mlsre.runbook.engine import parse_inputs
    from mlsre.runbook.sandbox import render_value
    from mlsre.timeutil import utcnow

    reg = catalog or default_catalog()
    now = utcnow()
    context = {
        "inputs": parse_inputs(rb, given),
        "steps": {},
        "incident": {},
        "runbook": {"id": rb.id, "title": rb.title},
        "now": now,
        "at": now,
    }
    out: dict[str, str] = {}
    for step in rb.steps:
        if step.confirm:  # the question a person will be asked, with the inputs filled in
            # (one that needs run-time values, earlier steps' results, is shown as written)
            with contextlib.suppress(MlsreError):
                out[f"{step.id}.confirm"] = str(render_value(step.confirm, context))
        cls = reg.kinds.get(step.uses)
        if cls is None:
            continue
        kind = cls()
        try:
            out[step.id] = kind.describe(kind.parse(render_value(step.with_, context)))
        except (MlsreError, ValidationError):
            continue
    return out


def describe_runbook(
    rb: Runbook,
    *,
    path: str = "",
    source: str = "",
    catalog: KindCatalog | None = None,
    inputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    reg = catalog or default_catalog()
    rendered = rendered_actions(rb, inputs, reg) if inputs is not None else {}
    steps = [_describe_step(step, reg, rendered) for step in rb.steps]
    return {
        "id": rb.id,
        "title": rb.title,
        "description": rb.description,
        "failure_mode": rb.failure_mode,
        "severity": rb.severity.value,
        "owners": rb.owners,
        "tags": rb.tags,
        "triggers": rb.triggers.model_dump(mode="json"),
        "inputs": {k: v.model_dump(mode="json") for k, v in rb.input_specs().items()},
        "source": source,
        "path": path,
        "steps": steps,
    }


def _describe_step(step: Step, reg: KindCatalog, rendered: dict[str, Any]) -> dict[str, Any]:
    """One step as ``runbook show --json`` lists it (``rendered``: its action with inputs)."""
    return {
        "id": step.id,
        "title": step.title or step.id,
        "phase": step.phase.value,
        "uses": step.uses,
        "with": step.with_,
        "action": rendered.get(step.id) or step_action(step, reg),
        "mutating": _changes_system(step, reg),
        "expect": step.expect,
        "when": step.when,
        "needs": step.needs,
        "on_fail": step.on_fail or step.on_fail_action.value,
        "confirm": rendered.get(f"{step.id}.confirm") or step.confirm,
        "timeout": step.timeout,
        "retries": step.retries,
        "guidance": step.guidance,
    }


def _changes_system(step: Step, reg: KindCatalog) -> bool:
    """Does the step change a system? Its kind says; an unknown kind changes nothing."""
    cls = reg.kinds.get(step.uses)
    return bool(cls and cls().changes_system_as_written(step.with_))


def describe_kinds(catalog: KindCatalog | None = None) -> dict[str, Any]:
    reg = catalog or default_catalog()
    kinds = []
    for name in reg.names():
        cls = reg.kinds[name]
        params = cls.Params
        kinds.append(
            {
                "name": name,
                "mutating": cls.mutating,
                "source": reg.sources[name],
                "summary": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "",
                "params": [f.alias or n for n, f in params.model_fields.items()],
                "parameters": kind_parameters(params),
            }
        )
    return {"kinds": kinds, "warnings": reg.warnings}


# Parameters many kinds share, described once (a kind's own description wins).
COMMON_MEANINGS = {
    "timeout_s": "Seconds before the step gives up (default: the integration's timeout_s).",
}


def kind_parameters(params: Any) -> list[dict[str, Any]]:
    """Each parameter of a kind's ``with:``: name, type, whether required, default, meaning."""
    from pydantic_core import PydanticUndefined

    out = []
    for name, f in params.model_fields.items():
        required = f.is_required()
        default = None if required or f.default is PydanticUndefined else f.default
        if f.default_factory is not None:
            default = f.default_factory()
        out.append(
            {
                "name": f.alias or name,
                "type": _type_name(f.annotation),
                "required": required,
                "default": getattr(default, "value", default),
                "description": f.description or COMMON_MEANINGS.get(name, ""),
            }
        )
    return out


def _type_name(annotation: Any) -> str:
    from enum import Enum

    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "|".join(str(m.value) for m in annotation)
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    for noise in ("typing.", "mlsre.steps.", "<class '", "'>"):
        text = text.replace(noise, "")
    return text
