"""What the drift and data-quality step kinds do (imported only when such a step runs)."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from mlsre.errors import IntegrationError, MlsreError
from mlsre.steps.base import StepContext, StepResult, StepStatus
from mlsre.steps.drift.kinds import CheckParams, CompareParams, PrometheusDriftParams
from mlsre.steps.evidence import bounded, error_result
from mlsre.timeutil import iso, parse_duration, parse_time, utcnow


def plain(obj: Any) -> Any:
    """Dataclasses and enums as JSON-ready data; infinities and NaN as strings."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


def resolve_path(text: str, ctx: StepContext) -> Path:
    """Absolute, else relative to the working directory, else to the config file's folder."""
    path = Path(text).expanduser()
    if path.is_absolute() or path.exists() or not hasattr(ctx.settings, "resolve"):
        return path
    resolved: Path = ctx.settings.resolve(text)
    return resolved


def run_compare(params: CompareParams, ctx: StepContext) -> StepResult:
    from mlsre.drift.compare import ColumnStatus, CompareOptions, compare_files
    from mlsre.drift.methods import Binning, Method

    opts = CompareOptions(
        columns=params.columns,
        categorical=set(params.categorical),
        method=Method(params.method),
        column_methods={k: Method(v) for k, v in params.methods.items()},
        threshold=params.threshold,
        column_thresholds=dict(params.thresholds),
        correction=params.correction,
        sample=params.sample,
        drift_share=params.drift_share,
        null_threshold=params.null_threshold,
        binning=Binning(params.binning),
    )
    try:
        report = compare_files(
            resolve_path(params.reference, ctx), resolve_path(params.current, ctx), opts
        )
    except MlsreError as exc:
        return error_result(exc)
    drifted = [c for c in report.columns if c.status is ColumnStatus.DRIFT]
    failed = report.dataset_drift if params.fail_on == "dataset" else bool(drifted)
    names = ", ".join(
        _why(c, params.null_threshold) for c in drifted[:6] if c.statistic is not None
    )
    summary = (
        f"{report.drifted_columns} of {report.evaluated_columns} columns drifted "
        f"(share {report.drift_share:.2f}, dataset {'DRIFT' if report.dataset_drift else 'ok'})"
        + (f": {names}" if names else "")
    )
    samples = [
        {
            "value": c.statistic,
            "pvalue": c.pvalue,
            "drifted": c.status is ColumnStatus.DRIFT,
            "labels": {"column": c.column, "method": c.method},
        }
        for c in report.columns
        if c.statistic is not None
    ]
    rows = [
        [c.column, c.method, _fmt(c.statistic), _fmt(c.pvalue), c.status.value]
        for c in report.columns
    ]
    output = plain(report)
    output["table"] = {
        "columns": ["column", "method", "statistic", "p-value", "verdict"],
        "rows": rows,
    }
    status = StepStatus.FAILED if failed else StepStatus.PASSED
    return StepResult(
        status=status,
        summary=summary,
        output=output,
        samples=plain(samples),
        evidence={"report": bounded(output)},
    )


def run_check(params: CheckParams, ctx: StepContext) -> StepResult:
    from mlsre.drift.quality import check_file

    try:
        report = check_file(
            resolve_path(params.current, ctx),
            reference=resolve_path(params.reference, ctx) if params.reference else None,
            schema=resolve_path(params.schema_file, ctx) if params.schema_file else None,
        )
    except MlsreError as exc:
        return error_result(exc)
    worst = [f for f in report.findings if f.severity.value == "error"] or report.findings
    summary = f"{report.errors} error(s), {report.warnings} warning(s)" + (
        ": " + "; ".join(f.message for f in worst[:3]) if worst else ""
    )
    samples = [
        {
            "value": f.value,
            "severity": f.severity.value,
            "labels": {"check": f.check, "column": f.column or ""},
        }
        for f in report.findings
    ]
    output = plain(report)
    output["table"] = {
        "columns": ["severity", "check", "finding"],
        "rows": [[f.severity.value, f.check, f.message] for f in report.findings],
    }
    status = StepStatus.PASSED if report.passed else StepStatus.FAILED
    return StepResult(
        status=status,
        summary=summary,
        output=output,
        samples=plain(samples),
        evidence={"report": output},
    )


def _fmt(value: float | None) -> str:
    from mlsre.numbers import fmt

    return "-" if value is None else fmt(value)


# --- drift.prometheus ------------------------------------------------------------------------


