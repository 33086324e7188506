"""The comments behind the dashboard's numbers: which items a count counts, listed a page at a time.

Every count on the dashboard (a theme, a sentiment, a kind, a category, the figures and the per-team
columns) links to `/dashboard/comments` with the dashboard's own filters plus what the count adds
(`theme=billing`, `status=open`, …). The list applies exactly the dashboard's clauses
(bot.insights.dashboard.item_scope) and then the comment filters below, so a count and its list are
one definition: the list is as long as the number that links to it.

Comment filters beyond the dashboard's are declared once, in COMMENT_FILTERS: a GET parameter, how to
read its value (FilterError for a bad one), the WHERE clause it adds and how the page says it. A new
filter (e.g. discovered topics) is one more entry there; the page, the links, the CSV and the 400s
follow. Clauses may use FollowUp: every query here joins it.

Erased customers stay erased: erasure (bot.privacy.erasure) overwrites the stored text, and nothing
here reads anything else. Functions take `session` and never commit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.common.labels import customer_label
from bot.common.vocabulary import KINDS, SENTIMENT_DISPLAY
from bot.config import AppConfig
from bot.followups.queries import unresolved
from bot.insights.dashboard import (
    CATEGORY_ORDER,
    NO_CATEGORY,
    FilterError,
    Filters,
    checked_filters,
    export_item_rows,
    item_scope,
)
from bot.insights.stats import sla_breach_clause
from bot.slack.links import message_link
from models import FollowUp, Item, SlackMessage
from models.followup import CLAIMED, OPEN, RESOLVED
from models.topic import TopicMember

PATH = "/dashboard/comments"
CSV_PATH = "/dashboard/comments.csv"
PAGE_SIZE = 50
# A comment is shown up to this many characters on the page (the CSV has it whole).
SHOWN_CHARS = 1_000
MAX_SEARCH_CHARS = 200
NO_SENTIMENT = "none"  # items without a comment (or not analysed before sentiment was stored)
SENTIMENTS = (*SENTIMENT_DISPLAY, NO_SENTIMENT)
# "open" is the dashboard's "Open items": not resolved, and waiting for someone (claimed, or unclaimed and
# needing a follow-up). The others are the follow-up's own state.
STATUSES = ("open", "unclaimed", "claimed", "resolved")
SLA_VALUES = ("breached",)


def _topic_id(value: str) -> int:
    value = value.strip()
    if not value.isdigit() or not 0 < int(value) < 2**31:
        raise FilterError(f"topic: expected a topic number from the dashboard's Topics, got {value[:64]!r}")
    return int(value)


def _choice(name: str, value: str, choices: Sequence[str]) -> str:
    value = value.strip().lower()
    if value not in choices:
        raise FilterError(f"{name}: unknown {name} {value[:64]!r} ({name} is one of: {', '.join(choices)}; "
                          "leave it empty for all)")
    return value


def _search(value: str) -> str:
    value = " ".join(value.split())
    if len(value) > MAX_SEARCH_CHARS:
        raise FilterError(f"q: the search text is longer than {MAX_SEARCH_CHARS} characters")
    return value


def _status_clause(status: str) -> ColumnElement[bool]:
    if status == "open":
        [waiting] = unresolved()
        return waiting
    return FollowUp.status == {"unclaimed": OPEN, "claimed": CLAIMED, "resolved": RESOLVED}[status]


def _search_clause(text: str) -> ColumnElement[bool]:
    # Case-insensitive substring of what a reader sees: the comment, subject, customer and account.
    needle = text.lower()
    return or_(*[func.lower(column).contains(needle, autoescape=True)
                 for column in (Item.comment, Item.subject, Item.customer_name, Item.customer_email,
                                Item.account_name)])


@dataclass(frozen=True)
class CommentFilter:
    """One filter the comments view adds to the dashboard's: its GET parameter, how its value is read
    (raising FilterError), the WHERE clause it adds (FollowUp is joined) and how the page states it."""

    name: str
    read: Callable[[str, AppConfig], Any]
    clause: Callable[[Session, AppConfig, Any, datetime], ColumnElement[bool]]
    label: Callable[[Any], str]


def _sla_clause(session: Session, config: AppConfig, _value: str, now: datetime) -> ColumnElement[bool]:
    breach = sla_breach_clause(session, config, now)
    return breach if breach is not None else Item.id.is_(None)  # no SLA configured: nothing breached


COMMENT_FILTERS: tuple[CommentFilter, ...] = (
    CommentFilter("sentiment", lambda value, _config: _choice("sentiment", value, SENTIMENTS),
                  lambda _session, _config, value, _now: Item.sentiment_label.is_(None) if value == NO_SENTIMENT
                  else Item.sentiment_label == value,
                  lambda value: "no sentiment (no comment)" if value == NO_SENTIMENT
                  else f"sentiment {SENTIMENT_DISPLAY[value].lower()}"),
    CommentFilter("status", lambda value, _config: _choice("status", value, STATUSES),
                  lambda _session, _config, value, _now: _status_clause(value),
                  lambda value: "open (not resolved)" if value == "open" else value),
    CommentFilter("sla", lambda value, _config: _choice("sla", value, SLA_VALUES),
                  _sla_clause, lambda _value: "SLA breached"),
    CommentFilter("topic", lambda value, _config: _topic_id(value),
                  lambda _session, _config, value, _now: Item.id.in_(
                      select(TopicMember.item_id).where(TopicMember.topic_id == value)),
                  lambda value: f"discovered topic #{value}"),
    CommentFilter("q", lambda value, _config: _search(value),
                  lambda _session, _config, value, _now: _search_clause(value),
                  lambda value: f"text “{value}”"),
)
FILTERS_BY_NAME = {f.name: f for f in COMMENT_FILTERS}


@dataclass(frozen=True)
class CommentQuery:
    """The dashboard's filters, the comment filters given (name → read value, in COMMENT_FILTERS order),
    and the page (1-based)."""

    filters: Filters
    now: datetime
    extra: tuple[tuple[str, Any], ...] = ()
    page: int = 1

    def query(self) -> dict[str, str]:
        """As GET parameters, without the page (for the CSV link, the form and the pager)."""
        return {**self.filters.query(), **{name: str(value) for name, value in self.extra}}

    def applied(self) -> list[tuple[str, str, str]]:
        """(parameter, value, how to say it) of each filter that narrows the list."""
        return [*self.filters.applied(),
                *[(name, str(value), FILTERS_BY_NAME[name].label(value)) for name, value in self.extra]]

    def value(self, name: str) -> str | None:
        return next((str(value) for key, value in self.extra if key == name), None)

    def narrower(self, session: Session, config: AppConfig) -> list[ColumnElement[bool]]:
        """WHERE clauses (FollowUp joined) of the comment filters alone."""
        return [FILTERS_BY_NAME[name].clause(session, config, value, self.now) for name, value in self.extra]

    def scope(self, session: Session, config: AppConfig) -> list[ColumnElement[bool]]:
        """WHERE clauses (FollowUp joined) for the listed items: the dashboard's, then the comment filters."""
        return [*item_scope(session, config, self.filters), *self.narrower(session, config)]


