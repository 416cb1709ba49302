"""The data templates see during a run: parsed inputs, the incident, each step's result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlsre.errors import MlsreError, UsageError
from mlsre.incident.model import Incident
from mlsre.runbook.model import InputType, Runbook
from mlsre.steps.base import StepStatus
from mlsre.timeutil import iso, parse_duration


def parse_inputs(runbook: Runbook, given: dict[str, Any]) -> dict[str, Any]:
    """Inputs with defaults applied and command-line strings parsed to their declared types."""
    specs = runbook.input_specs()
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise UsageError(
            f"runbook {runbook.id} has no input {', '.join(unknown)}",
            hint=f"its inputs: {', '.join(specs) or '(none)'}",
        )
    out: dict[str, Any] = {}
    missing = []
    for name, spec in specs.items():
        if name in given:
            out[name] = _coerce(name, spec.type, given[name])
        elif spec.default is not None:
            out[name] = spec.default
        elif spec.required:
            missing.append(name)
        else:
            out[name] = None
    if missing:
        raise UsageError(
            f"runbook {runbook.id} needs input {', '.join(missing)}",
            hint=" ".join(f"--input {m}=..." for m in missing),
        )
    return out


def coerce_edits(runbook: Runbook, edited: dict[str, Any]) -> dict[str, Any]:
    """Values a person typed mid-run, parsed to the inputs' declared types."""
    specs = runbook.input_specs()
    return {k: _coerce(k, specs[k].type, v) if k in specs else v for k, v in edited.items()}


def _coerce(name: str, kind: InputType, raw: Any) -> Any:
    parse = _PARSE.get(kind)
    if parse is None or not isinstance(raw, str):
        return raw
    try:
        return parse(raw)
    except (ValueError, MlsreError):
        raise UsageError(f"input {name}: '{raw}' is not a {kind.value}") from None


def _boolean(raw: str) -> bool:
    if raw.lower() not in ("true", "false", "yes", "no", "1", "0"):
        raise ValueError(raw)
    return raw.lower() in ("true", "yes", "1")


def _duration(raw: str) -> str:
    parse_duration(raw)  # checked, kept as written
    return raw


_PARSE: dict[InputType, Callable[[str], Any]] = {
    InputType.NUMBER: float,
    InputType.INTEGER: int,
    InputType.BOOLEAN: _boolean,
    InputType.DURATION: _duration,
    InputType.LIST: lambda raw: [x.strip() for x in raw.split(",") if x.strip()],
}


def incident_context(inc: Incident | None) -> dict[str, Any]:
    if inc is None:
        return {}
    return {
        "id": inc.id,
        "ref": inc.ref,
        "title": inc.title,
        "severity": inc.severity.value,
        "status": inc.status.value,
        "model": inc.model,
        "service": inc.service,
        "summary": inc.summary,
        "started_at": iso(inc.started_at),
        "opened_at": iso(inc.opened_at),
    }


def step_namespace(
    status: StepStatus | None,
    output: Any = None,
    summary: str = "",
    samples: list[Any] | None = None,
) -> dict[str, Any]:
    samples = samples or []
    first = samples[0].get("value") if samples and isinstance(samples[0], dict) else None
    return {
        "status": status.value if status else "pending",
        "output": output,
        "summary": summary,
        "samples": samples,
        "value": first,
        "passed": status is StepStatus.PASSED,
        "failed": status is StepStatus.FAILED,
        "error": status is StepStatus.ERROR,
        "skipped": status is StepStatus.SKIPPED,
    }
