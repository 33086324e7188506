"""The daily digest and the weekly / monthly trend reports of a team: aggregate SQL, then text and Block Kit.

Every period is a span of the team's *local* calendar (a day, ISO weeks, months) turned into UTC
instants with zoneinfo, so a DST day is 23 or 25 hours long and an item received at 23:30 local counts
for that local day. Cost follows the size of the period, not of the history:

- items are read by range over the (team, received_at) index: counts are SQL aggregates, and only the
  period's rows are fetched when Python has to look at them (themes, quotes, medians);
- open work is read off follow-ups' status (the `ix_follow_ups_status_claimed_by` index) with each item
  checked by primary key, so it follows the open backlog;
- "claimed / resolved during the day" constrains follow_ups.claimed_at / resolved_at only, with items
  read by primary key: a range read on their indexes (migration 20261122_0004).

Functions take `session` and never commit. Customer text is escaped and truncated before it reaches
mrkdwn; everything else shown is composed here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from bot.common.durations import duration
from bot.common.labels import customer_label, item_label, kind_label, plural, score_label, theme_label
from bot.common.periods import (
    add_months,
    day_before,
    day_label,
    iso_week_label,
    last_days,
    local_span,
    local_today,
    month_label,
    parse_month,
    parse_week,
    range_label,
    window_label,
)
from bot.config import TeamConfig
from bot.followups.queries import listed, most_urgent, unclaimed, unresolved
from bot.followups.triage import ORDER_LABEL
from bot.insights.segments import cut_by, cut_line
from bot.insights.stats import (
    DETRACTOR,
    PASSIVE,
    PROMOTER,
    median_time_to_claim,
    median_time_to_resolve,
    nps,
    nps_score,
    vip_coverage,
)
from bot.insights.topics import (
    WeekTopics,
    ensure_week_topics,
    quoted_in,
    topics_data,
    topics_from_data,
    without_quotes,
)
from bot.product.service import customers_told, shipped_between, team_active_issues
from bot.slack.links import message_link
from bot.slack.mrkdwn import escape_mrkdwn, escaped_truncated, slack_date, truncate, user_mention
from models import FollowUp, Item, SlackMessage
from models.followup import RESOLVED

TOP_THEMES = 5
OLDEST_UNCLAIMED = 5
QUOTE_CHARS = 280
# What is read of a comment: enough for any quote we show, and a 100 000-character comment costs no more.
COMMENT_FETCH_CHARS = 2000
TREND_WEEKS = 8
TREND_MONTHS = 6
THEME_MOVERS = 3
FALLBACK_MAX = 300
SECTION_MAX = 3000

_WHITESPACE_RE = re.compile(r"\s+")


# --- periods ---------------------------------------------------------------------------------------


def digest_window(team: TeamConfig, day: date) -> tuple[datetime, datetime]:
    """The team-local calendar day [00:00, 24:00) as UTC datetimes (23 or 25 hours on a DST change)."""
    return local_span(day, day + timedelta(days=1), team.timezone)


# --- small helpers ---------------------------------------------------------------------------------


def _one_line(text: str | None) -> str:
    return _WHITESPACE_RE.sub(" ", text or "").strip()


def _signed(value: int | None) -> str:
    return "n/a" if value is None else f"{value:+d}"


def nps_change(current: int | None, previous: int | None, against: str) -> str:
    """ "▲ 5 points above the 7 days before (+35)", "▼ 45 points below … (+40)", "no change vs … (+40)":
    the change in points and the earlier NPS, so "-45" is never read as the earlier score; "" when either
    side has no NPS."""
    if current is None or previous is None:
        return ""
    delta = current - previous
    if delta == 0:
        return f"no change vs {against} ({previous:+d})"
    points = "point" if abs(delta) == 1 else "points"
    return f"{'▲' if delta > 0 else '▼'} {abs(delta)} {points} {'above' if delta > 0 else 'below'} {against} ({previous:+d})"



def _count_themes(rows) -> Counter[str]:
    """Items per theme (a theme listed twice on one item counts once)."""
    counts: Counter[str] = Counter()
    for themes in rows:
        counts.update({theme for theme in (themes or []) if isinstance(theme, str)})
    return counts


# --- the daily digest ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    item_id: int
    text: str            # the comment (raw; at most COMMENT_FETCH_CHARS): escape and truncate to show it
    who: str             # "Maya Chen (Acme)" (raw)
    score: int | None
    kind: str


@dataclass(frozen=True)
class ItemRef:
    item_id: int
    label: str           # "NPS 3 · Detractor — Maya Chen (Acme)" (raw; bot.common.labels.item_label)
    link: str | None     # the item's Slack message, when it was posted
    received_at: datetime


@dataclass(frozen=True)
class DailyDigest:
    """One team's local day, as posted the next morning.

    - `responses_by_kind`: items received that day, by kind (escalations included).
    - `nps_*`: over NPS responses received in the day / the 7 local days ending with it / the 7 before.
    - `detractors_new`: items received that day whose category is detractor (any survey kind).
    - `detractors_claimed` / `detractors_resolved`: this team's detractor follow-ups whose claimed_at /
      resolved_at falls in the day, whenever the item arrived (a resolve without a claim claims too).
    - `detractors_open`: this team's detractor items received before the cutoff (the end of the day,
      or `now` if earlier) whose follow-up was not resolved at the cutoff: still open or claimed now, or
      resolved at or after the cutoff. Judged from the follow-up as it is now (a reopened one counts
      as open; an unclaim or reopen leaves no earlier timestamps to replay).
    - `median_claim_minutes`: over this team's follow-ups claimed in the day: claimed_at - received_at;
      `median_resolve_minutes` likewise over those resolved in the day: resolved_at - received_at.
    - `top_themes`: items of the day per theme, top 5 (most items first, then by name).
    - `critical_quote` / `glowing_quote`: the day's commented detractor with the lowest sentiment
      polarity / commented promoter with the highest (ties: the earlier one).
    - `oldest_unclaimed` (a stored name): up to 5 of this team's items whose follow-up is open now, most
      urgent first (bot.followups.triage: escalations by severity, VIP detractors, detractors, passives, promoters,
      each oldest first); `unclaimed_total`: all of them (0 in digests stored before it was counted).
    - `top_closer`: who resolved the most of this team's items that day (ties: lowest user id).
    - `claimed_total` / `resolved_total`: all of this team's follow-ups claimed / resolved that day.
    - `customers_told`: this team's linked items whose customer was told that day that their issue shipped;
      `shipped`: issues linked to this team's feedback that shipped that day, each with the days from its
      first linked feedback to shipped (bot.product.service.days_to_ship, as the dashboard counts it).
    """

    team: str
    day: date
    responses_by_kind: dict[str, int]
    nps_day: int | None
    nps_day_count: int
    nps_7d: int | None
    nps_prev_7d: int | None
    detractors_new: int
    detractors_claimed: int
    detractors_resolved: int
    detractors_open: int
    median_claim_minutes: float | None
    median_resolve_minutes: float | None
    top_themes: list[tuple[str, int]]
    critical_quote: Quote | None
    glowing_quote: Quote | None
    oldest_unclaimed: list[ItemRef]
    top_closer: tuple[str, int] | None
    claimed_total: int = 0
    resolved_total: int = 0
    timezone: str = "UTC"
    nps_7d_count: int = 0
    unclaimed_total: int = 0
    customers_told: int = 0
    shipped: list[tuple[str, float]] = field(default_factory=list)  # (mrkdwn link, days to ship)

    @property
    def responses(self) -> int:
        return sum(self.responses_by_kind.values())

    @property
    def quiet(self) -> bool:
        """No responses and no claims or resolutions that day."""
        return (not self.responses and not self.claimed_total and not self.resolved_total
                and not self.customers_told and not self.shipped)


def _pick_quote(rows, category: str, most_negative: bool) -> Quote | None:
    candidates = [row for row in rows if row.category == category and (row.comment or "").strip()]
    if not candidates:
        return None
    sign = 1 if most_negative else -1
    best = min(candidates, key=lambda row: (sign * (row.sentiment_polarity or 0.0), row.received_at, row.id))
    who = customer_label(best.customer_name, best.customer_email, best.account_name)
    return Quote(item_id=best.id, text=best.comment.strip(), who=who, score=best.score, kind=best.kind)


def _most_urgent_unclaimed(session: Session, team: str) -> tuple[int, list]:
    """(how many of this team's items are unclaimed now, the first OLDEST_UNCLAIMED of them in triage
    order, with their Slack message if posted)."""
    return most_urgent(session, listed(
        Item.id, Item.kind, Item.score, Item.category, Item.priority, Item.vip, Item.customer_name,
        Item.customer_email, Item.account_name, Item.subject, Item.received_at, SlackMessage.channel,
        SlackMessage.ts).where(*unclaimed([team])), OLDEST_UNCLAIMED)


def build_daily_digest(session: Session, *, team: TeamConfig, day: date, now: datetime) -> DailyDigest:
    """The digest of `team` for its local `day` (see DailyDigest for what each number counts)."""
    start, end = digest_window(team, day)
    cutoff = min(end, now)
    team_items = (Item.team == team.name,)
    in_day = (*team_items, Item.received_at >= start, Item.received_at < end)

    # The day's items: one indexed range, bounded by the day's volume.
    items = session.execute(
        select(Item.id, Item.kind, Item.score, Item.category, Item.customer_name, Item.customer_email,
               Item.account_name, Item.sentiment_polarity, Item.themes, Item.received_at,
               func.substr(Item.comment, 1, COMMENT_FETCH_CHARS).label("comment"))
        .where(*in_day)).all()
    by_kind = Counter(row.kind for row in items)
    nps_day = nps(session, in_day)
    week_start, _ = last_days(day, 7, team.timezone)
    prev_start, _ = last_days(day - timedelta(days=7), 7, team.timezone)
    nps_7d = nps(session, (Item.team == team.name, Item.received_at >= week_start, Item.received_at < end))
    nps_prev_7d = nps(session, (Item.team == team.name, Item.received_at >= prev_start, Item.received_at < week_start))

    # Follow-up activity since the day began, all teams: claimed during the day, or resolved during it
    # or since (which also tells the detractors still unresolved at the cutoff). Only follow_ups columns
    # are constrained, so the scan is over follow_ups (their claimed_at / resolved_at indexes, if any)
    # and items are read by primary key; the team is checked here.
    activity = [row for row in session.execute(
        select(FollowUp.status, FollowUp.claimed_at, FollowUp.resolved_at, FollowUp.resolved_by,
               Item.team, Item.category, Item.received_at)
        .join(Item, Item.id == FollowUp.item_id)
        .where(or_(and_(FollowUp.claimed_at >= start, FollowUp.claimed_at < end), FollowUp.resolved_at >= start))
    ) if row.team == team.name]
    claimed = [row for row in activity if row.claimed_at is not None and start <= row.claimed_at < end]
    resolved = [row for row in activity if row.resolved_at is not None and start <= row.resolved_at < end]
    resolved_after_cutoff = sum(1 for row in activity if row.status == RESOLVED and row.category == DETRACTOR
                                and row.received_at < cutoff and row.resolved_at >= cutoff)
    # Unresolved now: read off the status index (the backlog), each item checked by primary key.
    backlog = session.scalar(
        select(func.count()).select_from(FollowUp)
        .where(*unresolved(),
               exists().where(Item.id == FollowUp.item_id, Item.team == team.name, Item.category == DETRACTOR,
                              Item.received_at < cutoff))) or 0
    closers = Counter(row.resolved_by for row in resolved if row.resolved_by)
    top_closer = min(closers.items(), key=lambda kv: (-kv[1], kv[0])) if closers else None
    unclaimed_total, oldest = _most_urgent_unclaimed(session, team.name)

    themes = _count_themes(row.themes for row in items)
    return DailyDigest(
        team=team.name, day=day, responses_by_kind=dict(sorted(by_kind.items())),
        nps_day=nps_day.score, nps_day_count=nps_day.responses, nps_7d=nps_7d.score, nps_prev_7d=nps_prev_7d.score,
        detractors_new=sum(row.category == DETRACTOR for row in items),
        detractors_claimed=sum(row.category == DETRACTOR for row in claimed),
        detractors_resolved=sum(row.category == DETRACTOR for row in resolved),
        detractors_open=int(backlog) + resolved_after_cutoff,
        median_claim_minutes=median_time_to_claim(session, start=start, end=end, where=team_items).minutes,
        median_resolve_minutes=median_time_to_resolve(session, start=start, end=end, where=team_items).minutes,
        top_themes=sorted(themes.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_THEMES],
        critical_quote=_pick_quote(items, DETRACTOR, most_negative=True),
        glowing_quote=_pick_quote(items, PROMOTER, most_negative=False),
        oldest_unclaimed=[
            ItemRef(item_id=row.id, label=item_label(row),
                    link=message_link(row.channel, row.ts) if row.ts else None, received_at=row.received_at)
            for row in oldest],
        top_closer=top_closer, claimed_total=len(claimed), resolved_total=len(resolved),
        timezone=team.timezone, nps_7d_count=nps_7d.responses, unclaimed_total=unclaimed_total,
        customers_told=customers_told(session, team=team.name, start=start, end=end),
        shipped=shipped_between(session, team=team.name, start=start, end=end),
    )


def _responses_line(d: DailyDigest) -> str:
    if not d.responses:
        return "no new responses"
    return f"{d.responses} (" + ", ".join(f"{kind_label(k)} {n}" for k, n in d.responses_by_kind.items()) + ")"


def _nps_today(d: DailyDigest) -> str:
    if d.nps_day is None:
        return "no NPS responses"
    return f"{d.nps_day:+d} ({plural(d.nps_day_count, 'response')})"


def _nps_week(d: DailyDigest) -> str:
    if d.nps_7d is None:
        return "no NPS responses"
    text = f"{d.nps_7d:+d} ({plural(d.nps_7d_count, 'response')})"
    change = nps_change(d.nps_7d, d.nps_prev_7d, "the 7 days before")
    return f"{text}, {change}" if change else f"{text}; no NPS responses in the 7 days before"


def _week_window(d: DailyDigest) -> str:
    return window_label(d.day - timedelta(days=6), d.day)


def _quiet_line(d: DailyDigest) -> str:
    return f"Quiet day for {d.team}: no new responses, nothing claimed or resolved."


def _local(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def digest_text(d: DailyDigest) -> str:
    """The digest as plain text for the command line."""
    head = f"Daily digest for {d.team}: {d.day:%A %d %B %Y} ({d.timezone})"
    if d.quiet:
        return "\n".join([head, _quiet_line(d), *_unclaimed_text_lines(d)])
    lines = [
        head,
        f"Responses: {_responses_line(d)}",
        f"NPS {day_label(d.day)}: {_nps_today(d)}",
        f"NPS {_week_window(d)}: {_nps_week(d)}",
        f"Detractors: {d.detractors_new} new, {d.detractors_claimed} claimed, {d.detractors_resolved} resolved, "
        f"{d.detractors_open} still open at end of day",
        f"Claimed: {d.claimed_total}, resolved: {d.resolved_total}",
        f"Median time to claim: {duration(d.median_claim_minutes)}; "
        f"to resolve: {duration(d.median_resolve_minutes)}",
        "Top themes: " + (", ".join(f"{theme_label(t)} {n}" for t, n in d.top_themes) or "none"),
    ]
    if product := _product_line(d):
        lines.append(product)
    for title, quote in (("Critical", d.critical_quote), ("Glowing", d.glowing_quote)):
        if quote is not None:
            lines.append(f"{title}: \u201c{truncate(_one_line(quote.text), QUOTE_CHARS)}\u201d \u2014 {quote.who} "
                         f"({score_label(quote.kind, quote.score)}, #{quote.item_id})")
    lines.append(f"Top closer: {d.top_closer[0]} ({plural(d.top_closer[1], 'resolution')})"
                 if d.top_closer else "Top closer: nobody resolved anything")
    lines.extend(_unclaimed_text_lines(d) or ["Unclaimed: nothing unclaimed"])
    return "\n".join(lines)


def _product_line(d: DailyDigest) -> str:
    """ "Product loop: 2 customers told their issue shipped; shipped: <url|acme/app#42> (12.5 days from
    feedback to shipped)"; "" on a day with neither (or without trackers). Links are trusted mrkdwn."""
    if not d.customers_told and not d.shipped:
        return ""
    parts = [f"{plural(d.customers_told, 'customer')} told their issue shipped"]
    if d.shipped:
        parts.append("shipped: " + ", ".join(f"{link} ({days:.1f} days from feedback to shipped)"
                                             for link, days in d.shipped))
    return "Product loop: " + "; ".join(parts)


