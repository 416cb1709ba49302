"""pydantic's validation errors, reworded for people: located, with the value that was wrong,
types in words, and a suggestion for a misspelt field."""

from __future__ import annotations

import types
import typing
from typing import Any, TypeGuard

from pydantic import BaseModel

from mlsre.runbook.model import InputSpec, Runbook, Step, Triggers
from mlsre.yamlfile import Loc, Problem, YamlDocument

# What a field's pattern means, in words (pydantic would print the regex).
_PATTERN_HINTS = {
    "id": "ids use lowercase letters, digits, '-' and '_', starting with a letter or digit",
    "failure_mode": "use lowercase letters, digits, '-' and '_', e.g. data-drift",
    "uses": "a step kind name: lowercase words joined by dots (see `mlsre runbook kinds`)",
    "on_fail": "on_fail is continue, stop, or goto STEP-ID",
    "timeout": "not a duration: use e.g. 30s, 5m, 1h",
    "interval": "not a duration: use e.g. 30s, 5m",
    "deadline": "not a duration: use e.g. 10m, 1h",
}


def did_you_mean(word: str, options: Any) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _is_type_tag(part: Any) -> bool:
    """pydantic adds the union member it tried to a loc (`str`, `function-after[..]`)."""
    return isinstance(part, str) and (
        "[" in part
        or part in ("str", "bool", "int", "float", "list", "dict", "none")
        or part[:1].isupper()
    )


def pydantic_errors(
    doc: YamlDocument, exc: Any, prefix: Loc, model: type, *, skip_templates: bool = False
) -> list[Problem]:
    """Located problems from a pydantic error, with suggestions for unknown fields."""
    grouped: dict[Loc, list[dict[str, Any]]] = {}
    for err in exc.errors(include_url=False):
        if skip_templates and _is_template(err.get("input")):
            continue
        loc = tuple(p for p in err["loc"] if not _is_type_tag(p))
        err["tags"] = [p for p in err["loc"] if _is_type_tag(p)]
        grouped.setdefault(loc, []).append(err)
    out: list[Problem] = []
    for loc, errs in grouped.items():
        full: Loc = (*prefix, *loc)
        out.append(doc.problem(full, _message(loc, errs, model)))
    return out


def _message(loc: Loc, errs: list[dict[str, Any]], model: type) -> str:
    err = errs[0]
    kind = err["type"]
    last = loc[-1] if loc else ""
    got = _describe_input(err.get("input"))
    if kind == "extra_forbidden":
        return _unknown_field(loc, model)
    if kind == "missing":
        return f"missing required field '{last}'"
    if kind == "string_pattern_mismatch":
        return f"{_PATTERN_HINTS.get(str(last), err['msg'])} (got {got})"
    if len(errs) > 1 and all(e["type"].endswith("_type") for e in errs):
        wanted = " or ".join(dict.fromkeys(_type_word(e) for e in errs))
        return f"expected {wanted}, got {got}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if kind.endswith(("_type", "_parsing")) or kind in ("literal_error", "enum"):
        msg = f"{msg}, got {got}"
    return msg


def _unknown_field(loc: Loc, model: type) -> str:
    last = str(loc[-1]) if loc else ""
    hint = did_you_mean(last, fields_at(model, loc[:-1]))
    if not hint and " " in last:
        hint = " — a ',' inside {a: flow mapping} starts a new key: quote the value"
    return f"unknown field '{last}'{hint}"


def _type_word(err: dict[str, Any]) -> str:
    words = {
        "string_type": "a string",
        "bool_type": "true/false",
        "int_type": "an integer",
        "float_type": "a number",
        "list_type": "a list",
        "dict_type": "a mapping",
        "none_type": "nothing",
        "model_type": "a mapping",
    }
    kind = str(err["type"])
    return words.get(kind, kind.removesuffix("_type"))


def _describe_input(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fields_at(model: type, loc: Loc) -> list[str]:
    """Field names (aliases) of the model found at ``loc`` inside ``model``, for suggestions."""
    current: Any = model
    if model is Runbook and loc:
        current, loc = _runbook_part(loc)
    for part in loc:
        if isinstance(part, str) and _is_model(current):
            current = _field_model(current, part)
    if _is_model(current):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _runbook_part(loc: Loc) -> tuple[Any, Loc]:
    """The model under a runbook's top-level key, and the rest of ``loc`` below it (past the
    list index for steps and inputs). A step's ``with`` belongs to its kind: no model."""
    if loc[0] == "steps" and loc[2:3] == ("with",):
        return None, ()
    known = {"steps": Step, "inputs": InputSpec, "triggers": Triggers}
    rest = loc[2:] if loc[0] in ("steps", "inputs") else loc[1:]
    return known.get(str(loc[0])), rest


def _field_model(model: type[BaseModel], name: str) -> Any:
    """The model inside field ``name`` (or the field with that alias) of ``model``, or None."""
    info = model.model_fields.get(name) or next(
        (f for f in model.model_fields.values() if f.alias == name), None
    )
    return _unwrap(info.annotation) if info else None


def _is_model(value: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _unwrap(annotation: Any) -> Any:
    if _is_model(annotation):
        return annotation
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):  # never the annotation itself: no endless loop
            inner = _unwrap(arg)
            if inner is not None:
                return inner
    return None
