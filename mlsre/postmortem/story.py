"""What the runbook runs found, told once: ranked findings, checks that could not run, one
timeline line per run, and the moments the data itself describes (a version going live).

A postmortem reader wants the cause first, not every check line: the same check re-run three
times is one finding; a verify step after a mitigation that never ran says nothing about the
cause; an error means "we do not know", so it is listed apart and briefly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlsre.postmortem.evidence import RunbookRun, StepRow, utc_short
from mlsre.steps.base import Phase
from mlsre.timeutil import parse_time

MAX_FINDINGS = 10
MAX_UNKNOWN = 8


@dataclass
class Finding:
    """One problem the checks found, with every check that found it."""

    step: str  # the step id that says it best (the latest run)
    runbook: str
    kind: str
    summary: str
    found_by: list[str]  # "runbook/step", deduplicated, in the order they ran
    first_at: datetime
    tied_to_change: bool  # a comparison with before the version change (a deploy)
    anchor: str  # the run's details section
    detail: str = ""  # before and after, for a comparison


@dataclass
class Unknown:
    """A check that could not run (server down, bad query): health unknown."""

    where: str  # "runbook/step"
    reason: str
    times: int = 1


@dataclass
class Observed:
    """Something the data says happened at a time (not when someone typed it)."""

    at: datetime
    text: str
    source: str  # "runbook/step" it was read from
    version: str | None = None  # set when this is a version going live


@dataclass
class RunLine:
    """A runbook run collapsed to one timeline line."""

    at: datetime
    actor: str
    text: str
    anchor: str


@dataclass
class Story:
    findings: list[Finding] = field(default_factory=list)
    more_findings: int = 0
    unknown: list[Unknown] = field(default_factory=list)
    more_unknown: int = 0
    left_out_verify: int = 0  # verify failures after a mitigation that did not run
    observed: list[Observed] = field(default_factory=list)
    run_lines: list[RunLine] = field(default_factory=list)


def anchor(run: RunbookRun) -> str:
    """The markdown anchor of a run's details heading (GitHub's slug of ``Run RUNBOOK ID``)."""
    return f"run-{run.runbook}-{run.run}".lower()


def _after_no_mitigation(run: RunbookRun, s: StepRow) -> bool:
    """A verify step of a run whose mitigation did not run: it tests nothing we did."""
    mitigations = [x for x in run.steps if x.phase == Phase.MITIGATE]
    ran = any(x.status == "passed" for x in mitigations)
    return s.phase == Phase.VERIFY and bool(mitigations) and not ran


def _key(s: StepRow) -> tuple[str, ...]:
    """Same check, same finding: the same query, else the same step of the same runbook."""
    if s.query:
        return ("query", " ".join(s.query.split()))
    return ("step", s.runbook, s.step)


def tell(runs: list[RunbookRun]) -> Story:
    story = Story()
    groups: dict[tuple[str, ...], list[StepRow]] = {}
    errors: dict[tuple[str, str], Unknown] = {}
    anchors = {r.run: anchor(r) for r in runs}
    for run in runs:
        for s in run.steps:
            if s.status == "failed":
                if s.phase == Phase.VERIFY:  # says whether a mitigation worked, not what broke
                    story.left_out_verify += 1 if _after_no_mitigation(run, s) else 0
                    continue
                groups.setdefault(_key(s), []).append(s)
            elif s.status == "error":
                spot = f"{s.runbook}/{s.step}"
                hit = errors.get((spot, s.summary))
                if hit is None:
                    errors[(spot, s.summary)] = Unknown(spot, s.summary or "no reason recorded")
                else:
                    hit.times += 1
    found: list[Finding] = []
    for rows in groups.values():
        latest = max(rows, key=lambda r: (r.phase == Phase.DIAGNOSE, r.at))
        where: list[str] = []
        for r in rows:
            w = f"{r.runbook}/{r.step}"
            if w not in where:
                where.append(w)
        found.append(
            Finding(
                step=latest.step,
                runbook=latest.runbook,
                kind=latest.kind,
                summary=latest.summary,
                found_by=where,
                first_at=min(r.at for r in rows),
                tied_to_change=any(r.output.get("baseline") == "version_change" for r in rows),
                anchor=anchors.get(latest.run, ""),
                detail=compare_detail(latest.output) if latest.kind.endswith(".compare") else "",
            )
        )
    # Strongest first: tied to the version change (a comparison with before the deploy), then
    # found by more runbooks, then by more checks, then the first found.
    found.sort(
        key=lambda f: (
            not f.tied_to_change,
            -len({w.split("/")[0] for w in f.found_by}),
            -len(f.found_by),
            f.first_at,
        )
    )
    story.findings = found[:MAX_FINDINGS]
    story.more_findings = max(0, len(found) - MAX_FINDINGS)
    unknown = list(errors.values())
    story.unknown = unknown[:MAX_UNKNOWN]
    story.more_unknown = max(0, len(unknown) - MAX_UNKNOWN)
    story.observed = observed_changes(runs)
    story.run_lines = [_run_line(r) for r in runs]
    return story


def compare_detail(out: dict[str, Any]) -> str:
    """``0.68 now vs 0.093 before version 4 went live at 17:29 (7.33x)``, from a comparison."""
    from mlsre.numbers import fmt, ratio_text

    samples = [x for x in out.get("samples") or [] if isinstance(x, dict)]
    samples = [x for x in samples if x.get("now") != x.get("baseline")]  # what moved
    if not samples:
        return ""
    if out.get("baseline") == "version_change" and out.get("changed_at"):
        try:
            when = f"version {out.get('version')} went live at {parse_time(str(out['changed_at'])):%H:%M}"
        except ValueError:
            when = "the version change"
        before = f"before {when}"
    else:
        before = "before"
    parts = []
    for x in samples[:3]:
        labels = x.get("labels") or {}
        who = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")
        now, base = x.get("now"), x.get("baseline")
        change = (
            ratio_text(now, base)
            if isinstance(now, int | float) and isinstance(base, int | float)
            else "?"
        )
        parts.append(
            f"{who + ': ' if who else ''}{fmt(now)} now vs {fmt(base)} {before} ({change})"
        )
    more = f" (+{len(samples) - 3} more)" if len(samples) > 3 else ""
    return "; ".join(parts) + more


def _run_line(run: RunbookRun) -> RunLine:
    counts: dict[str, int] = {}
    for s in run.steps:
        counts[s.status] = counts.get(s.status, 0) + 1
    order = (("failed", "failed"), ("error", "could not run"), ("passed", "passed"))
    parts = [f"{counts[k]} {label}" for k, label in order if counts.get(k)]
    rest = sum(v for k, v in counts.items() if k not in ("failed", "error", "passed"))
    if rest:
        parts.append(f"{rest} skipped or waiting")
    failing = [s.step for s in run.steps if s.status == "failed" and s.phase != Phase.VERIFY]
    acted = [
        f"{s.step} {s.status}"
        for s in run.steps
        if s.phase == Phase.MITIGATE and s.status in ("passed", "failed")
    ]
    text = f"Ran runbook `{run.runbook}`"
    if run.at is not None:
        text += f" on data as of {utc_short(run.at)} UTC (--at)"
    text += f": {run.outcome or 'not finished'}"
    if parts:
        text += f" ({', '.join(parts)})"
    if failing:
        text += "; failing: " + ", ".join(f"`{f}`" for f in failing[:4])
        text += f" +{len(failing) - 4}" if len(failing) > 4 else ""
    if acted:
        text += "; mitigation: " + ", ".join(acted)
    return RunLine(run.started_at, run.actor, text, anchor(run))


def observed_changes(runs: list[RunbookRun]) -> list[Observed]:
    """Version changes the comparison steps found in the data, once each."""
    out: list[Observed] = []
    seen: set[tuple[str, str]] = set()
    for run in runs:
        for s in run.steps:
            out_data = s.output
            changed = out_data.get("changed_at") if isinstance(out_data, dict) else None
            version = out_data.get("version") if isinstance(out_data, dict) else None
            if not changed or version is None:
                continue
            key = (str(version), str(changed))
            if key in seen:
                continue
            seen.add(key)
            try:
                at = parse_time(str(changed))
            except ValueError:
                continue
            prev = out_data.get("previous_version")
            frm = f" (replacing version {prev})" if prev not in (None, "") else ""
            out.append(
                Observed(
                    at,
                    f"Version {version} went live{frm}: first sample of version {version}",
                    f"{s.runbook}/{s.step}",
                    str(version),
                )
            )
    return out


def deploy_moments(story: Story) -> list[tuple[str, datetime]]:
    """The observed version changes, as moments to mark on charts."""
    return [(f"version {o.version} live", o.at) for o in story.observed if o.version]


def run_at(d: dict[str, Any]) -> datetime | None:
    """The ``--at`` time a run's RUNBOOK_STARTED event recorded, if any."""
    raw = d.get("at")
    if not raw:
        return None
    try:
        return parse_time(str(raw))
    except ValueError:
        return None


def first_successful_mitigation(runs: list[RunbookRun]) -> StepRow | None:
    done = [s for r in runs for s in r.steps if s.phase == Phase.MITIGATE and s.status == "passed"]
    return min(done, key=lambda s: s.at) if done else None