def _unclaimed_text_lines(d: DailyDigest) -> list[str]:
    """What waits for a claim. A quiet day shows it too: the queue does not empty itself overnight."""
    if not d.oldest_unclaimed:
        return []
    lines = [f"{_unclaimed_heading(d)}:"]
    for ref in d.oldest_unclaimed:
        lines.append(f"  #{ref.item_id} {ref.label} \u2014 received {_local(ref.received_at, d.timezone)}"
                     + (f" \u2014 {ref.link}" if ref.link else ""))
    if more := _unclaimed_more(d):
        lines.append(f"  {more}")
    return lines


def _unclaimed_heading(d: DailyDigest) -> str:
    count = f" ({d.unclaimed_total})" if d.unclaimed_total else ""
    return f"Unclaimed{count}, {ORDER_LABEL}"


def _unclaimed_more(d: DailyDigest) -> str | None:
    more = d.unclaimed_total - len(d.oldest_unclaimed)
    if more <= 0:
        return None
    return f"\u2026 and {more} more: `/cxloop open` in this channel lists them, the dashboard lists them all"


def _section(block_id: str, text: str) -> dict:
    return {"type": "section", "block_id": block_id,
            "text": {"type": "mrkdwn", "text": truncate(text, SECTION_MAX) or " "}}


