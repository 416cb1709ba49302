"""Run every read-only step of each runbook against the live systems, and say what would break.

Nothing here renders or runs a step: a preflight hands the engine the preflight copy of each
runbook (:mod:`mlsre.preflight.plan`) and reads the engine's outcomes and the HTTP exchanges it
recorded; the queries sent are then checked against Prometheus's metadata
(:mod:`mlsre.preflight.diagnose`).

Runbooks are checked concurrently, and the engine runs the steps of each concurrently. Steps that
read an incident see a stand-in that started 30 minutes before the evaluation time; nothing is
recorded anywhere (the engine gets no store).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mlsre.errors import MlsreError, UsageError
from mlsre.preflight.plan import Plan, plan
from mlsre.preflight.report import (
    CheckStatus,
    Finding,
    PreflightReport,
    RunbookCheck,
    StepCheck,
    first_suggestions,
    worst,
)
from mlsre.runbook.model import Runbook, Step
from mlsre.runbook.run_model import MAX_PARALLEL
from mlsre.timeutil import iso, utcnow

MAX_RUNBOOKS_AT_ONCE = 8
INCIDENT_AGE = timedelta(minutes=30)  # the stand-in incident started this long before --at
UNREACHABLE_KINDS = frozenset({"unreachable", "timeout", "tls", "auth", "html", "bad_json"})


@dataclass
class Shared:
    """What every runbook's check shares: settings, metadata caches, the evaluation time."""

    settings: Any
    at: datetime
    transport: Any = None
    parallel: int = 16  # steps of one runbook run at once
    meta: Any = None  # mlsre.preflight.diagnose.Metadata
    _models: list[str] | None = None
    _aliases: dict[str, dict[str, str]] = field(default_factory=dict)

    def model_names(self) -> list[str]:
        from mlsre.integrations.mlflow import MlflowClient

        if self._models is None:
            self._models = MlflowClient(self.settings.registry, self.transport).model_names()
        return self._models

    def aliases(self, model: str) -> dict[str, str]:
        from mlsre.integrations.mlflow import MlflowClient

        if model not in self._aliases:
            mc = MlflowClient(self.settings.registry, self.transport)
            self._aliases[model] = mc.get_model(model).aliases
        return self._aliases[model]


