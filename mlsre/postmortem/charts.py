"""PNG charts of the range series kept as evidence, with the incident's lifecycle marked.

The only module that imports matplotlib (Agg backend, no display needed). Output is
byte-for-byte stable for the same data, so republishing an unchanged incident commits nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC
from pathlib import Path

from mlsre.postmortem.evidence import Chart
from mlsre.postmortem.timeline import Moment

DAY = 86400.0
DIGEST_KEY = "mlsre-digest"
MARKS_KEY = "mlsre-marks"  # the moments drawn, comma-separated (for readers and tests)
STYLE_VERSION = 2  # bump when the drawing code changes, so charts are redrawn
MAX_LINES = 8  # more series than this and the legend hides the chart
COLOURS = {
    "started": "#d62728",
    "detected": "#ff7f0e",
    "acknowledged": "#9467bd",
    "mitigated": "#2ca02c",
    "resolved": "#1f77b4",
    "change point": "#e377c2",  # where the failing signal shifted (mlsre incident changes)
}
DEPLOY_COLOUR = "#000000"  # a version going live, as observed in the data


def digest(chart: Chart, moments: list[Moment]) -> str:
    """What the picture depends on: same digest, same picture (kept in the PNG's metadata)."""
    data = {
        "v": STYLE_VERSION,
        "title": chart.title,
        "query": chart.query,
        "series": [[s.label, s.points] for s in chart.series[:MAX_LINES]],
        "moments": [[m.name, m.at.timestamp()] for m in moments],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def png_text(path: Path) -> dict[str, str]:
    """The tEXt entries of a PNG, read without matplotlib (empty when not a readable PNG)."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return {}
    out: dict[str, str] = {}
    pos = 8
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + size]
        if kind == b"tEXt" and b"\0" in body:
            key, _, value = body.partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
        if kind == b"IDAT":  # text chunks come first in matplotlib's files
            break
        pos += 12 + size
    return out


def draw(chart: Chart, moments: list[Moment], path: Path) -> Path:
    """Draw ``chart`` to ``path`` (PNG) unless the PNG there already shows exactly this."""
    key = digest(chart, moments)
    if png_text(path).get(DIGEST_KEY) == key:
        return path  # unchanged: no need to import matplotlib at all
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
    # Moments far outside the data (an incident opened a day after the data it reads) would
    # squash the series into a sliver: only those within the data's span (+50%) are drawn.
    t_lo, t_hi = min(ts), max(ts)
    reach = (t_hi - t_lo) * 0.5 or 3600.0
    marks = [
        m
        for m in moments
        if (m.name in COLOURS or m.name.startswith("version "))
        and t_lo - reach <= m.at.timestamp() <= t_hi + reach
    ]
    lo = min([t_lo, *(m.at.timestamp() for m in marks)])
    hi = max([t_hi, *(m.at.timestamp() for m in marks)])
    pad = (hi - lo) * 0.02 or 60.0
    for m in marks:
        ax.axvline(
            m.at.timestamp() / DAY,
            color=COLOURS.get(m.name, DEPLOY_COLOUR),
            linestyle="--" if m.name in COLOURS else ":",
            linewidth=1 if m.name in COLOURS else 1.6,
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
    drawn = ",".join(m.name for m in marks)
    fig.savefig(path, format="png", metadata={"Software": None, DIGEST_KEY: key, MARKS_KEY: drawn})
    return path


def draw_all(charts: list[Chart], moments: list[Moment], folder: Path) -> list[Path]:
    return [draw(c, moments, folder / f"{c.name}.png") for c in charts if c.series]