def _header(text: str, block_id: str = "cx_digest_header") -> dict:
    return {"type": "header", "block_id": block_id,
            "text": {"type": "plain_text", "text": truncate(text, 150), "emoji": True}}


def _quote_block(block_id: str, title: str, quote: Quote) -> dict:
    body = escaped_truncated(_one_line(quote.text), QUOTE_CHARS)
    who = escaped_truncated(quote.who, 120)
    return _section(block_id, f"*{title}*\n> {body}\n\u2014 {who} · {score_label(quote.kind, quote.score)}")


def _unclaimed_block(d: DailyDigest) -> dict | None:
    if not d.oldest_unclaimed:
        return None
    lines = [f"*{_unclaimed_heading(d)}*"]
    for ref in d.oldest_unclaimed:
        label = escaped_truncated(ref.label, 80)
        if ref.link:
            label = f"<{ref.link}|{label}>"
        lines.append(f"• {label} — received {slack_date(ref.received_at, '{date_short_pretty}', timezone=d.timezone)}")
    if more := _unclaimed_more(d):
        lines.append(more)
    return _section("cx_digest_unclaimed", "\n".join(lines))


def digest_message(d: DailyDigest) -> tuple[str, list[dict]]:
    """(fallback text, blocks) for the team channel; a quiet day is one short line and what still waits."""
    if d.quiet:
        line = _quiet_line(d)
        blocks = [_section("cx_digest_quiet", escape_mrkdwn(line))]
        if unclaimed := _unclaimed_block(d):
            blocks.append(unclaimed)
        return line, blocks
    team = escape_mrkdwn(d.team)
    fallback = (f"Daily digest for {d.team}, {d.day:%a %d %b}: {plural(d.responses, 'response')}, "
                f"NPS {_signed(d.nps_day)}, {d.detractors_new} new detractor{'s' if d.detractors_new != 1 else ''}, "
                f"{d.detractors_open} open")
    blocks: list[dict] = [_header(f"📬 Daily digest · {d.team} · {d.day:%a %d %b %Y}")]
    week = (f"*NPS {_week_window(d)}:* {escape_mrkdwn(_nps_week(d))}")
    blocks.append(_section("cx_digest_nps", "\n".join([
        f"*NPS {day_label(d.day)}:* {_nps_today(d)}", week, f"*Responses:* {escape_mrkdwn(_responses_line(d))}"])))
    blocks.append({"type": "section", "block_id": "cx_digest_work", "fields": [
        {"type": "mrkdwn", "text": f"*Detractors*\n{d.detractors_new} new · {d.detractors_claimed} claimed · "
                                   f"{d.detractors_resolved} resolved\n*{d.detractors_open} still open* at end of day"},
        {"type": "mrkdwn", "text": f"*Median time*\nto claim {duration(d.median_claim_minutes)} · "
                                   f"to resolve {duration(d.median_resolve_minutes)}\n"
                                   f"{d.claimed_total} claimed · {d.resolved_total} resolved"},
    ]})
    if d.top_themes:
        themes = " · ".join(f"{escaped_truncated(theme_label(t), 60)} ({n})" for t, n in d.top_themes)
        blocks.append(_section("cx_digest_themes", f"*Top themes:* {themes}"))
    if product := _product_line(d):
        blocks.append(_section("cx_digest_product", f"🚀 {product}"))
    if d.critical_quote:
        blocks.append(_quote_block("cx_digest_critical", "🔴 Most critical", d.critical_quote))
    if d.glowing_quote:
        blocks.append(_quote_block("cx_digest_glowing", "🟢 Most glowing", d.glowing_quote))
    if unclaimed := _unclaimed_block(d):
        blocks.append(unclaimed)
    footer = [f"Team {team} · local day in {escape_mrkdwn(d.timezone)}"]
    if d.top_closer:
        footer.insert(0, f"🏆 Top closer: {user_mention(d.top_closer[0])} "
                         f"({plural(d.top_closer[1], 'resolution')})")
    blocks.append({"type": "context", "block_id": "cx_digest_footer",
                   "elements": [{"type": "mrkdwn", "text": truncate(" · ".join(footer), 2000)}]})
    return escaped_truncated(fallback, FALLBACK_MAX), blocks


