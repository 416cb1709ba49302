"""``mlsre runbook new``: a runbook skeleton that validates as written, one step per phase."""

from __future__ import annotations

import re
from pathlib import Path

from mlsre.errors import UsageError
from mlsre.runbook.model import ID_PATTERN

_TEMPLATE = """\
@MODELINE@apiVersion: mlsre/v1
kind: Runbook
id: @ID@
title: @TITLE@
description: >-
  What this runbook handles, and the symptoms that should lead someone here.
failure_mode: @FAILURE_MODE@
severity: SEV3
owners: []
tags: []
triggers:
  alerts: []
  slos: []
inputs:
  model: {description: Registered model name, required: true}
  model_label: {description: Label that carries the model name, default: model}
steps:
  - id: requests-per-version
    title: Traffic per model version
    uses: prometheus.query
    with:
      query: >-
        sum by (version)
        (rate(model_requests_total{ {{ inputs.model_label }}="{{ inputs.model | promql_escape }}" }[5m]))
    expect: value > 0
    guidance: |
      Which versions serve traffic right now. No result means the model gets no traffic or the
      metric names differ: check the inputs.
  - id: rollback
    title: Roll the model back to the previous version
    phase: mitigate
    when: steps['requests-per-version'].failed
    uses: registry.rollback
    with: {model: "{{ inputs.model }}", alias: champion}
    confirm: Move the champion alias of {{ inputs.model }} back to the previous version?
    guidance: |
      Moves the `champion` alias back; serving picks it up on its next reload.
  - id: verify-traffic
    title: Traffic is back
    phase: verify
    uses: prometheus.query
    with:
      query: >-
        sum(rate(model_requests_total{ {{ inputs.model_label }}="{{ inputs.model | promql_escape }}" }[5m]))
    expect: value > 0
    guidance: |
      The model serves again. If not, escalate to the serving on-call.
"""


def scaffold_text(runbook_id: str, failure_mode: str, modeline: str = "") -> str:
    title = runbook_id.replace("-", " ").replace("_", " ").capitalize()
    text = _TEMPLATE.replace("@MODELINE@", f"{modeline}\n" if modeline else "")
    return (
        text.replace("@ID@", runbook_id)
        .replace("@TITLE@", title)
        .replace("@FAILURE_MODE@", failure_mode)
    )


def write_scaffold(
    runbook_id: str, failure_mode: str, folder: Path, *, force: bool, workspace: Path
) -> Path:
    for value, what in ((runbook_id, "runbook id"), (failure_mode, "failure mode")):
        if not re.fullmatch(ID_PATTERN, value):
            raise UsageError(
                f"'{value}' is not a valid {what}",
                hint="use lowercase letters, digits, '-' and '_'",
            )
    path = folder / f"{runbook_id}.yaml"
    if path.exists() and not force:
        raise UsageError(
            f"{path} already exists", hint="pick another id, or pass --force to overwrite it"
        )
    from mlsre.runbook.schema import modeline, schema_path

    schema_file = schema_path(workspace)
    line = modeline(path, schema_file) if schema_file.is_file() else ""
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(scaffold_text(runbook_id, failure_mode, line), encoding="utf-8")
    return path
