"""How a "what changed?" ranking and the team's change log look in a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsre.cli import output

if TYPE_CHECKING:
    from mlsre.changes.model import ChangeReport, RecordedChange


def render_report(report: ChangeReport) -> None:
    from mlsre.timeutil import human_duration, iso

    head = f"What changed in the {human_duration(report.window_s)} before {iso(report.anchor)}"
    output.line(f"{head} ({report.anchor_reason})", tone="accent")
    if report.change_point:
        cp = report.change_point
        output.line(
            f"change point: {cp.step} went from {cp.before:.4g} to {cp.after:.4g} at "
            f"{iso(cp.at)} (Pettitt p={cp.p_value:.2g})"
        )
    if not report.changes:
        output.line("No change found in the window.")
    else:
        rows = [
            [
                f"{c.score:g}",
                iso(c.at),
                c.kind.value,
                c.source.value,
                c.summary,
                "; ".join(c.reasons),
            ]
            for c in report.changes
        ]
        output.table(None, ["score", "at (UTC)", "kind", "source", "change", "why"], rows)
    if report.lineage and report.lineage.lines:
        output.line()
        lin = report.lineage
        output.line(f"Lineage of version {lin.live.version} against {lin.previous.version}:")
        for text in lin.lines:
            output.line(f"  {text}")
    for note in report.notes:
        output.err(f"note: {note}")


def render_log(rows: list[RecordedChange]) -> None:
    from mlsre.timeutil import iso

    if not rows:
        output.line("The change log is empty for that period.")
        return
    output.table(
        None,
        ["id", "at (UTC)", "kind", "model", "service", "by", "change"],
        [
            [
                str(r.id),
                iso(r.at),
                r.kind.value,
                r.model or "-",
                r.service or "-",
                r.actor,
                r.summary,
            ]
            for r in rows
        ],
    )
