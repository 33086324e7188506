"""The comments view (`/dashboard/comments`) as one server-rendered page, in the dashboard's style: no
JavaScript, nothing loaded from elsewhere, every value through `esc` (comments and names are other
people's text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

from bot.common.labels import theme_label
from bot.common.vocabulary import KINDS, SENTIMENT_DISPLAY
from bot.config import AppConfig
from bot.insights.comments import (
    CSV_PATH,
    MAX_SEARCH_CHARS,
    NO_SENTIMENT,
    PAGE_SIZE,
    PATH,
    SENTIMENTS,
    STATUSES,
    CommentPage,
    CommentRow,
)
from bot.insights.dashboard import CATEGORY_ORDER, NO_CATEGORY, UNCLAIMED
from bot.insights.page import CSS, KIND_LABELS, esc
from bot.insights.page import _local as local_time
from bot.insights.page import _name as person
from bot.insights.page import _select as select_field

COMMENTS_CSS = """.comments td.c{max-width:560px;white-space:pre-wrap;overflow-wrap:anywhere}
.comments .why{color:#5b6b7c;font-size:12px}.pager{display:flex;gap:14px;align-items:center;margin:10px 0}
.sent-negative{color:#b3261e;font-weight:600}.sent-positive{color:#1b7a3e;font-weight:600}
.sent-mixed{color:#c05621;font-weight:600}.theme{display:inline-block;background:#eef2f7;border-radius:8px;
padding:0 6px;margin:1px 2px;font-size:12px}"""

STATUS_LABELS = {"open": "Open (not resolved)", "unclaimed": "Unclaimed", "claimed": "Claimed",
                 "resolved": "Resolved"}


def _status(row: CommentRow, names: Mapping[str, str]) -> str:
    if row.status == "resolved":
        text = f"resolved by {person(row.resolved_by, names)}"
        return text + (f" ({row.outcome.replace('_', ' ')})" if row.outcome else "")
    if row.status == "claimed":
        return f"claimed by {person(row.claimed_by, names)}"
    return "unclaimed" if row.needs_follow_up else "unclaimed (no follow-up needed)"


def _row(row: CommentRow, timezone: str, names: Mapping[str, str]) -> str:
    category = row.category or NO_CATEGORY
    score = KIND_LABELS.get(row.kind, row.kind) + ("" if row.score is None else f" {row.score}")
    sentiment = row.sentiment or NO_SENTIMENT
    shown_sentiment = SENTIMENT_DISPLAY.get(sentiment, "–" if sentiment == NO_SENTIMENT else sentiment)
    why = f'<div class="why">{esc(row.sentiment_reason)}</div>' if row.sentiment_reason else ""
    themes = "".join(
        f'<span class="theme" title="{esc(row.theme_matches.get(theme, ""))}">{esc(theme_label(theme))}'
        + (f' <span class="why">(“{esc(row.theme_matches[theme])}”)</span>' if row.theme_matches.get(theme) else "")
        + "</span>" for theme in row.themes)
    text = row.comment or ""
    if row.subject:
        text = f"{row.subject}\n{text}" if text else row.subject
    comment = esc(text) + ("…" if row.cut else "") if text else '<span class="muted">(no comment)</span>'
    link = (f'<a href="{esc(row.link)}" rel="noreferrer">Slack ↗</a>' if row.link else
            '<span class="muted">not posted yet</span>')
    return (f'<tr data-item-id="{row.item_id}"><td class="t">{esc(local_time(row.received_at, timezone))}</td>'
            f"<td>{esc(row.customer)}{' ⭐' if row.vip else ''}</td><td>{esc(row.account or '')}</td>"
            f'<td>{esc(score)} <span class="tag {esc(category)}">{esc(category)}</span></td>'
            f'<td data-sentiment="{esc(sentiment)}"><span class="sent-{esc(sentiment)}">{esc(shown_sentiment)}</span>'
            f"{why}</td><td>{themes}</td><td>{esc(row.team)}</td>"
            f'<td data-status="{esc(row.status)}">{esc(_status(row, names))}</td>'
            f'<td class="c">{comment}</td><td>#{row.item_id} {link}</td></tr>')


def _pager(page: CommentPage) -> str:
    query = page.query.query()
    shown = (f"Showing {page.first:,}–{page.last:,} of {page.total:,}" if page.rows else
             f"Showing 0 of {page.total:,}" + (f" (page {page.query.page} is past the last, {page.pages})"
                                                if page.total else ""))
    links = []
    if page.query.page > 1:
        previous = min(page.query.page - 1, page.pages)
        links.append(f'<a rel="prev" href="{PATH}?{esc(urlencode({**query, "page": previous}))}">← newer</a>')
    if page.query.page < page.pages:
        links.append(f'<a rel="next" href="{PATH}?{esc(urlencode({**query, "page": page.query.page + 1}))}">'
                     "older →</a>")
    return (f'<div class="pager"><span id="showing" data-total="{page.total}">{esc(shown)}</span>'
            f'{"".join(links)}<a href="{CSV_PATH}?{esc(urlencode(query))}">Export CSV (all {page.total:,})</a></div>')


def render_comments(page: CommentPage, config: AppConfig, names: Mapping[str, str] | None = None,
                    owners: Sequence[str] = ()) -> str:
    """The comments page; `names` maps Slack user ids to names, `owners` are who the owner filter may name."""
    names = names or {}
    q = page.query
    f = q.filters
    teams = [("", "All teams"), *[(t.name, t.name) for t in config.teams]]
    kinds = [("", "All kinds"), *[(k, KIND_LABELS.get(k, k)) for k in KINDS]]
    categories = [("", "All categories"), *[(c, "unscored" if c == NO_CATEGORY else c) for c in CATEGORY_ORDER]]
    vips = [("", "VIP or not"), ("yes", "VIP only"), ("no", "Not VIP")]
    themes = [("", "All themes"), *[(t, theme_label(t)) for t in sorted(config.themes)]]
    people = sorted(((o, person(o, names)) for o in owners), key=lambda pair: pair[1].casefold())
    sentiments = [("", "Any sentiment"), *[(s, "no comment" if s == NO_SENTIMENT else SENTIMENT_DISPLAY[s])
                                          for s in SENTIMENTS]]
    statuses = [("", "Any status"), *[(s, STATUS_LABELS[s]) for s in STATUSES]]
    form = (f'<form class="filters" method="get" action="{PATH}">'
            f'{select_field("team", "Team", teams, f.team)}{select_field("kind", "Kind", kinds, f.kind)}'
            f'{select_field("category", "Category", categories, f.category)}'
            f'{select_field("vip", "VIP", vips, None if f.vip is None else ("yes" if f.vip else "no"))}'
            f'{select_field("theme", "Theme", themes, f.theme)}'
            f'{select_field("owner", "Owner", [("", "Anyone"), (UNCLAIMED, "Unclaimed"), *people], f.owner)}'
            f'{select_field("sentiment", "Sentiment", sentiments, q.value("sentiment"))}'
            f'{select_field("status", "Status", statuses, q.value("status"))}'
            + (f'<input type="hidden" name="sla" value="{esc(q.value("sla") or "")}">' if q.value("sla") else "")
            + f'<label>Text<input type="search" name="q" maxlength="{MAX_SEARCH_CHARS}" '
            f'value="{esc(q.value("q") or "")}"></label>'
            f'<label>From<input type="date" name="from" value="{f.start.isoformat()}"></label>'
            f'<label>To<input type="date" name="to" value="{f.end.isoformat()}"></label>'
            '<button type="submit">Apply</button></form>')
    applied = q.applied()
    spans = "".join(f'<span class="f" data-filter="{esc(name)}" data-value="{esc(value)}">'
                    f'{esc(f"held by {person(value, names)}" if name == "owner" and value != UNCLAIMED else text)}'
                    "</span>" for name, value, text in applied)
    applied_html = (f'<p class="applied" id="applied-filters">Filters applied: {spans}</p>' if applied else
                    '<p class="applied muted" id="applied-filters">No filters: every item of the range.</p>')
    rows = "".join(_row(row, f.timezone, names) for row in page.rows)
    note = "" if page.rows else '<p class="muted">No comments match these filters.</p>'
    back = f"/dashboard?{urlencode(f.query())}"
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>cxloop comments · {page.total:,}</title><style>{CSS}\n{COMMENTS_CSS}</style></head><body>"
            f'<header><b>cxloop</b><span>Comments behind the numbers</span>'
            f'<span class="range">{f.start.isoformat()} – {f.end.isoformat()} ({esc(f.timezone)})</span>'
            f'<a href="{esc(back)}">← dashboard</a></header>'
            f"<main>{form}{applied_html}{_pager(page)}{note}"
            '<table class="comments" id="comments"><thead><tr><th>Received</th><th>Customer</th><th>Account</th>'
            "<th>Score</th><th>Sentiment</th><th>Themes</th><th>Team</th><th>Status</th><th>Comment</th>"
            f"<th>Item</th></tr></thead><tbody>{rows}</tbody></table>{_pager(page) if page.rows else ''}"
            f'<p class="muted">Newest first, {PAGE_SIZE} a page; the CSV has every matching item (the items '
            "export's columns). The range is whole days in "
            f"{esc(f.timezone)}; as of {esc(local_time(q.now, f.timezone))}.</p></main></body></html>")
