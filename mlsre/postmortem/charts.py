"""PNG charts of the range series kept as evidence, with the incident's lifecycle marked.

The only module that imports matplotlib (Agg backend, no display needed). Output is
byte-for-byte stable for the same data, so republishing an unchanged incident commits nothing.
"""

from __future__ import annotations

import math
from datetime import UTC
from pathlib import Path

from mlsre.postmortem.context import Moment
from mlsre.postmortem.evidence import Chart

DAY = 86400.0
MAX_LINES = 8  # more series than this and the legend hides the chart
COLOURS = {
    "started": "#d62728",
    "detected": "#ff7f0e",
    "acknowledged": "#9467bd",
    "mitigated": "#2ca02c",
    "resolved": "#1f77b4",
}


def draw(chart: Chart, moments: list[Moment], path: Path) -> Path:
    """Draw ``chart`` to ``path`` (PNG); returns the path."""
    # The Agg canvas directly, not pyplot: no global figure registry, no GUI backend search.
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ts: list[float] = []
    for series in chart.series[:MAX_LINES]:
        xs = [t / DAY for t, _ in series.points]  # matplotlib dates: days since 1970
        ys = [v if math.isfinite(v) else math.nan for _, v in series.points]
        ts.extend(t for t, _ in series.points)
        ax.plot(xs, ys, linewidth=1.4, label=series.label[:60])
    marks = [m for m in moments if m.name in COLOURS]
    lo = min([*ts, *(m.at.timestamp() for m in marks)])
    hi = max([*ts, *(m.at.timestamp() for m in marks)])
    pad = (hi - lo) * 0.02 or 60.0
    for m in marks:
        ax.axvline(
            m.at.timestamp() / DAY,
            color=COLOURS[m.name],
            linestyle="--",
            linewidth=1,
            label=m.name,
        )
    ax.set_xlim((lo - pad) / DAY, (hi + pad) / DAY)
    ax.set_title(chart.title, fontsize=11, loc="left")
    if chart.query:
        q = chart.query if len(chart.query) <= 110 else chart.query[:107] + "..."
        ax.text(0, 1.01, q, transform=ax.transAxes, fontsize=7, color="#555555", va="bottom")
        ax.set_title(chart.title, fontsize=11, loc="left", pad=14)
    ax.xaxis_date(tz=UTC)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))  # type: ignore[no-untyped-call]
    ax.set_xlabel("UTC")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", framealpha=0.8, ncol=2)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.84, bottom=0.15)  # tight_layout draws twice
    path.parent.mkdir(parents=True, exist_ok=True)
    # No software version or date in the file: same data, same bytes.
    fig.savefig(path, format="png", metadata={"Software": None})
    return path


def draw_all(charts: list[Chart], moments: list[Moment], folder: Path) -> list[Path]:
    return [draw(c, moments, folder / f"{c.name}.png") for c in charts if c.series]
