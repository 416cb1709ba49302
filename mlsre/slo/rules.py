"""Prometheus recording and alerting rules for SLOs, named the way sloth names them.

Per SLO, one rule group holds, in evaluation order:

- ``slo:sli_error:ratio_rate5m`` ... ``ratio_rate3d``: the error ratio over each window
  (:func:`mlsre.slo.promql.error_ratio`, the same PromQL ``mlsre slo status`` runs);
- ``slo:sli_error:ratio_rate<period>``: the period's error ratio, as the mean of the 5m ratios
  (cheap to evaluate every minute, sloth's choice too);
- ``slo:objective:ratio``, ``slo:error_budget:ratio``, ``slo:time_period:days``,
  ``slo:current_burn_rate:ratio`` (5m), ``slo:period_burn_rate:ratio``,
  ``slo:period_error_budget_remaining:ratio`` and ``mlsre_slo_info``;
- two alerts with the multiwindow multi-burn-rate conditions of :mod:`mlsre.slo.budget`:
  ``severity: page`` and ``severity: ticket``, annotated with the mlsre runbook that lists the
  SLO in ``triggers.slos``.

Series carry ``mlsre_slo``, ``mlsre_service`` and ``mlsre_window`` labels (prefixed so they never
collide with the labels of the SLI's own query).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mlsre.slo.budget import BURN_ALERTS, WINDOWS, AlertState
from mlsre.slo.promql import error_ratio, prom_duration
from mlsre.slo.spec import Slo

DEFAULT_RUNBOOK_URL = "mlsre://runbooks/{id}"


def _num(x: float) -> str:
    return f"{x:.10g}"


def alert_name(slo: Slo) -> str:
    """``fraud-latency-p99`` -> ``FraudLatencyP99ErrorBudgetBurn``."""
    parts = re.split(r"[^A-Za-z0-9]+", slo.name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p) + "ErrorBudgetBurn"


def _labels(slo: Slo, **extra: str) -> dict[str, str]:
    return {"mlsre_slo": slo.name, "mlsre_service": slo.service, **extra}


def _sel(slo: Slo) -> str:
    name = slo.name.replace("\\", "\\\\").replace('"', '\\"')
    return f'{{mlsre_slo="{name}"}}'


def _recordings(slo: Slo) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for window, seconds in WINDOWS.items():
        rules.append(
            {
                "record": f"slo:sli_error:ratio_rate{window}",
                "expr": error_ratio(slo, seconds),
                "labels": _labels(slo, mlsre_window=window),
            }
        )
    period = prom_duration(slo.window_s)
    sel = _sel(slo)
    on = "on (mlsre_slo, mlsre_service) group_left"
    rules += [
        {
            "record": f"slo:sli_error:ratio_rate{period}",
            "expr": f"sum_over_time(slo:sli_error:ratio_rate5m{sel}[{period}])\n"
            f"/ ignoring (mlsre_window)\n"
            f"count_over_time(slo:sli_error:ratio_rate5m{sel}[{period}])",
            "labels": _labels(slo, mlsre_window=period),
        },
        {
            "record": "slo:objective:ratio",
            "expr": f"vector({_num(slo.objective)})",
            "labels": _labels(slo),
        },
        {
            "record": "slo:error_budget:ratio",
            "expr": f"vector({_num(slo.error_budget)})",
            "labels": _labels(slo),
        },
        {
            "record": "slo:time_period:days",
            "expr": f"vector({_num(slo.window_s / 86400)})",
            "labels": _labels(slo),
        },
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate5m{sel}\n/ {on}\nslo:error_budget:ratio{sel}",
            "labels": _labels(slo),
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate{period}{sel}\n/ {on}\nslo:error_budget:ratio{sel}",
            "labels": _labels(slo),
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{sel}",
            "labels": _labels(slo),
        },
        {
            "record": "mlsre_slo_info",
            "expr": "vector(1)",
            "labels": _labels(
                slo,
                mlsre_objective=_num(slo.objective),
                mlsre_period=slo.window,
                mlsre_budgeting=slo.budgeting.value,
            ),
        },
    ]
    return rules


def alert_expr(slo: Slo, severity: AlertState) -> str:
    """Both windows of each condition above factor x budget; conditions of a severity OR'd."""
    sel = _sel(slo)
    terms = []
    for a in BURN_ALERTS:
        if a.severity is not severity:
            continue
        limit = f"({_num(a.factor)} * {_num(slo.error_budget)})"
        both = [
            f"max(slo:sli_error:ratio_rate{w}{sel} > {limit}) without (mlsre_window)"
            for w in (a.long, a.short)
        ]
        terms.append("(\n  " + "\n  and\n  ".join(both) + "\n)")
    return "\nor\n".join(terms)


def _alerts(slo: Slo, runbook: str | None, runbook_url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for severity in (AlertState.PAGE, AlertState.TICKET):
        conds = [a for a in BURN_ALERTS if a.severity is severity]
        how = " or ".join(
            f"burn rate above {_num(a.factor)} over {a.long} and {a.short}" for a in conds
        )
        speed = "fast" if severity is AlertState.PAGE else "steadily"
        annotations = {
            "summary": f"SLO {slo.name} ({slo.service}) is burning its error budget {speed}",
            "description": f"{how}; objective {_num(slo.objective * 100)}% over {slo.window}. "
            f"Check: mlsre slo status {slo.name}",
        }
        if runbook:
            annotations["runbook_url"] = runbook_url.replace("{id}", runbook)
            annotations["mlsre_runbook"] = runbook
        out.append(
            {
                "alert": alert_name(slo),
                "expr": alert_expr(slo, severity),
                "labels": _labels(slo, severity=severity.value),
                "annotations": annotations,
            }
        )
    return out


def rule_groups(
    slos: list[Slo],
    runbooks: Mapping[str, str] | None = None,
    *,
    runbook_url: str = DEFAULT_RUNBOOK_URL,
) -> dict[str, Any]:
    """A Prometheus rule file (as data); ``runbooks`` maps SLO name -> runbook id."""
    groups = []
    for slo in slos:
        runbook = (runbooks or {}).get(slo.name)
        groups.append(
            {
                "name": f"mlsre-slo-{slo.name}",
                "rules": [*_recordings(slo), *_alerts(slo, runbook, runbook_url)],
            }
        )
    return {"groups": groups}


def rules_yaml(
    slos: list[Slo],
    runbooks: Mapping[str, str] | None = None,
    *,
    runbook_url: str = DEFAULT_RUNBOOK_URL,
) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None  # multi-line PromQL stays readable
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    header = "# Generated by `mlsre slo rules` from the workspace's OpenSLO files. Do not edit.\n"
    body = yaml.dump(
        rule_groups(slos, runbooks, runbook_url=runbook_url),
        sort_keys=False,
        width=100,
        default_flow_style=False,
        allow_unicode=True,
        Dumper=_Dumper,
    )
    return header + body