# --- the digest as stored data, so erasure can re-render it ----------------------------------------

DIGEST_RENDERER = "digest"


def quoted_items(d: DailyDigest) -> list[int]:
    """The items whose customer data (comment, name, e-mail, subject) the digest shows."""
    quotes = [q.item_id for q in (d.critical_quote, d.glowing_quote) if q is not None]
    return quotes + [ref.item_id for ref in d.oldest_unclaimed]


def digest_data(d: DailyDigest) -> dict:
    """JSON-safe: stored with the posted digest, so its figures stay as posted when it is re-rendered."""
    data = asdict(d)
    data["day"] = d.day.isoformat()
    data["oldest_unclaimed"] = [{**asdict(ref), "received_at": ref.received_at.isoformat()}
                                for ref in d.oldest_unclaimed]
    return data


def digest_from_data(data: dict) -> DailyDigest:
    def quote(value: dict | None) -> Quote | None:
        return Quote(**value) if value else None

    return DailyDigest(**{
        **data, "day": date.fromisoformat(data["day"]),
        "top_themes": [tuple(pair) for pair in data["top_themes"]],
        "critical_quote": quote(data["critical_quote"]), "glowing_quote": quote(data["glowing_quote"]),
        "oldest_unclaimed": [ItemRef(**{**ref, "received_at": datetime.fromisoformat(ref["received_at"])})
                             for ref in data["oldest_unclaimed"]],
        "top_closer": tuple(data["top_closer"]) if data["top_closer"] else None,
        "shipped": [tuple(pair) for pair in data.get("shipped") or []],
    })


