"""The detection matrix as Markdown and as a PNG heatmap (faults x severities)."""

from __future__ import annotations

from pathlib import Path

from mlsre.chaos.matrix import CHECKS, Cell, MatrixReport

_SHORT = {CHECKS[0]: "data", CHECKS[1]: "drift-share", CHECKS[2]: "drift-any"}


def _md(text: str) -> str:
    """User data (column names, values) as inert Markdown table text."""
    out = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for ch in "*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out


def cell_text(cell: Cell) -> str:
    return ", ".join(_SHORT[c] for c in cell.caught_by) or "-"


def to_markdown(report: MatrixReport) -> str:
    sev = report.severities
    lines = [
        "# Would we notice? Detection matrix",
        "",
        f"Reference `{_md(report.reference)}`"
        + (f", faults applied to `{_md(report.current)}`" if report.current else "")
        + f"; seed {report.seed}. Checks: "
        + ", ".join(f"{_SHORT[c]} = `{c}`" for c in report.checks)
        + ".",
        "",
        "| fault | " + " | ".join(f"{s:g}" for s in sev) + " | smallest caught |",
        "|---|" + "---|" * len(sev) + "---|",
    ]
    by_fault: dict[str, list[Cell]] = {}
    for cell in report.cells:
        by_fault.setdefault(cell.kind.value, []).append(cell)
    for summary in report.summary:
        cells = by_fault.get(summary.fault, [])
        smallest = f"{summary.smallest_detected:g}" if summary.smallest_detected else "never"
        name = summary.fault + (f" ({', '.join(summary.columns)})" if summary.columns else "")
        lines.append(
            f"| {_md(name)} | " + " | ".join(cell_text(c) for c in cells) + f" | {smallest} |"
        )
    lines += ["", "## What this says", ""]
    lines += [f"- {_md(s.sentence)}" for s in report.summary]
    clean = ", ".join(report.false_alarms) or "none"
    lines += ["", f"False alarms on the uncorrupted copy: {_md(clean)}."]
    if report.skipped:
        lines += ["", "Not run: " + "; ".join(_md(s) for s in report.skipped) + "."]
    return "\n".join(lines) + "\n"


def write_png(report: MatrixReport, path: Path) -> None:
    """Heatmap: colour = how many checks caught the fault at that severity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    faults = [s.fault for s in report.summary]
    grid = np.zeros((len(faults), len(report.severities)))
    labels = [["" for _ in report.severities] for _ in faults]
    for cell in report.cells:
        i, j = faults.index(cell.kind.value), report.severities.index(cell.severity)
        grid[i, j] = len(cell.caught_by)
        labels[i][j] = cell_text(cell).replace(", ", "\n")
    fig, ax = plt.subplots(figsize=(2 + 1.6 * len(report.severities), 1 + 0.45 * len(faults)))
    im = ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=len(report.checks), aspect="auto")
    ax.set_xticks(range(len(report.severities)), [f"{s:g}" for s in report.severities])
    ax.set_yticks(range(len(faults)), faults)
    ax.set_xlabel("severity")
    for i in range(len(faults)):
        for j in range(len(report.severities)):
            ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=6)
    ax.set_title("checks that caught each fault")
    fig.colorbar(im, ax=ax, label="checks")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
