"""The dashboard as one server-rendered HTML page: inline CSS, inline SVG charts, no JavaScript, nothing
loaded from anywhere else. Every value shown goes through `esc` (names, comments and team names are
other people's text).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.common.durations import duration, hours_label
from bot.common.labels import plural, theme_label
from bot.common.periods import day_before, day_label, range_label
from bot.common.vocabulary import KINDS, SENTIMENT_DISPLAY
from bot.config import AppConfig
from bot.followups.triage import ORDER_LABEL
from bot.insights.comments import NO_SENTIMENT, CommentCounts, comments_href
from bot.insights.dashboard import (
    AGE_BUCKETS,
    CATEGORY_ORDER,
    MAX_RANGE_DAYS,
    NO_CATEGORY,
    OPEN_ITEMS_LIMIT,
    THEME_MOVES,
    UNCLAIMED,
    Dashboard,
)
from bot.insights.segments import DIMENSIONS, SegmentCut, cut_rows
from bot.insights.svg import category_mix_svg, detractor_age_svg, nps_trend_svg, themes_svg

esc = html.escape
KIND_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "psat": "PSAT", "escalation": "Escalation"}

CSS = """body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f5f6f8;color:#1d1c1d}
header{background:#1d4e89;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:baseline;flex-wrap:wrap}
header b{font-size:17px}header a{color:#dce7f5}main{padding:16px 20px;max-width:1400px;margin:0 auto}
form.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end;background:#fff;padding:12px;border-radius:8px;
border:1px solid #e1e4e8}form.filters label{display:flex;flex-direction:column;font-size:12px;color:#5b6b7c;gap:2px}
select,input,button{font:inherit;padding:4px 8px;border:1px solid #c4ccd5;border-radius:4px;background:#fff}
button{background:#1d4e89;color:#fff;border-color:#1d4e89;cursor:pointer}.exports{margin-left:auto}
.exports a{margin-left:10px}.muted{color:#5b6b7c;font-size:12px}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:10px;margin:14px 0}
.card{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:10px 12px}
.card .k{font-size:12px;color:#5b6b7c;text-transform:uppercase;letter-spacing:.03em}
.card .v{font-size:26px;font-weight:700;margin:2px 0}.card .s{font-size:12px;color:#5b6b7c}
.good{color:#1b7a3e}.bad{color:#b3261e}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:12px}
.charts figure.wide{grid-column:1/-1}
figure{margin:0;background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:10px 12px;overflow-x:auto}
figcaption{font-weight:700;margin-bottom:6px}figcaption span{font-weight:400;color:#5b6b7c;font-size:12px}
section{margin-top:16px}h2{font-size:16px;margin:0 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e1e4e8;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.tag{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;font-weight:600;color:#fff}
.detractor{background:#d64545}.passive{background:#c0901c}.promoter{background:#2f9e5b}.none{background:#8a96a3}
.late{color:#b3261e;font-weight:700}td.t{white-space:nowrap}.notes li{margin:2px 0}
.applied{margin:8px 0 0}.applied .f{display:inline-block;background:#dce7f5;border-radius:8px;padding:0 8px;margin-right:6px}"""

SECURITY_HEADERS = {
    # Everything is inline and nothing is fetched: the policy says so, and nothing else may run.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _nps(value: int | None) -> str:
    return "–" if value is None else (f"{value:+d}" if value else "0")


def _value(value) -> str:
    return "" if value is None else (f"{value:.2f}" if isinstance(value, float) else str(value))


def _card(metric: str, label: str, shown: str, value, sub: str, css: str = "", href: str | None = None) -> str:
    shown_html = f'<a href="{esc(href)}" title="the comments behind it">{esc(shown)}</a>' if href else esc(shown)
    return (f'<div class="card"><div class="k">{esc(label)}</div>'
            f'<div class="v {css}" data-metric="{metric}" data-value="{esc(_value(value))}">{shown_html}</div>'
            f'<div class="s">{esc(sub)}</div></div>')


def _count_link(count: int, href: str, what: str) -> str:
    """A count that opens the comments behind it (bot.insights.comments)."""
    return f'<a href="{esc(href)}" data-count="{count}" data-comments="{esc(what)}">{count:,}</a>'



def _local(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def _select(name: str, label: str, options: list[tuple[str, str]], chosen: str | None) -> str:
    rendered = "".join(f'<option value="{esc(value)}"{" selected" if value == (chosen or "") else ""}>'
                       f"{esc(text)}</option>" for value, text in options)
    return f'<label>{esc(label)}<select name="{name}">{rendered}</select></label>'


def _figures(d: Dashboard) -> str:
    coverage = d.vip_coverage
    window = range_label(d.filters.start, d.filters.end)
    as_of = day_label(day_before(d.vip_as_of, d.filters.timezone))
    cards = [
        _card("nps", "NPS", _nps(d.nps), d.nps, f"from {plural(d.nps_count, 'NPS response', grouped=True)}, {window}",
              "good" if (d.nps or 0) > 0 else "bad" if (d.nps or 0) < 0 else ""),
        _card("volume", "Items", f"{d.volume:,}", d.volume, "received in the range", href=comments_href(d.filters)),
        _card("open-items", "Open items", f"{d.open_items_total:,}", d.open_items_total, "unclaimed or claimed",
              href=comments_href(d.filters, status="open")),
        _card("open-detractors", "Open detractors", f"{d.open_detractors:,}", d.open_detractors,
              f"oldest {duration(d.oldest_open_detractor_days * 1440)}"
              if d.oldest_open_detractor_days is not None else "none waiting",
              href=comments_href(d.filters, status="open", category="detractor")
              if d.filters.category in (None, "detractor") else None),
        _card("median-claim", "Median time to claim", duration(d.median_claim_minutes), d.median_claim_minutes,
              f"over {plural(d.claimed_count, 'item', grouped=True)} claimed {window}"),
        _card("median-resolve", "Median time to resolve", duration(d.median_resolve_minutes),
              d.median_resolve_minutes, f"over {plural(d.resolved_count, 'item', grouped=True)} resolved {window}"),
        _card("sla-breaches", "SLA breaches", f"{d.sla_breaches:,}", d.sla_breaches,
              f"of items received {window}: claimed late or still unclaimed past SLA",
              "bad" if d.sla_breaches else "", href=comments_href(d.filters, sla="breached")),
        _card("vip-coverage", "VIP coverage", "–" if coverage is None else f"{round(100 * coverage)}%",
              None if coverage is None else round(100 * coverage, 2),
              f"{d.vip_touched} of {plural(d.vip_total, 'VIP', grouped=True)} touched within cadence, as of {as_of}"
              if d.vip_total else f"no VIP accounts as of {as_of}"),
    ]
    return f'<section class="figures">{"".join(cards)}</section>'


TREND_WEEKS_IN_HALF_ROW = 12


def _charts(d: Dashboard) -> str:
    trend = nps_trend_svg([(w.label, w.nps, w.volume) for w in d.weeks])
    mix = category_mix_svg([(KIND_LABELS.get(m.kind, m.kind), m.counts) for m in d.category_mix],
                           links={(KIND_LABELS.get(m.kind, m.kind), c): comments_href(d.filters, kind=m.kind, category=c)
                                  for m in d.category_mix for c in m.counts})
    ages = detractor_age_svg([(b.label, b.count) for b in d.detractor_ages])
    moves = themes_svg([(c.theme, c.before, c.after) for c in [*d.themes_rising, *d.themes_falling]],
                       links={c.theme: comments_href(d.filters, theme=c.theme) for c in [*d.themes_rising,
                                                                                           *d.themes_falling]})
    changes = [*d.themes_rising, *d.themes_falling]
    if not d.themes_split_at:
        split = "the range has not started yet"
    else:
        from_day = _local(d.themes_split_at, d.filters.timezone)[:10]
        split = f"items in the second half of the range (from {from_day}) against the first half"
        if d.themes_from and d.themes_from > d.filters.start_utc:
            split += f" (from {_local(d.themes_from, d.filters.timezone)[:10]}, the week of the range's first item)"
        if changes and not any(c.before for c in changes):
            # A range that starts before the data: every theme "rises" from nothing; say so.
            split += f"; no themed items before {from_day} in this range, so every change is a rise from 0"
    # More than a quarter of weeks: the trend takes the whole row, so its labels keep their size.
    trend_class = ' class="wide"' if len(d.weeks) > TREND_WEEKS_IN_HALF_ROW else ""
    return ('<section class="charts">'
            f"<figure{trend_class}>"
            '<figcaption>NPS by week <span>line: NPS per ISO week; bars: items per week</span></figcaption>'
            f"{trend}</figure>"
            f"<figure><figcaption>Category mix <span>items by kind and category</span></figcaption>{mix}</figure>"
            f"<figure><figcaption>Open detractors by age <span>time since received</span></figcaption>{ages}"
            "</figure>"
            f"<figure><figcaption>Themes rising and falling <span>top {THEME_MOVES} each way: {esc(split)}"
            f"</span></figcaption>{moves}</figure></section>")


def _topics_section(d: Dashboard) -> str:
    """The latest week's discovered topics (bot.insights.topics): label, count, trend, a quote."""
    t = d.topics
    head = '<section id="topics"><h2>Topics'
    if t is None:
        return (f'{head}</h2><p class="muted">No topics computed for this range yet: the clock groups each '
                "week's comments on the weekly report's day.</p></section>")
    head += f" of {esc(t.week)}</h2>"
    if not t.topics:
        return f'{head}<p class="muted" id="topics-note">{esc(t.note or "No topics this week.")}</p></section>'
    rows = []
    for line in t.topics:
        quote = ""
        if line.quote:
            who = esc(line.quote.who)
            if line.quote.link:
                who = f'<a href="{esc(line.quote.link)}" rel="noreferrer">{who}</a>'
            quote = f"“{esc(line.quote.text)}” — {who} · {esc(line.quote.score)}"
        count = (_count_link(line.count, comments_href(d.filters, topic=str(line.topic_id)), "topic")
                 if line.topic_id is not None else f"{line.count:,}")
        rows.append(f'<tr data-topic="{line.rank}"><td>{esc(line.label)}</td><td class="n">{count}</td>'
                    f"<td>{esc(line.trend)}</td><td>{quote}</td></tr>")
    return (f'{head}<p class="muted">{esc(t.explanation)} Computed {esc(_local(t.computed_at, t.timezone))} '
            f"{esc(t.timezone)}; the trend counts the week before's comments that fall in each topic.</p>"
            '<table id="topics-table"><thead><tr><th>Topic</th><th class="n">Comments</th><th>Trend</th>'
            f'<th>Most representative comment</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>')


def _team_table(d: Dashboard) -> str:
    def link(count: int, **narrower: str) -> str:
        return _count_link(count, comments_href(d.filters, **narrower), "team")

    detractors_listed = d.filters.category in (None, "detractor")
    rows = "".join(
        f'<tr data-team="{esc(t.team)}"><td>{esc(t.team)}</td><td class="n">{link(t.volume, team=t.team)}</td>'
        f'<td class="n">{_nps(t.nps)}</td><td class="n">{t.nps_count:,}</td>'
        f'<td class="n">{link(t.open_items, team=t.team, status="open")}</td><td class="n">'
        + (link(t.open_detractors, team=t.team, status="open", category="detractor") if detractors_listed
           else f"{t.open_detractors:,}")
        + f'</td><td class="n">{link(t.sla_breaches, team=t.team, sla="breached")}</td></tr>' for t in d.teams)
    return ('<section><h2>By team</h2><table id="teams"><thead><tr><th>Team</th><th class="n">Items</th>'
            '<th class="n">NPS</th><th class="n">NPS responses</th><th class="n">Open items</th>'
            '<th class="n">Open detractors</th><th class="n">SLA breaches</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></section>")


def _comment_counts(d: Dashboard, counts: CommentCounts | None) -> str:
    """What the range's comments are about: each count opens the comments behind it."""
    if counts is None:
        return ""
    f = d.filters

    def table(table_id: str, head: str, rows: list[tuple[str, int, str]]) -> str:
        body = "".join(f'<tr><td>{esc(label)}</td><td class="n">{_count_link(count, href, table_id)}</td></tr>'
                       for label, count, href in rows)
        empty = "" if rows else '<tr><td colspan="2" class="muted">none</td></tr>'
        return (f'<table id="{table_id}"><thead><tr><th>{esc(head)}</th><th class="n">Items</th></tr></thead>'
                f"<tbody>{body}{empty}</tbody></table>")

    themes = [(theme_label(theme), count, comments_href(f, theme=theme)) for theme, count in counts.themes]
    sentiments = [("no comment" if s == NO_SENTIMENT else SENTIMENT_DISPLAY.get(s, s), count,
                   comments_href(f, sentiment=s)) for s, count in counts.sentiments]
    kinds = []
    for kind, total, by_category in counts.kinds:
        kinds.append((KIND_LABELS.get(kind, kind), total, comments_href(f, kind=kind)))
        kinds += [(f"{KIND_LABELS.get(kind, kind)} · {'unscored' if c == NO_CATEGORY else c + 's'}", n,
                   comments_href(f, kind=kind, category=c)) for c, n in by_category.items()]
    return ('<section id="comment-counts"><h2>What customers said</h2><p class="muted">The range\'s items by '
            "theme, sentiment, kind and category. Click a number to read the comments behind it.</p>"
            '<div class="charts" style="grid-template-columns:repeat(auto-fit,minmax(260px,1fr));align-items:start">'
            f'{table("by-theme", "Theme", themes)}{table("by-sentiment", "Sentiment", sentiments)}'
            f'{table("by-kind", "Kind and category", kinds)}</div></section>')


def _demand_table(d: Dashboard, config: AppConfig) -> str:
    """Linked issues by the filtered feedback behind them (README "Product loop")."""
    if not config.trackers:
        return ""
    rows = "".join(
        f'<tr data-issue="{esc(r.label)}"><td>'
        + (f'<a href="{esc(r.url)}" rel="noreferrer">{esc(r.label)}</a>' if r.url else esc(r.label))
        + f'</td><td>{esc(r.title or "")}</td><td class="n">{r.customers:,}</td><td class="n">{r.arr:,.0f}</td>'
        f'<td class="n">{r.vip_accounts:,}</td><td class="n">{r.detractors:,}</td><td>{esc(r.status)}</td>'
        f'<td class="n">{r.age_days:,}</td><td class="n">{r.told:,}</td>'
        f'<td class="n">{"" if r.days_to_ship is None else f"{r.days_to_ship:.1f}"}</td></tr>' for r in d.demand)
    note = "" if d.demand else '<p class="muted">No feedback in this range is linked to an issue.</p>'
    return ('<section><h2>Demand: linked issues</h2><p class="muted">By customers behind each issue, then ARR, '
            f'VIP accounts and detractors, among the filtered items.</p>{note}<table id="demand"><thead><tr>'
            '<th>Issue</th><th>Title</th><th class="n">Customers</th><th class="n">ARR</th><th class="n">VIP</th>'
            '<th class="n">Detractors</th><th>Status</th><th class="n">Age (days)</th><th class="n">Told</th>'
            f'<th class="n">Days to ship</th></tr></thead><tbody>{rows}</tbody></table></section>')


def _open_table(d: Dashboard, names: Mapping[str, str]) -> str:
    tz = d.filters.timezone
    rows = []
    for item in d.open_items:
        score = "" if item.score is None else str(item.score)
        # An escalation has no survey category; its severity is what ranks it ("urgent", "high").
        category = item.category or (f"{item.priority} escalation" if item.priority else "none")
        status = "unclaimed" if item.status == "open" else f"claimed by {_name(item.claimed_by, names)}"
        link = (f'<a href="{esc(item.link)}" rel="noreferrer">#{item.item_id}</a>' if item.link
                else f"#{item.item_id}")
        rows.append(
            f'<tr data-item-id="{item.item_id}"><td>{link}</td><td class="t">{esc(_local(item.received_at, tz))}</td>'
            f'<td class="n">{esc(duration(item.age_days * 1440))}</td><td>{esc(item.team)}</td>'
            f"<td>{esc(KIND_LABELS.get(item.kind, item.kind))} {esc(score)}</td>"
            f'<td><span class="tag {esc(item.category or item.priority or "none")}">{esc(category)}</span></td>'
            f"<td>{esc(item.customer)}{' ⭐' if item.vip else ''}</td><td>{esc(item.summary)}</td>"
            f"<td>{esc(status)}</td>"
            f'<td>{"<span class=late>breached</span>" if item.sla_breached else ""}</td></tr>')
    shown = len(d.open_items)
    more = (f'<p class="muted" id="open-items-more">… and {d.open_items_total - shown:,} more: the items CSV has '
            "them all, or narrow the filters.</p>" if d.open_items_total > shown else "")
    note = "" if shown else '<p class="muted">No open items in this range.</p>'
    return (f"<section><h2>Open items ({d.open_items_total:,}), {esc(ORDER_LABEL)}</h2>"
            '<p class="muted">Escalations by severity, then VIP detractors, detractors, passives, promoters; '
            f"oldest first within each.</p>{note}"
            '<table id="open-items"><thead><tr><th>Item</th><th>Received</th><th class="n">Age</th><th>Team</th>'
            "<th>Kind</th><th>Category</th><th>Customer</th><th>Subject / comment</th><th>Status</th><th>SLA</th>"
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table>{more}</section>')


def _notes(d: Dashboard, config: AppConfig) -> str:
    sla = ", ".join(f"{key} {hours_label(hours)}" for key, hours in sorted(config.schedule.sla_hours.items())) or "none set"
    notes = [
        f"The range is whole days in {d.filters.timezone}; weeks are ISO weeks (Monday to Sunday), and the first "
        "and last may be cut by the range. All teams means the teams in cxloop.toml.",
        "NPS = % promoters − % detractors, over NPS responses only; volume counts every item that passes the "
        "filters.",
        "Open: not resolved (unclaimed or claimed), among the items received in the range. A detractor's age "
        "is the time since it was received.",
        "Median time to claim / resolve: over the items claimed / resolved in the range (whenever they were "
        "received), counted from when each was received: the digest's and the reports' definition.",
        f"SLA breaches: items claimed later than their claim SLA ({sla}), or still unclaimed past it now.",
        "VIP coverage: VIP accounts (of the team's members, when the team lists them) touched within their "
        "cadence, as of the end of the range.",
        "Themes rising and falling: items per theme in the second half of the range against the first half, "
        "the halves split from the week of the range's first item to now.",
        "Category, VIP, theme and owner narrow the items (owner: who holds an item, i.e. who claimed it, or "
        "unclaimed). VIP coverage and the touches export follow team and owner only (by account owner).",
        f"Exports follow the same filters. Ranges of up to "
        f"{MAX_RANGE_DAYS} days; the open-items table shows at most {OPEN_ITEMS_LIMIT:,} rows.",
    ]
    return '<section class="notes"><h2>How these are counted</h2><ul>' + "".join(
        f"<li>{esc(n)}</li>" for n in notes) + "</ul></section>"


def _name(user_id: str | None, names: Mapping[str, str]) -> str:
    return names.get(user_id, user_id) if user_id else "someone"


def _applied(d: Dashboard, names: Mapping[str, str]) -> str:
    """Which filters narrow what the page shows, each by its parameter, and a link that drops them."""
    f = d.filters
    applied = f.applied()
    if not applied:
        return ('<p class="applied muted" id="applied-filters">No filters: every team, kind, category, theme and '
                "owner, VIP or not.</p>")
    applied = [(name, value, f"held by {_name(value, names)}" if name == "owner" and value != UNCLAIMED else text)
               for name, value, text in applied]
    spans = "".join(f'<span class="f" data-filter="{esc(name)}" data-value="{esc(value)}">{esc(text)}</span>'
                    for name, value, text in applied)
    clear = urlencode({"from": f.start.isoformat(), "to": f.end.isoformat()})
    return (f'<p class="applied" id="applied-filters">Filters applied: {spans}'
            f'<a href="/dashboard?{esc(clear)}">clear filters</a></p>')


def segment_table(cut: SegmentCut | None) -> str:
    """`?by=plan|segment|role|tenure|agent`: the range's figures per group (bot.insights.segments)."""
    if cut is None:
        return ""
    rows = cut_rows(cut)
    heads = list(rows[0]) if rows else [cut.by.capitalize(), "Responses"]
    numeric = {"Responses", "NPS", "CSAT", "Resolve"}
    css = {h: ' class="n"' if h in numeric else "" for h in heads}
    head = "".join(f"<th{css[h]}>{esc(h)}</th>" for h in heads)
    body = "".join(f'<tr data-group="{esc(r[heads[0]])}">' + "".join(
        f"<td{css[h]}>{esc(r[h])}</td>" for h in heads) + "</tr>" for r in rows)
    note = "" if rows else '<p class="muted">No responses in this range.</p>'
    return (f'<section><h2>By {esc(cut.by)}</h2><p class="muted">NPS, CSAT (satisfied = 4–5) and responses over '
            "the items received in the range (response counts in brackets); Resolve: median time to resolve "
            f'over the follow-ups resolved in it. Small group: fewer than 5 responses.</p>{note}'
            f'<table id="segments"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>')


def render_dashboard(d: Dashboard, config: AppConfig, names: Mapping[str, str] | None = None,
                     cut: SegmentCut | None = None, counts: CommentCounts | None = None) -> str:
    """The page; `names` maps Slack user ids to people's names (an id without one is shown as is); `cut` the
    `?by=` segment table; `counts` (bot.insights.comments) what the comments are about, each count a link."""
    names = names or {}
    f = d.filters
    query = urlencode(f.query())
    teams = [("", "All teams"), *[(t.name, t.name) for t in config.teams]]
    kinds = [("", "All kinds"), *[(k, KIND_LABELS.get(k, k)) for k in KINDS]]
    categories = [("", "All categories"), *[(c, "unscored" if c == NO_CATEGORY else c) for c in CATEGORY_ORDER]]
    vips = [("", "VIP or not"), ("yes", "VIP only"), ("no", "Not VIP")]
    themes = [("", "All themes"), *[(t, theme_label(t)) for t in sorted(config.themes)]]
    people = sorted(((o, _name(o, names)) for o in d.owners), key=lambda pair: pair[1].casefold())
    owners = [("", "Anyone"), (UNCLAIMED, "Unclaimed"), *people]
    scope = f"{f.team or 'All teams'} · {KIND_LABELS.get(f.kind, 'all kinds') if f.kind else 'all kinds'}"
    if len(f.applied()) > (1 if f.team else 0) + (1 if f.kind else 0):
        scope += " · filtered"
    form = ('<form class="filters" method="get" action="/dashboard">'
            f'{_select("team", "Team", teams, f.team)}{_select("kind", "Kind", kinds, f.kind)}'
            f'{_select("category", "Category", categories, f.category)}'
            f'{_select("vip", "VIP", vips, None if f.vip is None else ("yes" if f.vip else "no"))}'
            f'{_select("theme", "Theme", themes, f.theme)}{_select("owner", "Owner", owners, f.owner)}'
            f'{_select("by", "Cut by", [("", "No cut"), *[(b, b) for b in DIMENSIONS]], cut.by if cut else None)}'
            f'<label>From<input type="date" name="from" value="{f.start.isoformat()}"></label>'
            f'<label>To<input type="date" name="to" value="{f.end.isoformat()}"></label>'
            '<button type="submit">Apply</button>'
            f'<span class="exports">Export CSV: <a href="/dashboard/items.csv?{esc(query)}">items</a>'
            f'<a href="/dashboard/touches.csv?{esc(query)}">touches</a></span>'
            f'<a href="{esc(comments_href(f))}">Read the comments →</a></form>')
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>cxloop dashboard · {esc(scope)}</title><style>{CSS}</style></head><body>"
            f"<header><b>cxloop</b><span>CX dashboard · {esc(scope)}</span>"
            f'<span class="range">{f.start.isoformat()} – {f.end.isoformat()} ({esc(f.timezone)})</span></header>'
            f'<main>{form}{_applied(d, names)}<p class="muted">As of {esc(_local(d.now, f.timezone))} {esc(f.timezone)}. '
            f"Age buckets: {esc(', '.join(label for label, _ in AGE_BUCKETS))}.</p>"
            f"{_figures(d)}{_charts(d)}{_comment_counts(d, counts)}{_topics_section(d)}{segment_table(cut)}{_team_table(d)}{_demand_table(d, config)}{_open_table(d, names)}"
            f"{_notes(d, config)}</main></body></html>")


def render_message(title: str, message: str, hint: str = "") -> str:
    """A small page for refusals (401, 404, 400): what happened and what to do."""
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<header><b>cxloop</b><span>CX dashboard</span></header>"
            f'<main><h2>{esc(title)}</h2><p>{esc(message)}</p>'
            + (f'<p class="muted">{esc(hint)}</p>' if hint else "") + "</main></body></html>")
