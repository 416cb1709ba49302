"""The preflight report as Markdown (a nightly CI job's artifact, a PR comment)."""

from __future__ import annotations

import re

from mlsre.preflight.report import CheckStatus, PreflightReport, RunbookCheck

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def escape(text: str) -> str:
    """User and server text as literal Markdown: no markup, no HTML, one table cell."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def render(report: PreflightReport) -> str:
    counts = report.counts()
    works = sum(1 for r in report.runbooks if r.works)
    lines = [
        "# Runbook preflight",
        "",
        f"{works} of {len(report.runbooks)} runbook(s) would work, checked live as of "
        f"{escape(report.at)} in {report.duration_s:.2f} s.",
        "",
        "| runbook | verdict | steps ok | problems | suggested inputs |",
        "|---|---|---|---|---|",
        *(_table_row(r) for r in report.runbooks),
        "",
    ]
    if report.invalid:
        lines += [f"- invalid runbook (not checked): {escape(p)}" for p in report.invalid]
        lines.append("")
    for r in report.runbooks:
        lines += _section(r)
    lines.append("Counts: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v) + ".")
    return "\n".join(lines) + "\n"


def _verdict(r: RunbookCheck) -> str:
    if not r.works:
        return "**would not work**"
    return "unknown" if r.status is CheckStatus.UNREACHABLE else "works"


def _table_row(r: RunbookCheck) -> str:
    ok = sum(1 for s in r.steps if s.status is CheckStatus.OK)
    bad = sum(1 for s in r.steps if s.status.broken)
    hint = " ".join(f"`--input {k}={v}`".replace("|", "\\|") for k, v in r.suggest.items())
    return (
        f"| {escape(r.id)} | {_verdict(r)} ({escape(r.status.value)}) | {ok}/{len(r.steps)} "
        f"| {bad} | {hint or '-'} |"
    )


def _section(r: RunbookCheck) -> list[str]:
    """A runbook's own section: why it could not be checked, and each step worth a look
    (none when every step is fine)."""
    shown = [s for s in r.steps if s.status not in (CheckStatus.OK, CheckStatus.NOT_RUN)]
    if not shown and not r.problem:
        return []
    lines = [f"## {escape(r.id)}: {escape(r.title)}", ""]
    if r.problem:
        lines += [f"- cannot check: {escape(r.problem)}", ""]
    for s in shown:
        lines.append(f"- **{escape(s.step)}** ({escape(s.kind)}): {escape(s.status.value)}")
        lines.append(f"  - {escape(s.summary)}")
        for k, v in s.suggest.items():
            lines.append(f"  - try `--input {k}={v}`".replace("|", "\\|"))
    lines.append("")
    return lines
