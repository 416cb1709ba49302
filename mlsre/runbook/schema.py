"""The runbook format as a JSON Schema, so editors (YAML language server) complete and check it.

``mlsre init`` writes it to ``.mlsre/runbook.schema.json`` and puts a ``# yaml-language-server:
$schema=...`` comment at the top of each runbook; :func:`modeline` builds that comment.
The schema is built from the pydantic model plus every registered step kind's ``Params``, so a
team's plugins get completion too (re-export after installing one).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mlsre.runbook.model import Runbook
from mlsre.steps.catalog import KindCatalog, default_catalog

SCHEMA_ID = "urn:mlsre:runbook:v1"
SCHEMA_RELPATH = Path(".mlsre") / "runbook.schema.json"
# A string with a Jinja2 tag stands for any type: it is rendered at run time.
_TEMPLATE_STRING = {"type": "string", "pattern": r"\{\{|\{%"}


def schema_path(workspace: Path) -> Path:
    """Where a workspace keeps its exported schema."""
    return workspace / SCHEMA_RELPATH


def modeline(runbook_file: Path, schema_file: Path) -> str:
    """The first-line comment that points the YAML language server at the schema."""
    rel = os.path.relpath(schema_file.resolve(), runbook_file.resolve().parent)
    return f"# yaml-language-server: $schema={Path(rel).as_posix()}"


def write_schema(path: Path, catalog: KindCatalog | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(runbook_schema(catalog), indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    return path


def runbook_schema(catalog: KindCatalog | None = None) -> dict[str, Any]:
    reg = catalog or default_catalog()
    schema = Runbook.model_json_schema(by_alias=True, mode="validation")
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    step = defs["Step"]
    names = reg.names()
    step["properties"]["uses"] = {
        "type": "string",
        "enum": names,
        "description": step["properties"]["uses"].get("description", ""),
    }
    rules = []
    for name in names:
        params = reg.kinds[name].Params
        key = f"with.{name}"
        kind_schema = params.model_json_schema(
            by_alias=True, mode="validation", ref_template=f"#/$defs/{name}.{{model}}"
        )
        for sub_name, sub in kind_schema.pop("$defs", {}).items():
            defs[f"{name}.{sub_name}"] = _allow_templates(sub)
        defs[key] = _allow_templates(kind_schema)
        then: dict[str, Any] = {"properties": {"with": {"$ref": f"#/$defs/{key}"}}}
        if kind_schema.get("required"):
            then["required"] = ["with"]
        rules.append(
            {"if": {"properties": {"uses": {"const": name}}, "required": ["uses"]}, "then": then}
        )
    step["allOf"] = rules
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "mlsre runbook (apiVersion mlsre/v1)",
        "description": "A runbook: how to diagnose and mitigate one way an ML system fails. "
        "Validate with `mlsre runbook validate`.",
    }


def _allow_templates(obj_schema: dict[str, Any]) -> dict[str, Any]:
    """Let every non-string property of an object schema also be a templated string."""
    props = obj_schema.get("properties")
    if not isinstance(props, dict):
        return obj_schema
    for key, prop in props.items():
        plain_string = prop.get("type") == "string" and not {"pattern", "enum", "const"} & set(prop)
        if plain_string or prop == {}:
            continue
        props[key] = {"anyOf": [prop, _TEMPLATE_STRING], **_doc_of(prop)}
    return obj_schema


def _doc_of(prop: dict[str, Any]) -> dict[str, Any]:
    return {k: prop[k] for k in ("title", "description", "default") if k in prop}