def without_items(d: DailyDigest, labels: dict[int, str], erased: str) -> DailyDigest:
    """The digest with the quotes of the items in `labels` replaced by `erased`, and their lines in the
    unclaimed list relabelled (`labels`: item id → its label from the erased data)."""
    def quote(value: Quote | None) -> Quote | None:
        return replace(value, text=erased, who=erased) if value and value.item_id in labels else value

    return replace(d, critical_quote=quote(d.critical_quote), glowing_quote=quote(d.glowing_quote),
                   oldest_unclaimed=[replace(ref, label=labels[ref.item_id]) if ref.item_id in labels else ref
                                     for ref in d.oldest_unclaimed])


# --- trend reports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodStats:
    """One week or month. Counts are of items received in it; D/P/P and NPS are of its NPS responses;
    the median claim is over the follow-ups claimed in it (bot.insights.stats.median_time_to_claim)."""

    label: str
    start: datetime
    end: datetime
    volume: int
    nps: int | None
    nps_count: int
    detractors: int
    passives: int
    promoters: int
    median_claim_minutes: float | None


@dataclass(frozen=True)
class TrendReport:
    """The last period and the ones before it, oldest first, in the team's timezone.

    `themes_rising` / `themes_falling`: (theme, items this period, items the period before), the three
    with the largest rise / fall. `vip_total`: VIP accounts (owned by a member of the team, or all of
    them if the team lists no members) that existed at the cutoff (the period's end, or `now` if
    earlier); `vip_touched_within_cadence`: those whose last touch at or before the cutoff is at most
    `cadence_days` old then (bot.insights.stats.vip_coverage); `vip_as_of`: that cutoff.
    """

    team: str
    kind: Literal["weekly", "monthly"]
    period: str
    periods: list[PeriodStats]
    themes_rising: list[tuple[str, int, int]]
    themes_falling: list[tuple[str, int, int]]
    vip_total: int
    vip_touched_within_cadence: int
    timezone: str = "UTC"
    vip_as_of: datetime | None = None
    # Open tracker issues the team's feedback is linked to, most customers first (bot.product.service).
    active_issues: tuple[str, ...] = ()
    # The week's discovered topics (weekly reports; bot.insights.topics), computed on demand if missing.
    topics: WeekTopics | None = None
    # Weekly reports: the last week cut by plan (bot.insights.segments), one line.
    by_plan: str | None = None

    @property
    def vip_coverage(self) -> float | None:
        return self.vip_touched_within_cadence / self.vip_total if self.vip_total else None

    @property
    def current(self) -> PeriodStats:
        return self.periods[-1]