def comment_query(session: Session, *, config: AppConfig, now: datetime, params: Mapping[str, Any],
                  extra: Mapping[str, str], page: str | None = None) -> CommentQuery:
    """The dashboard's filters (`params`, as dashboard_data takes them) checked, plus each comment filter
    found in `extra` (GET parameters; blank = not given). FilterError for anything unknown or malformed."""
    filters = checked_filters(session, config=config, now=now, **params)
    given = []
    for spec in COMMENT_FILTERS:
        raw = extra.get(spec.name)
        if raw is not None and raw.strip():
            given.append((spec.name, spec.read(raw, config)))
    number = 1
    if page is not None and page.strip():
        if not (page.strip().isascii() and page.strip().isdigit()) or not 1 <= int(page.strip()) <= 1_000_000:
            raise FilterError(f"page: expected a page number such as 2, got {page[:20]!r}")
        number = int(page.strip())
    return CommentQuery(filters=filters, now=now, extra=tuple(given), page=number)


def comments_href(filters: Filters, **narrower: str | None) -> str:
    """The link from a dashboard count to its comments: the dashboard's filters, then `narrower`
    (a value replaces the dashboard's own for that parameter; None drops it)."""
    params = {**filters.query(), **narrower}
    return f"{PATH}?{urlencode({k: v for k, v in params.items() if v is not None})}"


# --- the list --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommentRow:
    item_id: int
    received_at: datetime
    team: str
    kind: str
    score: int | None
    category: str | None
    customer: str
    account: str | None
    vip: bool
    subject: str | None
    comment: str | None      # raw text, cut to SHOWN_CHARS (escape it to show it)
    cut: bool                # the comment is longer than shown
    sentiment: str | None
    sentiment_reason: str | None
    themes: list[str]
    theme_matches: dict[str, str]
    status: str              # open (unclaimed) | claimed | resolved
    needs_follow_up: bool
    claimed_by: str | None
    resolved_by: str | None
    outcome: str | None
    link: str | None         # the item's Slack message, once posted