def bucket_query(metric: str, selector: str, window: str) -> str:
    inner = f"{metric}_bucket{{{selector}}}" if selector else f"{metric}_bucket"
    return f"sum by (le) (increase({inner}[{window}]))"


def bucket_counts(samples: list[Any]) -> dict[float, float]:
    """Cumulative counts per upper bound ``le`` -> counts per bucket (same keys)."""
    cumulative: dict[float, float] = {}
    for s in samples:
        le = s.labels.get("le")
        if le is None or not math.isfinite(s.value):
            continue
        cumulative[float(le)] = cumulative.get(float(le), 0.0) + s.value
    out: dict[float, float] = {}
    prev = 0.0
    for le in sorted(cumulative):
        out[le] = max(cumulative[le] - prev, 0.0)  # counter resets can make it dip
        prev = max(cumulative[le], prev)
    return out


def run_prometheus(params: PrometheusDriftParams, ctx: StepContext) -> StepResult:
    import numpy as np

    from mlsre.drift import stats
    from mlsre.integrations.prometheus import PrometheusClient

    try:
        now = ctx.at or utcnow()
        parse_duration(params.window)
        ref_end = (
            parse_time(params.reference_end, now=now)
            if params.reference_end
            else now - parse_duration(params.reference_offset)
        )
        query = bucket_query(params.metric, params.selector, params.window)
        client = PrometheusClient(ctx.settings.prometheus, ctx.transport)
        current = client.query(query, now, timeout_s=params.timeout_s)
        reference = client.query(query, ref_end, timeout_s=params.timeout_s)
        cur, ref = bucket_counts(current.samples), bucket_counts(reference.samples)
        _require_data(params.metric, cur, now, params.window, "current")
        _require_data(params.metric, ref, ref_end, params.window, "reference")
    except MlsreError as exc:
        return error_result(exc)
    bounds = sorted(set(cur) & set(ref))
    ref_counts = np.array([ref[b] for b in bounds])
    cur_counts = np.array([cur[b] for b in bounds])
    ref_share, cur_share = ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()
    if params.method.value == "psi":
        value = stats.psi(ref_share, cur_share)
    else:
        value = stats.jensen_shannon(ref_share, cur_share)
    threshold = params.threshold if params.threshold is not None else 0.1
    drifted = value >= threshold
    les = ["+Inf" if math.isinf(b) else f"{b:g}" for b in bounds]
    output = {
        "metric": params.metric,
        "method": params.method.value,
        "statistic": value,
        "threshold": threshold,
        "drifted": drifted,
        "current_window": _window(now, params.window),
        "reference_window": _window(ref_end, params.window),
        "buckets": les,
        "reference_shares": [float(x) for x in ref_share],
        "current_shares": [float(x) for x in cur_share],
        "reference_count": float(ref_counts.sum()),
        "current_count": float(cur_counts.sum()),
        "query": query,
    }
    verdict = "drift" if drifted else "no drift"
    summary = (
        f"{params.method.value} {value:.4f} ({verdict}, threshold {threshold:g}) for {params.metric} "
        f"over the last {params.window} vs. the window ending {iso(ref_end)}"
    )
    evidence = {
        "current": bounded(current.raw),
        "reference": bounded(reference.raw),
        "query": query,
    }
    samples = [{"value": value, "labels": {"metric": params.metric, "method": params.method.value}}]
    status = StepStatus.FAILED if drifted else StepStatus.PASSED
    return StepResult(
        status=status, summary=summary, output=output, samples=samples, evidence=evidence
    )


def _require_data(
    metric: str, counts: dict[float, float], at: datetime, window: str, which: str
) -> None:
    if not counts or sum(counts.values()) <= 0:
        raise IntegrationError(
            f"no {metric} histogram data in the {which} window ({window} ending {iso(at)})",
            hint="check the metric name and selector, and that the window holds observations",
        )


def _window(end: datetime, window: str) -> dict[str, str]:
    return {"start": iso(end - parse_duration(window)), "end": iso(end)}


def _why(c: Any, null_threshold: float) -> str:
    """One drifted column for the summary: its statistic, and a null burst when that is why."""
    text = f"{c.column} ({c.method} {c.statistic:.3g}"
    if c.cur_null_share - c.ref_null_share >= null_threshold:
        text += f", nulls {c.ref_null_share:.1%} -> {c.cur_null_share:.1%}"
    return text + ")"