def _period_stats(session: Session, team: str, label: str, start: datetime, end: datetime) -> PeriodStats:
    scope = (Item.team == team, Item.received_at >= start, Item.received_at < end)
    rows = session.execute(select(Item.kind, Item.category, func.count()).where(*scope)
                           .group_by(Item.kind, Item.category)).all()
    nps = {category: count for kind, category, count in rows if kind == "nps"}
    detractors, passives, promoters = (int(nps.get(c, 0)) for c in (DETRACTOR, PASSIVE, PROMOTER))
    nps_count = int(sum(nps.values()))
    claim = median_time_to_claim(session, start=start, end=end, where=(Item.team == team,))
    return PeriodStats(label=label, start=start, end=end, volume=int(sum(count for *_, count in rows)),
                       nps=nps_score(promoters, detractors, nps_count), nps_count=nps_count,
                       detractors=detractors, passives=passives, promoters=promoters,
                       median_claim_minutes=claim.minutes)


def _theme_movers(session: Session, team: str, previous: PeriodStats, current: PeriodStats
                  ) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    rows = session.execute(select(Item.received_at, Item.themes).where(
        Item.team == team, Item.received_at >= previous.start, Item.received_at < current.end)).all()
    now_counts = _count_themes(themes for received_at, themes in rows if received_at >= current.start)
    before_counts = _count_themes(themes for received_at, themes in rows if received_at < current.start)
    moves = [(theme, now_counts[theme], before_counts[theme]) for theme in set(now_counts) | set(before_counts)]
    rising = sorted((m for m in moves if m[1] > m[2]), key=lambda m: (m[2] - m[1], -m[1], m[0]))
    falling = sorted((m for m in moves if m[1] < m[2]), key=lambda m: (m[1] - m[2], -m[2], m[0]))
    return rising[:THEME_MOVERS], falling[:THEME_MOVERS]


def _build_report(session: Session, *, team: TeamConfig, kind: Literal["weekly", "monthly"], period: str,
                  spans: list[tuple[str, date, date]], now: datetime) -> TrendReport:
    periods = [_period_stats(session, team.name, label, *local_span(first, after, team.timezone))
               for label, first, after in spans]
    rising, falling = _theme_movers(session, team.name, periods[-2], periods[-1])
    coverage = vip_coverage(session, owners=list(team.members) or None, as_of=min(periods[-1].end, now))
    return TrendReport(team=team.name, kind=kind, period=period, periods=periods, themes_rising=rising,
                       themes_falling=falling, vip_total=coverage.total, vip_touched_within_cadence=coverage.touched,
                       timezone=team.timezone, vip_as_of=coverage.as_of,
                       active_issues=team_active_issues(session, team=team.name),
                       by_plan=_by_plan(session, team.name, periods[-1]) if kind == "weekly" else None)