@dataclass(frozen=True)
class CommentPage:
    query: CommentQuery
    total: int
    rows: list[CommentRow] = field(default_factory=list)

    @property
    def first(self) -> int:
        """The 1-based position of the first row shown (0 when none is)."""
        return (self.query.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    def people(self) -> list[str]:
        return [who for row in self.rows for who in (row.claimed_by, row.resolved_by) if who]


def comment_page(session: Session, *, config: AppConfig, query: CommentQuery) -> CommentPage:
    """How many items the query matches, and its page of them, newest first."""
    scope = query.scope(session, config)
    total = session.scalar(select(func.count()).select_from(Item).outerjoin(FollowUp, FollowUp.item_id == Item.id)
                           .where(*scope)) or 0
    rows = session.execute(
        select(Item.id, Item.received_at, Item.team, Item.kind, Item.score, Item.category, Item.customer_name,
               Item.customer_email, Item.account_name, Item.vip, Item.subject,
               func.substr(Item.comment, 1, SHOWN_CHARS + 1).label("comment"), Item.sentiment_label,
               Item.sentiment_reason, Item.themes, Item.theme_matches, FollowUp.status, FollowUp.needs_follow_up,
               FollowUp.claimed_by, FollowUp.resolved_by, FollowUp.outcome, SlackMessage.channel, SlackMessage.ts)
        .select_from(Item).outerjoin(FollowUp, FollowUp.item_id == Item.id)
        .outerjoin(SlackMessage, SlackMessage.item_id == Item.id)
        .where(*scope).order_by(Item.received_at.desc(), Item.id.desc())
        .offset((query.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    listed = []
    for row in rows:
        comment = row.comment
        cut = comment is not None and len(comment) > SHOWN_CHARS
        listed.append(CommentRow(
            item_id=row.id, received_at=row.received_at, team=row.team, kind=row.kind, score=row.score,
            category=row.category, customer=customer_label(row.customer_name, row.customer_email),
            account=row.account_name, vip=bool(row.vip), subject=row.subject,
            comment=comment[:SHOWN_CHARS] if cut else comment, cut=cut, sentiment=row.sentiment_label,
            sentiment_reason=row.sentiment_reason,
            themes=[t for t in (row.themes or []) if isinstance(t, str)],
            theme_matches={k: v for k, v in (row.theme_matches or {}).items() if isinstance(v, str)}
            if isinstance(row.theme_matches, dict) else {},
            status=row.status, needs_follow_up=bool(row.needs_follow_up), claimed_by=row.claimed_by,
            resolved_by=row.resolved_by, outcome=row.outcome,
            link=message_link(row.channel, row.ts) if row.ts else None))
    return CommentPage(query=query, total=int(total), rows=listed)


def export_comment_rows(query: CommentQuery):
    """The items export (bot.insights.dashboard.ITEM_COLUMNS) of the query's items: a read_rows for the
    dashboard's CSV stream."""
    def read_rows(session: Session, *, config: AppConfig, filters: Filters, start: datetime,
                  end: datetime) -> list[tuple]:
        return export_item_rows(session, config=config, filters=filters, start=start, end=end,
                                where=query.narrower(session, config))
    return read_rows


# --- the counts on the dashboard -------------------------------------------------------------------


@dataclass(frozen=True)
class CommentCounts:
    """The filtered items of the range by theme, by sentiment and by kind and category: each count is
    a link to its comments (comments_href)."""

    total: int
    themes: list[tuple[str, int]]                  # most items first
    sentiments: list[tuple[str, int]]              # in SENTIMENTS order, only those with items
    kinds: list[tuple[str, int, dict[str, int]]]   # (kind, items, {category: items}) in KINDS order


def comment_counts(session: Session, *, config: AppConfig, filters: Filters) -> CommentCounts:
    """One GROUP BY over the range's filtered items (kind, category, sentiment, theme list): a few hundred
    rows however many items the range holds."""
    inner = select(Item.kind, Item.category, Item.sentiment_label, Item.themes
                   ).where(*item_scope(session, config, filters)).subquery()
    c = inner.c
    themes: Counter[str] = Counter()
    sentiments: Counter[str] = Counter()
    kinds: dict[str, Counter[str]] = {}
    total = 0
    for kind, category, sentiment, theme_list, count in session.execute(
            select(c.kind, c.category, c.sentiment_label, c.themes, func.count())
            .group_by(c.kind, c.category, c.sentiment_label, c.themes)):
        count = int(count)
        total += count
        sentiments[sentiment or NO_SENTIMENT] += count
        kinds.setdefault(kind, Counter())[category or NO_CATEGORY] += count
        for theme in {t for t in (theme_list or []) if isinstance(t, str)}:
            themes[theme] += count
    return CommentCounts(
        total=total,
        themes=sorted(themes.items(), key=lambda pair: (-pair[1], pair[0])),
        sentiments=[(s, sentiments[s]) for s in SENTIMENTS if sentiments[s]],
        kinds=[(k, sum(kinds[k].values()), {cat: kinds[k][cat] for cat in CATEGORY_ORDER if kinds[k][cat]})
               for k in KINDS if k in kinds])
