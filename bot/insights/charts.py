"""Server-side charts rendered to PNG for posting into Slack.

Slack shows an uploaded image as a static picture (no hover, often scaled down to a thumbnail), so
every number that matters is printed on the chart itself and the fonts are on the large side.

matplotlib is imported inside the functions: the web server never draws a chart at start-up and
shouldn't pay matplotlib's import cost. Only the object-oriented API is used (``Figure`` +
``FigureCanvasAgg``), never ``pyplot``, so no global figure registry or backend switch is touched
from worker threads.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence

WIDTH_PX, HEIGHT_PX, DPI = 900, 450, 100

_BAR_COLOR = "#c9d7e6"        # light grey-blue: volume is context, not the headline
_BAR_TEXT = "#5b6b7c"
_LINE_COLOR = "#1d4e89"
_POSITIVE, _NEGATIVE, _NEUTRAL = "#1b7a3e", "#b3261e", "#444444"
_GRID = "#e6e9ee"

# matplotlib shares font caches and rcParams between figures; it isn't documented as thread-safe,
# and a chart is rendered rarely, so renders are simply serialized.
_RENDER_LOCK = threading.Lock()


def _nps_values(nps: Sequence[float | None]) -> list[float]:
    """None / NaN become NaN (a gap in the line); anything outside -100..100 is a caller bug."""
    out: list[float] = []
    for v in nps:
        f = math.nan if v is None else float(v)
        if not math.isnan(f) and not -100 <= f <= 100:
            raise ValueError(f"NPS must be between -100 and 100, got {v!r}")
        out.append(f)
    return out


def _fmt_nps(v: float) -> str:
    r = round(v)
    return f"{r:+d}" if r else "0"


def trend_chart_png(labels: Sequence[str], nps: Sequence[float | None], volume: Sequence[int], *,
                    title: str) -> bytes:
    """Render an NPS trend as a 900x450 PNG: response volume as bars (left axis), NPS as a line
    with labelled markers (right axis, fixed -100..100, gaps where ``nps`` is None).

    ``labels``, ``nps`` and ``volume`` are parallel sequences, one entry per period (e.g. "W40").
    Raises ValueError if their lengths differ, an NPS is outside -100..100 or a volume is negative.
    """
    labels, volume = [str(x) for x in labels], [int(v) for v in volume]
    if not len(labels) == len(nps) == len(volume):
        raise ValueError(f"labels, nps and volume must have the same length "
                         f"(got {len(labels)}, {len(nps)}, {len(volume)})")
    if any(v < 0 for v in volume):
        raise ValueError("volume must not be negative")
    scores = _nps_values(nps)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    with _RENDER_LOCK:
        fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        n, xs = len(labels), list(range(len(labels)))
        dense = n > 16  # more than a quarter of weeks: smaller, rotated text so nothing overlaps
        small = 8 if dense else 10
        valid = [i for i in xs if not math.isnan(scores[i])]
        # Labelling every point of a long series is unreadable: keep the first, last, best and worst.
        labelled = set(valid) if len(valid) <= 26 else {
            valid[0], valid[-1], max(valid, key=scores.__getitem__), min(valid, key=scores.__getitem__)}

        # Volume: bars on the left axis, kept in the lower ~55% so the NPS labels stay clear of them.
        ax = fig.add_subplot()
        ax.bar(xs, volume, width=0.6, color=_BAR_COLOR, zorder=2)
        ax.set_ylim(0, max(max(volume, default=0), 1) * 1.8)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.set_ylabel("Responses", color=_BAR_TEXT, fontsize=11)
        ax.tick_params(axis="y", colors=_BAR_TEXT, labelsize=small)
        for x, v in zip(xs, volume, strict=True):
            if v and not dense:
                ax.annotate(f"{v:,}", (x, 0), xytext=(0, 3), textcoords="offset points", ha="center",
                            va="bottom", fontsize=small - 1, color=_BAR_TEXT, zorder=3)
        step = 2 if n > 30 else 1  # every other label for a year of weeks
        ax.set_xticks(xs[::step], labels[::step], fontsize=small + 1, rotation=45 if dense else 0,
                      ha="right" if dense else "center", rotation_mode="anchor")
        ax.set_xlim(-0.6, n - 0.4 if n else 0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)

        # NPS: line on a twin axis with a fixed scale, so weeks and reports are comparable.
        ax2 = ax.twinx()
        ax2.set_ylim(-100, 100)
        ax2.set_yticks([-100, -50, 0, 50, 100])
        # The twin axes draw on top of the bars, so its grid would cross them: draw the NPS grid on
        # the bar axes instead (the NPS scale is fixed, so -50/+50 sit at 25%/75% of the height).
        for frac in (0.25, 0.75):
            ax.plot([0, 1], [frac, frac], transform=ax.transAxes, color=_GRID, linewidth=0.8, zorder=0)
        ax2.axhline(0, color="#6f7a86", linewidth=1.2, linestyle=(0, (5, 3)), zorder=3)
        ax2.set_ylabel("NPS", color=_LINE_COLOR, fontsize=11)
        ax2.tick_params(axis="y", colors=_LINE_COLOR, labelsize=small)
        for side in ("top", "left"):
            ax2.spines[side].set_visible(False)
        ax2.plot(xs, scores, color=_LINE_COLOR, linewidth=1.8 if dense else 2.2, marker="o",
                 markersize=4.5 if dense else 6.5, markerfacecolor="white", markeredgewidth=2, zorder=4,
                 clip_on=False)  # a marker at exactly +/-100 would otherwise be cut in half
        for x in sorted(labelled):
            v = scores[x]
            above = v <= 75  # near the top of the scale the label goes below the point
            ax2.annotate(_fmt_nps(v), (x, v), xytext=(0, 9 if above else -10), textcoords="offset points",
                         ha="center", va="bottom" if above else "top", fontsize=small + 1, fontweight="bold",
                         color=_POSITIVE if v > 0.5 else _NEGATIVE if v < -0.5 else _NEUTRAL, zorder=5,
                         bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none",
                               "alpha": 0.8})
        if all(math.isnan(v) for v in scores):
            ax2.text(0.5, 0.5, "No NPS responses in this period" if n else "No data",
                     transform=ax2.transAxes, ha="center", va="center", fontsize=12, color=_NEUTRAL,
                     bbox={"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": _GRID})

        fig.suptitle(title, x=0.01, ha="left", fontsize=14, fontweight="bold")
        handles = [Line2D([], [], color=_LINE_COLOR, linewidth=2.2, marker="o", markerfacecolor="white",
                          markeredgewidth=2, label="NPS (right axis)"),
                   Patch(facecolor=_BAR_COLOR, label="Responses (left axis)")]
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, frameon=False,
                  fontsize=small, borderaxespad=0.3)

        buf = io.BytesIO()
        # No "Software" tag: the same input gives byte-identical output across matplotlib patch releases.
        fig.savefig(buf, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
        return buf.getvalue()