def _by_plan(session: Session, team: str, period: PeriodStats) -> str:
    return cut_line(cut_by(session, by="plan", start=period.start, end=period.end, where=(Item.team == team,)))


def build_weekly_report(session: Session, *, team: TeamConfig, week: str, now: datetime) -> TrendReport:
    """The 8 ISO weeks ending with `week` ("2026-W47"), in the team's timezone."""
    monday = parse_week(week)
    spans = []
    for back in range(TREND_WEEKS - 1, -1, -1):
        first = monday - timedelta(weeks=back)
        spans.append((iso_week_label(first), first, first + timedelta(days=7)))
    report = _build_report(session, team=team, kind="weekly", period=iso_week_label(monday), spans=spans, now=now)
    return replace(report, topics=ensure_week_topics(session, week=report.period, team=team.name, teams=[team.name],
                                                     timezone=team.timezone, now=now))


def build_monthly_report(session: Session, *, team: TeamConfig, month: str, now: datetime) -> TrendReport:
    """The 6 calendar months ending with `month` ("2026-11"), in the team's timezone."""
    first_of_month = parse_month(month)
    spans = []
    for back in range(TREND_MONTHS - 1, -1, -1):
        first = add_months(first_of_month, -back)
        spans.append((month_label(first), first, add_months(first, 1)))
    return _build_report(session, team=team, kind="monthly", period=month_label(first_of_month),
                         spans=spans, now=now)


def _table(r: TrendReport) -> str:
    head = "Week" if r.kind == "weekly" else "Month"
    rows = [f"{head:<9} {'Items':>6} {'NPS':>5} {'D/P/P':>11} {'Claim':>8}"]
    for p in r.periods:
        dpp = f"{p.detractors}/{p.passives}/{p.promoters}"
        rows.append(f"{p.label:<9} {p.volume:>6} {_signed(p.nps):>5} {dpp:>11} "
                    f"{duration(p.median_claim_minutes):>8}")
    return "\n".join(rows)


def _headline(r: TrendReport) -> str:
    cur = r.current
    unit = "week" if r.kind == "weekly" else "month"
    previous = r.periods[-2] if len(r.periods) > 1 else None
    nps = (f"NPS {cur.nps:+d} from {plural(cur.nps_count, 'response')}" if cur.nps is not None
           else "no NPS responses")
    change = nps_change(cur.nps, previous.nps, previous.label) if previous else ""
    return f"{nps}{f' ({change})' if change else ''}; {plural(cur.volume, 'item')} this {unit}"


def _movers(movers: list[tuple[str, int, int]]) -> str:
    return ", ".join(f"{theme_label(t)} {now} (from {before})" for t, now, before in movers) or "none"


def _vip_line(r: TrendReport) -> str:
    as_of = f" as of {day_label(day_before(r.vip_as_of, r.timezone))}" if r.vip_as_of else ""
    if r.vip_coverage is None:
        return f"no VIP accounts{as_of}"
    return f"{round(100 * r.vip_coverage)}% of {r.vip_total} VIP{'s' if r.vip_total != 1 else ''} " \
           f"touched within cadence{as_of}"


def _period_window(r: TrendReport) -> str:
    """ "2026-W47, 16 Nov – 22 Nov 2026" """
    cur = r.current
    return f"{r.period}, {range_label(local_today(cur.start, r.timezone), day_before(cur.end, r.timezone))}"


def report_text(r: TrendReport) -> str:
    """The report as plain text for the command line."""
    title = "Weekly" if r.kind == "weekly" else "Monthly"
    return "\n".join([
        f"{title} report for {r.team}: {_period_window(r)} ({r.timezone})",
        _headline(r),
        "",
        _table(r),
        "",
        f"Rising themes: {_movers(r.themes_rising)}",
        f"Falling themes: {_movers(r.themes_falling)}",
        f"VIP coverage: {_vip_line(r)}",
        *_topics_text(r),
        *([f"By plan: {r.by_plan}"] if r.by_plan else []),
    ])