def check_runbooks(
    runbooks: list[Runbook],
    settings: Any,
    *,
    inputs: dict[str, str] | None = None,
    at: datetime | None = None,
    transport: Any = None,
    concurrent: bool = True,
    meta: Any = None,
) -> PreflightReport:
    """Preflight each runbook (concurrently) with the given inputs (each takes those it has).

    ``concurrent=False`` checks one step at a time (the bench's baseline). ``meta`` shares
    Prometheus metadata already fetched (a :class:`~mlsre.preflight.diagnose.Metadata`).
    """
    from mlsre.integrations.prometheus import PrometheusClient
    from mlsre.preflight.diagnose import Metadata

    given = dict(inputs or {})
    declared = {name for rb in runbooks for name in rb.input_specs()}
    unknown = sorted(set(given) - declared)
    if unknown:
        raise UsageError(
            f"no runbook checked has an input {', '.join(unknown)}",
            hint="`mlsre runbook show ID` lists a runbook's inputs",
        )
    when = at or utcnow()
    shared = Shared(settings, when, transport, parallel=MAX_PARALLEL if concurrent else 1)
    shared.meta = meta or Metadata(PrometheusClient(settings.prometheus, transport), when)
    started = time.monotonic()
    workers = max(1, min(MAX_RUNBOOKS_AT_ONCE if concurrent else 1, len(runbooks)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="preflight") as pool:
        checks = list(pool.map(lambda rb: check_runbook(rb, given, at, shared), runbooks))
    return PreflightReport(checks, iso(when), time.monotonic() - started)


def check_runbook(
    runbook: Runbook, given: dict[str, str], at: datetime | None, shared: Shared
) -> RunbookCheck:
    from mlsre.runbook.context import parse_inputs

    started = time.monotonic()
    mine = {k: v for k, v in given.items() if k in runbook.input_specs()}
    out = RunbookCheck(runbook.id, runbook.title, CheckStatus.OK)
    needed = _needed_inputs(runbook, mine)
    if needed:  # a runbook for a given occasion (a canary's versions): checked when given them
        flags = " ".join(f"--input {n}=..." for n in needed)
        out.status, out.problem = CheckStatus.NOT_RUN, f"needs {', '.join(needed)} ({flags})"
        return out
    try:
        out.inputs = parse_inputs(runbook, mine)
    except MlsreError as exc:
        out.status, out.problem = (
            CheckStatus.BROKEN,
            exc.message + (f" ({exc.hint})" if exc.hint else ""),
        )
        return out
    p = plan(runbook, shared.settings)
    try:
        outcomes = _run_plan(runbook, p, mine, out.inputs, at, shared)
    except MlsreError as exc:  # one runbook's trouble is its own verdict, not the end
        out.status, out.problem = CheckStatus.BROKEN, exc.message
        return out
    out.steps = [
        _step_check(step, outcomes.get(step.id, []), out.inputs, p, shared)
        for step in runbook.steps
    ]
    statuses = [s.status for s in out.steps if s.status is not CheckStatus.NOT_RUN]
    out.status = worst(statuses, CheckStatus.NOT_RUN)
    out.suggest = first_suggestions(s.suggest for s in out.steps)
    out.duration_s = round(time.monotonic() - started, 3)
    return out


def _needed_inputs(runbook: Runbook, given: dict[str, str]) -> list[str]:
    """Required inputs with no default that were not given."""
    return [
        name
        for name, spec in runbook.input_specs().items()
        if spec.required and spec.default is None and name not in given
    ]


def _run_plan(
    runbook: Runbook,
    p: Plan,
    mine: dict[str, str],
    inputs: dict[str, Any],
    at: datetime | None,
    shared: Shared,
) -> dict[str, list[Any]]:
    """The engine's outcomes of the planned (read-only) runbook, per original step id."""
    from mlsre.runbook.engine import Engine, RunOptions, Unattended

    outcomes: dict[str, list[Any]] = {}
    if p.runbook is None:
        return outcomes
    engine = Engine(None, shared.settings, Unattended(yes=False))
    options = RunOptions(
        inputs=mine, at=at, transport=shared.transport, max_parallel=shared.parallel
    )
    stand_in = _stand_in_incident(runbook, inputs, shared.at)
    report = engine.run(p.runbook, options, stand_in, actor="mlsre preflight")
    for o in report.steps:
        outcomes.setdefault(p.origin.get(o.step, o.step), []).append(o)
    return outcomes


def _step_check(
    step: Step, found: list[Any], inputs: dict[str, Any], p: Plan, shared: Shared
) -> StepCheck:
    if step.id in p.not_run:
        return StepCheck(step.id, step.title, step.uses, CheckStatus.NOT_RUN, p.not_run[step.id])
    if not found:  # the engine stopped before it (it should not: on_fail is continue)
        return StepCheck(step.id, step.title, step.uses, CheckStatus.NOT_RUN, "not reached")
    return _judge(step, found, inputs, p, shared)


def _stand_in_incident(runbook: Runbook, inputs: dict[str, Any], at: datetime) -> Any:
    """An incident that started INCIDENT_AGE before ``at``, for steps that read one
    (``incident.*`` templates, ``baseline: incident``). Never stored: the engine has no store."""
    from mlsre.incident.model import Incident, Severity, Status

    model = inputs.get("model")
    return Incident(
        id=0,
        title=f"preflight of {runbook.id}",
        severity=Severity(runbook.severity.value),
        status=Status.OPEN,
        opened_at=at,
        started_at=at - INCIDENT_AGE,
        model=model if isinstance(model, str) else None,
    )


def _judge(
    step: Step, outcomes: list[Any], inputs: dict[str, Any], p: Plan, shared: Shared
) -> StepCheck:
    from mlsre.preflight.suggest import suggest

    parts = [_classify(o, p.if_missing.get(o.step, ""), shared) for o in outcomes]
    findings = [f for _, fs, _ in parts for f in fs]
    queries = sorted({q for _, _, qs in parts for q in qs})
    used = {name for o in outcomes for name in p.used_inputs.get(o.step, set())}
    for f in findings:
        f.suggest = suggest(f, inputs, used)
    status = worst([s for s, _, _ in parts])
    bad = [o for (s, _, _), o in zip(parts, outcomes, strict=True) if s is status]
    summary = "; ".join(f.message for f in findings) or bad[0].summary or status.value
    return StepCheck(step.id, step.title, step.uses, status, summary, findings, queries)


def _exchanges(outcome: Any, service: str) -> list[dict[str, Any]]:
    return [
        ex
        for ex in (outcome.evidence or {}).get("exchanges") or []
        if (ex.get("request") or {}).get("service") == service
    ]


def _prom_queries(outcome: Any) -> list[str]:
    out: list[str] = []
    for ex in _exchanges(outcome, "Prometheus"):
        req = ex["request"]
        if str(req.get("path", "")).endswith(("/api/v1/query", "/api/v1/query_range")):
            out.extend(str(v) for k, v in req.get("params") or [] if k == "query")
    return list(dict.fromkeys(out))


def _classify(
    outcome: Any, if_missing: str, shared: Shared
) -> tuple[CheckStatus, list[Finding], list[str]]:
    from mlsre.steps.base import StepStatus

    queries = _prom_queries(outcome)
    if outcome.status in (StepStatus.SKIPPED, StepStatus.PENDING):
        return CheckStatus.NOT_RUN, [], queries
    findings = _query_findings(queries, shared)
    evidence = outcome.evidence or {}
    if outcome.status is StepStatus.ERROR:
        missing = _registry_missing(outcome, if_missing, shared)
        if missing is not None:
            findings.append(missing)
        elif not findings and _unreachable(evidence):
            return CheckStatus.UNREACHABLE, [], queries
    if findings:
        return worst([f.status for f in findings]), findings, queries
    if outcome.status is StepStatus.ERROR:
        return _error_status(outcome), [], queries
    return CheckStatus.OK, [], queries


def _query_findings(queries: list[str], shared: Shared) -> list[Finding]:
    """What each PromQL query names that Prometheus does not have."""
    from mlsre.preflight.diagnose import diagnose
    from mlsre.preflight.promql import query_needs

    findings: list[Finding] = []
    for q in queries:
        needs = query_needs(q)
        if needs is None:
            continue
        try:
            findings.extend(diagnose(needs, shared.meta))
        except MlsreError:  # metadata unavailable: the step's own result still speaks
            break
    return findings


def _unreachable(evidence: dict[str, Any]) -> bool:
    """The server could not answer (down, slow, garbled, overloaded): the check is unknown."""
    if evidence.get("kind") in UNREACHABLE_KINDS:
        return True
    status = evidence.get("status")
    return isinstance(status, int) and (status >= 500 or status in (408, 429))


def _error_status(outcome: Any) -> CheckStatus:
    """An error with nothing missing: Prometheus refused a query (broken), or it found nothing."""
    empty = False
    for ex in _exchanges(outcome, "Prometheus"):
        resp = ex.get("response") or {}
        if resp.get("status") in (400, 422):
            return CheckStatus.BROKEN  # a query Prometheus cannot parse or execute
        if _empty_result(resp):
            empty = True
    text = outcome.summary or ""
    if empty or "no data" in text or "no model version change found" in text:
        return CheckStatus.NO_DATA
    return CheckStatus.BROKEN  # a template, parameter or step error before any query


def _empty_result(resp: dict[str, Any]) -> bool:
    """Did Prometheus answer with an empty result (the query ran and found nothing)?"""
    import json

    try:
        body = json.loads(resp.get("body") or "null")
    except ValueError:
        return False
    data = body.get("data") if isinstance(body, dict) else None
    return isinstance(data, dict) and data.get("result") == []


def _registry_missing(outcome: Any, if_missing: str, shared: Shared) -> Finding | None:
    """A model or alias the registry does not have, with close names it does have (and what the
    stand-in check says to do about it, ``if_missing``)."""
    if (outcome.evidence or {}).get("error_type") != "NotFoundError":
        return None
    for ex in _exchanges(outcome, "MLflow"):
        try:
            found = _not_in_registry(ex, outcome.summary, if_missing, shared)
        except MlsreError:
            break
        if found is not None:
            return found
    return Finding(CheckStatus.REGISTRY_MISSING, outcome.summary)


def _not_in_registry(
    ex: dict[str, Any], summary: str, if_missing: str, shared: Shared
) -> Finding | None:
    """The finding for one MLflow exchange that did not find a model (404 on get) or an alias
    (400 on alias), or None for any other exchange."""
    from mlsre.preflight.diagnose import close

    req, resp = ex.get("request") or {}, ex.get("response") or {}
    params = dict(req.get("params") or [])
    path, status = str(req.get("path", "")), resp.get("status")
    name = str(params.get("name", ""))
    if path.endswith("registered-models/get") and status == 404:
        mean = close(name, shared.model_names())
        return Finding(
            CheckStatus.REGISTRY_MISSING,
            summary + (f" — did you mean {mean[0]!r}?" if mean else ""),
            value=name,
            did_you_mean=mean,
        )
    if path.endswith("registered-models/alias") and status == 400:
        alias = str(params.get("alias", ""))
        mean = close(alias, sorted(shared.aliases(name)))
        message = summary + if_missing.replace("{name}", name)
        return Finding(CheckStatus.REGISTRY_MISSING, message, value=alias, did_you_mean=mean)
    return None
