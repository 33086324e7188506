"""Server-side SVG charts for the dashboard: no JavaScript, nothing fetched, readable without hovering.

Every number that matters is printed on the chart (axis labels and value labels), every piece of text
goes through `_esc` (team and theme names come from configuration and customers' words), and each
chart is an `<svg role="img" aria-label=… data-chart=…>` with a `<title>`, so screen readers and
tests can find it. Pure functions: data in, markup out.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

from bot.common.labels import theme_label

FONT = "system-ui,-apple-system,'Segoe UI',sans-serif"
TEXT, MUTED, GRID, AXIS = "#1d1c1d", "#5b6b7c", "#e6e9ee", "#9aa5b1"
LINE, BAR = "#1d4e89", "#c9d7e6"
POSITIVE, NEGATIVE, NEUTRAL = "#1b7a3e", "#b3261e", "#444444"
# Themes are topics, not verdicts: rising and falling get distinct colours that judge nothing.
RISING, FALLING = "#c05621", "#2b6cb0"
CATEGORY_COLORS = {"detractor": "#d64545", "passive": "#e0b040", "promoter": "#2f9e5b", "none": "#8a96a3"}
CATEGORY_LABELS = {"detractor": "Detractors", "passive": "Passives", "promoter": "Promoters",
                   "none": "No category"}
MAX_LABEL_CHARS = 28


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _short(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _fmt_nps(value: int) -> str:
    return f"{value:+d}" if value else "0"


def _text(x: float, y: float, text: str, *, anchor: str = "middle", size: int = 12, color: str = TEXT,
          weight: str = "normal", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{color}" '
            f'font-weight="{weight}"{extra}>{_esc(text)}</text>')


def _svg(name: str, label: str, width: int, height: int, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{_esc(label)}" data-chart="{_esc(name)}"'
            f' viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" font-family="{FONT}">'
            f"<title>{_esc(label)}</title>{''.join(body)}</svg>")


def _empty(name: str, label: str, message: str, width: int = 640, height: int = 120) -> str:
    return _svg(name, label, width, height, [
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="#fafbfc" stroke="{GRID}"/>',
        _text(width / 2, height / 2 + 5, message, size=14, color=MUTED)])


def nps_trend_svg(points: Sequence[tuple[str, int | None, int]], *, title: str = "NPS by week") -> str:
    """NPS per week as a line on a fixed −100…+100 scale, with each week's volume as a bar underneath.

    `points`: (week label, NPS or None for a week without NPS responses, items that week), oldest first.
    """
    name = "nps-trend"
    if not points:
        return _empty(name, f"{title}: no weeks in range", "No weeks in this range")
    n = len(points)
    dense = n > 16
    # Past half a year a label per week would be unreadable once the chart fits the page: every
    # `every`-th week gets its labels (and the last one), every week its point, bar and hover title.
    every = math.ceil(n / 26)
    left, right, top = 56, 16, 28
    width = max(640, left + right + n * (56 if not dense else 34 if every == 1 else 22))
    line_h, gap, bar_h = 200, 40, 90
    label_h = 56 if dense else 30
    height = top + line_h + gap + bar_h + label_h
    step = (width - left - right) / n
    xs = [left + step * (i + 0.5) for i in range(n)]
    summary = ", ".join(f"{label}: NPS {_fmt_nps(nps) if nps is not None else 'none'}, {volume} items"
                        for label, nps, volume in points)
    body = [_text(left, 16, "NPS (−100 to +100)", anchor="start", size=12, color=LINE, weight="bold")]

    def y_nps(value: float) -> float:
        return top + (100 - value) / 200 * line_h

    for tick in (-100, -50, 0, 50, 100):
        y = y_nps(tick)
        style = f'stroke="{AXIS}" stroke-dasharray="5 3"' if tick == 0 else f'stroke="{GRID}"'
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" {style}/>')
        body.append(_text(left - 8, y + 4, _fmt_nps(tick), anchor="end", size=11, color=MUTED))
    # The line breaks over weeks without NPS responses rather than inventing a value.
    segment: list[str] = []
    segments: list[list[str]] = []
    for x, (_, nps, _) in zip(xs, points, strict=True):
        if nps is None:
            if segment:
                segments.append(segment)
            segment = []
        else:
            segment.append(f"{x:.1f},{y_nps(nps):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            body.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{LINE}" stroke-width="2.5"/>')
    def labelled(i: int) -> bool:
        return i % every == 0 or i == n - 1

    for i, (x, (label, nps, volume)) in enumerate(zip(xs, points, strict=True)):
        if nps is None:
            continue
        y = y_nps(nps)
        color = POSITIVE if nps > 0 else NEGATIVE if nps < 0 else NEUTRAL
        hover = f"{label}: NPS {_fmt_nps(nps)}, {volume:,} items"
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{5 if every == 1 else 4}" fill="#fff" stroke="{LINE}" '
                    f'stroke-width="2.5"><title>{_esc(hover)}</title></circle>')
        if labelled(i):
            label_y = y - 10 if nps <= 75 else y + 20
            body.append(_text(x, label_y, _fmt_nps(nps), size=11 if dense else 13, color=color, weight="bold"))
    if all(nps is None for _, nps, _ in points):
        body.append(_text((left + width - right) / 2, y_nps(0) - 12, "No NPS responses in this range",
                          size=14, color=MUTED))

    # Volume bars, on their own scale under the line.
    bar_top = top + line_h + gap
    body.append(_text(left, bar_top - 12, "Items per week", anchor="start", size=12, color=MUTED, weight="bold"))
    peak = max((volume for _, _, volume in points), default=0) or 1
    baseline = bar_top + bar_h
    for i, (x, (label, _, volume)) in enumerate(zip(xs, points, strict=True)):
        h = volume / peak * (bar_h - 16)
        w = step * 0.6
        body.append(f'<rect x="{x - w / 2:.1f}" y="{baseline - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
                    f'fill="{BAR}"><title>{_esc(f"{label}: {volume:,} items")}</title></rect>')
        if labelled(i):
            body.append(_text(x, baseline - h - 3, f"{volume:,}", size=10 if dense else 11, color=MUTED))
    body.append(f'<line x1="{left}" x2="{width - right}" y1="{baseline}" y2="{baseline}" stroke="{AXIS}"/>')
    years = {label.split("-", 1)[0] for label, _, _ in points}
    for i, (x, (label, _, _)) in enumerate(zip(xs, points, strict=True)):
        # "2026-W47" → "W47" (the year is in the form); a range across New Year names the year of its
        # first week and of each W01, as "2026-W01" then reads differently from "2025-W01".
        year, _, week = label.partition("-")
        short = label if not week or (len(years) > 1 and (i == 0 or week == "W01")) else week
        if not labelled(i) and not (dense and week == "W01"):
            continue
        if dense:
            body.append(_text(x, baseline + 14, short, anchor="end", size=10, color=TEXT,
                              extra=f' transform="rotate(-45 {x:.1f} {baseline + 14:.1f})"'))
        else:
            body.append(_text(x, baseline + 18, short, size=12, color=TEXT))
    return _svg(name, f"{title}. {summary}", width, height, body)


def _linked(href: str | None, body: str, label: str) -> str:
    """`body` as a link (SVG 2 `href`) when there is one: a count opens the items behind it."""
    return f'<a href="{_esc(href)}" aria-label="{_esc(label)}">{body}</a>' if href else body


def category_mix_svg(rows: Sequence[tuple[str, Mapping[str, int]]], *, title: str = "Category mix",
                     links: Mapping[tuple[str, str], str] | None = None) -> str:
    """One horizontal bar per kind, split by category, with each part's count printed on it.

    `rows`: (kind label, {category: count}) with categories among detractor / passive / promoter / none;
    `links`: (kind label, category) → the URL of that part's items, each part then a link.
    """
    name = "category-mix"
    rows = [(label, {c: int(v) for c, v in counts.items() if v}) for label, counts in rows]
    rows = [(label, counts) for label, counts in rows if counts]
    if not rows:
        return _empty(name, f"{title}: no items in range", "No items in this range")
    left, right, top, row_h, bar_h = 120, 70, 44, 40, 26
    width = 640
    height = top + row_h * len(rows) + 10
    span = width - left - right
    peak = max(sum(counts.values()) for _, counts in rows)
    body = []
    # Legend first, so colours read before the bars.
    x = left
    for category in ("detractor", "passive", "promoter", "none"):
        body.append(f'<rect x="{x}" y="10" width="12" height="12" fill="{CATEGORY_COLORS[category]}"/>')
        body.append(_text(x + 16, 21, CATEGORY_LABELS[category], anchor="start", size=12))
        x += 26 + 8 * len(CATEGORY_LABELS[category])
    parts = []
    for index, (label, counts) in enumerate(rows):
        y = top + index * row_h
        total = sum(counts.values())
        body.append(_text(left - 10, y + bar_h / 2 + 5, _short(label, 16), anchor="end", size=13, weight="bold"))
        x = float(left)
        for category in ("detractor", "passive", "promoter", "none"):
            count = counts.get(category, 0)
            if not count:
                continue
            w = count / peak * span
            color = CATEGORY_COLORS.get(category, CATEGORY_COLORS["none"])
            share = round(100 * count / total)
            text = f"{count:,} ({share}%)" if w >= 70 else f"{count:,}" if w >= 24 else ""
            part = f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}"/>' + (
                _text(x + w / 2, y + bar_h / 2 + 4, text, size=11, color="#fff", weight="bold") if text else "")
            body.append(_linked((links or {}).get((label, category)), part,
                                f"{label}: {count} {CATEGORY_LABELS.get(category, category).lower()}"))
            x += w
        body.append(_text(x + 6, y + bar_h / 2 + 5, f"{total:,}", anchor="start", size=12, color=MUTED))
        parts.append(f"{label}: " + ", ".join(f"{counts[c]} {CATEGORY_LABELS.get(c, c).lower()}"
                                              for c in ("detractor", "passive", "promoter", "none") if c in counts))
    return _svg(name, f"{title}. " + "; ".join(parts), width, height, body)


def detractor_age_svg(buckets: Sequence[tuple[str, int]], *, title: str = "Open detractors by age") -> str:
    """Vertical bars: how many open detractors fall in each age bucket, counts printed above the bars."""
    name = "detractor-age"
    if not buckets or not any(count for _, count in buckets):
        return _empty(name, f"{title}: none open", "No open detractors")
    left, right, top, plot_h = 20, 20, 24, 150
    width = 640
    height = top + plot_h + 40
    step = (width - left - right) / len(buckets)
    peak = max(count for _, count in buckets)
    baseline = top + plot_h
    body = [f'<line x1="{left}" x2="{width - right}" y1="{baseline}" y2="{baseline}" stroke="{AXIS}"/>']
    for index, (label, count) in enumerate(buckets):
        x = left + step * (index + 0.5)
        h = count / peak * (plot_h - 20)
        w = step * 0.6
        body.append(f'<rect x="{x - w / 2:.1f}" y="{baseline - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
                    f'fill="{CATEGORY_COLORS["detractor"]}"/>')
        body.append(_text(x, baseline - h - 5, f"{count:,}", size=13, weight="bold"))
        body.append(_text(x, baseline + 18, _short(label, 14), size=12))
    parts = "; ".join(f"{label}: {count}" for label, count in buckets)
    return _svg(name, f"{title}. {parts}", width, height, body)


def themes_svg(changes: Sequence[tuple[str, int, int]], *, title: str = "Themes rising and falling",
               links: Mapping[str, str] | None = None) -> str:
    """Diverging horizontal bars: each theme's change (second half − first half), labelled "+5 (3 → 8)".

    `changes`: (theme, items in the first half, items in the second half), drawn in the order given;
    `links`: theme → the URL of its items, the theme's name then a link.
    """
    name = "themes"
    changes = [(theme, int(before), int(after)) for theme, before, after in changes if before != after]
    if not changes:
        return _empty(name, f"{title}: no theme changed", "No theme rose or fell")
    # Room beside the bars for the widest "−104 (6181 → 6077)" (about 7.5 px a character at 12 px bold), so a
    # falling bar's figure never runs into the theme names.
    longest = max(len(f"{after - before:+d} ({before} → {after})") for _, before, after in changes)
    label_w, value_w, top, row_h, bar_h = 170, max(110, round(7.5 * longest) + 8), 12, 30, 20
    width = 640
    height = top + row_h * len(changes) + 8
    peak = max(abs(after - before) for _, before, after in changes)
    half = (width - label_w - 2 * value_w) / 2
    middle = label_w + value_w + half
    body = [f'<line x1="{middle:.1f}" x2="{middle:.1f}" y1="{top - 4}" y2="{height - 4}" stroke="{AXIS}"/>']
    parts = []
    for index, (theme, before, after) in enumerate(changes):
        y = top + index * row_h
        change = after - before
        w = abs(change) / peak * half
        color = RISING if change > 0 else FALLING
        x = middle if change > 0 else middle - w
        shown = theme_label(theme)
        body.append(_linked((links or {}).get(theme), _text(label_w - 8, y + bar_h / 2 + 5, _short(shown),
                                                             anchor="end", size=13),
                            f"{shown}: {before + after} items"))
        body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}" opacity="0.85"/>')
        value = f"{change:+d} ({before} → {after})"
        if change > 0:
            body.append(_text(middle + w + 6, y + bar_h / 2 + 5, value, anchor="start", size=12, color=color,
                              weight="bold"))
        else:
            body.append(_text(middle - w - 6, y + bar_h / 2 + 5, value, anchor="end", size=12, color=color,
                              weight="bold"))
        parts.append(f"{shown} {change:+d} ({before} to {after})")
    return _svg(name, f"{title}. " + "; ".join(parts), width, height, body)