def report_message(r: TrendReport) -> tuple[str, list[dict]]:
    """(fallback text, blocks): the trend table is in the message, so it reads without the chart."""
    title = "Weekly" if r.kind == "weekly" else "Monthly"
    fallback = f"{title} report for {r.team}, {_period_window(r)}: {_headline(r)}; VIP coverage: {_vip_line(r)}."
    movers = "\n".join([f"*Rising themes:* {escaped_truncated(_movers(r.themes_rising), 900)}",
                        f"*Falling themes:* {escaped_truncated(_movers(r.themes_falling), 900)}"])
    unit = "ISO weeks" if r.kind == "weekly" else "Calendar months"
    blocks = [
        _header(f"📈 {title} report · {r.team} · {_period_window(r)}", "cx_report_header"),
        _section("cx_report_headline", escape_mrkdwn(_headline(r))),
        _section("cx_report_table", f"```\n{escape_mrkdwn(_table(r))}\n```"),
        _section("cx_report_themes", movers),
        _section("cx_report_vip", f"*VIP coverage:* {escape_mrkdwn(_vip_line(r))}"),
        *([_section("cx_report_by_plan", f"*By plan:* {escaped_truncated(r.by_plan, 2900)}")] if r.by_plan else []),
        *([_section("cx_report_issues", truncate("🐞 *Active issues related to customer feedback:* "
                                                 + " · ".join(r.active_issues), 2900))] if r.active_issues else []),
        *_topics_blocks(r),
        {"type": "context", "block_id": "cx_report_footer", "elements": [{"type": "mrkdwn", "text": truncate(
            f"{unit} in {escape_mrkdwn(r.timezone)}. D/P/P: NPS detractors / passives / promoters. "
            "Claim: median time from arrival to claim over the items claimed in the period.", 2000)}]},
    ]
    return escaped_truncated(fallback, FALLBACK_MAX), blocks


# --- topics this week (weekly reports) -------------------------------------------------------------

REPORT_RENDERER = "report"
TOPICS_NOT_COMPUTED = "not computed for this week"


def _topics_text(r: TrendReport) -> list[str]:
    if r.kind != "weekly":
        return []
    t = r.topics
    if t is None or not t.topics:
        return ["", f"Topics this week: {t.note if t and t.note else TOPICS_NOT_COMPUTED}"]
    lines = ["", f"Topics this week: {t.explanation}"]
    for line in t.topics:
        lines.append(f"  {line.rank}. {line.label}: {line.summary}")
        if line.quote:
            lines.append(f"     \u201c{truncate(_one_line(line.quote.text), QUOTE_CHARS)}\u201d \u2014 "
                         f"{line.quote.who} ({line.quote.score}, #{line.quote.item_id})")
    return lines


def _topics_blocks(r: TrendReport) -> list[dict]:
    """ "Topics this week": one section per topic (label, count, trend, its most representative quote)."""
    if r.kind != "weekly":
        return []
    t = r.topics
    if t is None or not t.topics:
        why = t.note if t and t.note else TOPICS_NOT_COMPUTED
        return [_section("cx_report_topics", f"*Topics this week:* {escape_mrkdwn(why)}")]
    blocks = [_section("cx_report_topics", f"*Topics this week* · {escape_mrkdwn(t.explanation)}")]
    for line in t.topics:
        text = f"*{escaped_truncated(line.label, 200)}* — {escape_mrkdwn(line.summary)}"
        if line.quote:
            who = escaped_truncated(line.quote.who, 120)
            if line.quote.link:
                who = f"<{line.quote.link}|{who}>"
            text += (f"\n> {escaped_truncated(_one_line(line.quote.text), QUOTE_CHARS)}\n"
                     f"\u2014 {who} · {escape_mrkdwn(line.quote.score)}")
        blocks.append(_section(f"cx_report_topic_{line.rank}", text))
    return blocks


def report_quoted_items(r: TrendReport) -> list[int]:
    """The items whose customer data the report shows: its topics' quotes."""
    return quoted_in(r.topics)


def report_data(r: TrendReport) -> dict:
    """JSON-safe: stored with the posted report, so `cxloop forget` can re-render it as posted."""
    data = asdict(r)
    data["periods"] = [{**asdict(p), "start": p.start.isoformat(), "end": p.end.isoformat()} for p in r.periods]
    data["vip_as_of"] = r.vip_as_of.isoformat() if r.vip_as_of else None
    data["topics"] = topics_data(r.topics)
    return data


def report_from_data(data: dict) -> TrendReport:
    return TrendReport(**{
        **data,
        "periods": [PeriodStats(**{**p, "start": datetime.fromisoformat(p["start"]),
                                   "end": datetime.fromisoformat(p["end"])}) for p in data["periods"]],
        "themes_rising": [tuple(m) for m in data["themes_rising"]],
        "themes_falling": [tuple(m) for m in data["themes_falling"]],
        "vip_as_of": datetime.fromisoformat(data["vip_as_of"]) if data.get("vip_as_of") else None,
        "active_issues": tuple(data.get("active_issues") or ()),
        "topics": topics_from_data(data.get("topics")),
    })


def report_without_items(r: TrendReport, item_ids: set[int]) -> TrendReport:
    """The report with the topic quotes of `item_ids` left out (their customer was forgotten)."""
    return replace(r, topics=without_quotes(r.topics, item_ids))
