"""The CX dashboard's figures: aggregate SQL over the items of a team (or all teams), a kind and a date range.

What each figure counts (the page repeats this under its charts):

- The range is whole local days [start, end] in the dashboard's timezone (the team's; for all teams
  [schedule].timezone, else UTC), so a week matches the weekly report's. "All teams" means the teams
  in cxloop.toml: items are read by range over the (team, received_at) index, one range per team.
- Filters narrow the items everywhere (figures, table, items CSV): team, kind, category ("none" =
  unscored), VIP, theme (in the stored theme list), owner (who claimed it, or "unclaimed"). VIP coverage
  and touches follow team and owner (as account owner) only.
- Weeks are ISO weeks (Monday to Sunday); the first and last may be cut by the range; a range inside one
  week is that one (cut) week. NPS =
  round(100 × (promoters − detractors) / NPS responses) over the week's NPS responses; volume counts
  every item of the week that passes the filters.
- Open = follow-up not resolved (unclaimed or claimed), among the range's items; an open detractor's
  age is `now` − received.
- NPS, medians, SLA breaches and VIP coverage are bot.insights.stats' (one definition for every place):
- Median time to claim / resolve: over the follow-ups claimed / resolved in the range (the other filters
  apply to their items), claimed_at (resolved_at) − received_at.
- SLA breaches: the range's items with a claim SLA ([schedule].sla_hours by "escalation" or by
  category) claimed later than it, or still unclaimed past it now.
- VIP coverage: VIP accounts (owned by the team's members when it lists them) touched within their
  cadence, as of the end of the range (or now, if earlier).
- Themes rising / falling: items per theme in the second half of the range against the first half
  (the span from the week of the range's first item, or its start, to its end, or `now` if it is still running, cut at
  its midpoint).

Nothing here loads the range's rows into Python: counts are GROUP BYs (per week with a CASE over the
week boundaries, per theme list) or sums of daily roll-ups (bot.insights.rollups), medians are one read of the
waits, and the open-items list is capped. Without a filter but the team, the medians and SLA
breaches come from the wait roll-ups: the medians exactly up to rollups.EXACT_WAITS_UP_TO waits and to
within half a minute above (stats.median_of_histogram), the breaches exactly for SLAs of whole minutes.
Functions take `session` and never commit.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, func, literal, or_, select, text, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.common.labels import customer_label, theme_label
from bot.common.periods import iso_week_label, local_midnight, local_today
from bot.common.vocabulary import KINDS
from bot.config import AppConfig
from bot.followups.queries import unresolved
from bot.followups.triage import triage_order
from bot.insights import rollups
from bot.insights.segments import DIMENSIONS, SegmentCut, cut_by
from bot.insights.stats import (
    DETRACTOR,
    PASSIVE,
    PROMOTER,
    median_time_to_claim,
    median_time_to_resolve,
    nps_score,
    sla_breach_clause,
    sla_breached,
    vip_coverage,
)
from bot.insights.topics import WeekTopics, latest_topics, scope_of
from bot.product.queries import demand
from bot.slack.links import message_link
from bot.slack.product_blocks import DemandRow
from models import Account, FollowUp, FollowUpEvent, Item, SlackMessage, Touch
from models.rollup import CLAIM, RESOLVE

DEFAULT_WEEKS = 12
MAX_RANGE_DAYS = 366
# Days a range may name: far enough either way for any real question, and clear of date's limits (the
# day after 9999-12-31, or year 1 in UTC−x, would overflow).
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)
OPEN_ITEMS_LIMIT = 500
THEME_MOVES = 5
SUMMARY_CHARS = 140
# Open-detractor age buckets: (label, upper bound in days; None = no bound).
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("< 1 day", 1), ("1–3 days", 3), ("3–7 days", 7), ("1–2 weeks", 14), ("2–4 weeks", 28), ("4+ weeks", None))
NO_CATEGORY = "none"
CATEGORY_ORDER = (DETRACTOR, PASSIVE, PROMOTER, NO_CATEGORY)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
UNCLAIMED = "unclaimed"
VIP_VALUES = {"yes": True, "no": False}


class FilterError(ValueError):
    """A filter we cannot apply; str() says which and why, for a 400 answer."""


# --- filters ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the dashboard shows: a team (None = all), a kind (None = all) and local days [start, end];
    optionally only one category ("none": unscored), VIP or not, one theme, one owner (who holds the item:
    its claimer, or UNCLAIMED)."""

    team: str | None
    kind: str | None
    start: date
    end: date
    timezone: str
    category: str | None = None
    vip: bool | None = None
    theme: str | None = None
    owner: str | None = None

    @property
    def start_utc(self) -> datetime:
        return local_midnight(self.start, self.timezone)

    @property
    def end_utc(self) -> datetime:
        """The instant after the range: midnight at the end of `end`, local."""
        return local_midnight(self.end + timedelta(days=1), self.timezone)

    def query(self) -> dict[str, str]:
        """As GET parameters (for links that keep the filters)."""
        params = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.team:
            params["team"] = self.team
        if self.kind:
            params["kind"] = self.kind
        if self.category:
            params["category"] = self.category
        if self.vip is not None:
            params["vip"] = "yes" if self.vip else "no"
        if self.theme:
            params["theme"] = self.theme
        if self.owner:
            params["owner"] = self.owner
        return params

    def applied(self) -> list[tuple[str, str, str]]:
        """(parameter, value, how to say it) of each filter that narrows the items, for the page."""
        applied = []
        if self.team:
            applied.append(("team", self.team, f"team {self.team}"))
        if self.kind:
            applied.append(("kind", self.kind, f"kind {self.kind}"))
        if self.category:
            applied.append(("category", self.category, "unscored items" if self.category == NO_CATEGORY
                            else f"{self.category}s"))
        if self.vip is not None:
            applied.append(("vip", "yes" if self.vip else "no", "VIP customers" if self.vip else "non-VIP customers"))
        if self.theme:
            applied.append(("theme", self.theme, f"theme {theme_label(self.theme)}"))
        if self.owner:
            applied.append(("owner", self.owner, "unclaimed items" if self.owner == UNCLAIMED
                            else f"held by {self.owner}"))
        return applied


def parse_date_param(value: str | None, name: str) -> date | None:
    """'2026-11-20' → date; blank → None; anything else → FilterError naming the parameter."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _DATE_RE.match(value):
        raise FilterError(f"{name}: expected a date such as 2026-11-20, got {value[:40]!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name}: {value!r} is not a calendar date") from None


def _one_of(name: str, value: str, choices: Sequence[str]) -> FilterError:
    return FilterError(f"{name}: unknown {name} {value[:64]!r} ({name} is one of: {', '.join(choices)}; "
                       "leave it empty for all)")


# Everyone who ever claimed, one index probe per person (a "loose index scan" over ix_follow_ups_claimed_by):
# a SELECT DISTINCT would read every follow-up ever claimed.
_CLAIMERS = text("""
    WITH RECURSIVE claimers(person) AS (
        SELECT MIN(claimed_by) FROM follow_ups
        UNION ALL
        SELECT (SELECT MIN(claimed_by) FROM follow_ups WHERE claimed_by > claimers.person)
        FROM claimers WHERE claimers.person IS NOT NULL)
    SELECT person FROM claimers WHERE person IS NOT NULL""")


def known_owners(session: Session, config: AppConfig) -> list[str]:
    """Who an `owner` filter may name: the teams' members, the admins, account owners and everyone who has
    claimed an item."""
    people = {m for t in config.teams for m in t.members} | set(config.admins)
    people.update(session.scalars(_CLAIMERS))
    people.update(session.scalars(select(Account.owner).where(Account.owner.is_not(None)).distinct()))
    return sorted(people)


def resolve_filters(*, config: AppConfig, team: str | None, kind: str | None, start: date | None,
                    end: date | None, now: datetime, category: str | None = None, vip: str | None = None,
                    theme: str | None = None, owner: str | None = None,
                    owners: Sequence[str] | None = None) -> Filters:
    """Checked filters with defaults: all teams, kinds, categories, themes and owners, VIP or not, the 12
    ISO weeks ending today. An unknown value is a FilterError that lists the known ones; `owner` is checked
    against `owners` (known_owners) when given."""
    team = (team or "").strip() or None
    kind = (kind or "").strip().lower() or None
    category = (category or "").strip().lower() or None
    vip_text = (vip or "").strip().lower() or None
    theme = (theme or "").strip() or None
    owner = (owner or "").strip() or None
    if category is not None and category not in CATEGORY_ORDER:
        raise _one_of("category", category, CATEGORY_ORDER)
    if vip_text is not None and vip_text not in VIP_VALUES:
        raise _one_of("vip", vip_text, tuple(VIP_VALUES))
    if theme is not None:
        # Stored themes are the configured names: "Pricing" and "pricing" find the same one.
        theme_names = {name.casefold(): name for name in config.themes}
        if theme.casefold() not in theme_names:
            raise _one_of("theme", theme, sorted(config.themes))
        theme = theme_names[theme.casefold()]
    if owner is not None and owner.lower() == UNCLAIMED:
        owner = UNCLAIMED
    elif owner is not None and not _USER_ID_RE.match(owner):
        raise FilterError(f"owner: expected a Slack user id such as U0ANA, or {UNCLAIMED!r}, got {owner[:64]!r}")
    elif owner is not None and owners is not None and owner not in owners:
        raise FilterError(f"owner: unknown owner {owner!r}: in no team, not an admin, owns no account and "
                          "has never claimed an item")
    names = [t.name for t in config.teams]
    if team is not None and team not in names:
        raise FilterError(f"team: unknown team {team[:64]!r} (teams: {', '.join(names)})")
    if kind is not None and kind not in KINDS:
        raise FilterError(f"kind: unknown kind {kind[:20]!r} (kinds: {', '.join(KINDS)})")
    timezone = config.team(team).timezone if team else (config.schedule.timezone or "UTC")
    today = local_today(now, timezone)
    end_given = end is not None
    end = end or today
    if start is None:
        monday = end - timedelta(days=end.weekday())
        start = monday - timedelta(weeks=DEFAULT_WEEKS - 1)
    for name, day in (("from", start), ("to", end)):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise FilterError(f"{name}: {day.isoformat()} is outside {FIRST_DAY.isoformat()} – {LAST_DAY.isoformat()}")
    if start > end:
        raise FilterError(f"from: {start.isoformat()} is after to: {end.isoformat()}"
                          + ("" if end_given else " (today: an empty 'to' means today)"))
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise FilterError(f"the range {start.isoformat()} – {end.isoformat()} is longer than {MAX_RANGE_DAYS} days")
    return Filters(team=team, kind=kind, start=start, end=end, timezone=timezone, category=category,
                   vip=None if vip_text is None else VIP_VALUES[vip_text], theme=theme, owner=owner)


def checked_filters(session: Session, *, config: AppConfig, now: datetime, **params) -> Filters:
    """resolve_filters, with an `owner` checked against the people this database and config know."""
    owners = known_owners(session, config) if (params.get("owner") or "").strip() else None
    return resolve_filters(config=config, now=now, owners=owners, **params)


def _teams(config: AppConfig, filters: Filters) -> list[str]:
    return [filters.team] if filters.team else [t.name for t in config.teams]


def _has_theme(session: Session, theme: str) -> ColumnElement[bool]:
    """The item's stored theme list holds `theme` (each backend reads JSON its own way)."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(Item.themes, JSONB).contains([theme])
    # SQLite stores the list as JSON text; the name, quoted as JSON quotes it, can only appear there as a
    # whole element (a name holds no quote). A text search is a fraction of json_each's cost per row.
    return func.instr(Item.themes, json.dumps(theme)) > 0


def item_scope(session: Session, config: AppConfig, filters: Filters, start: datetime | None = None,
               end: datetime | None = None) -> list[ColumnElement[bool]]:
    """WHERE clauses for the filtered items received in [start, end) (default: the whole range). The
    owner clause reads follow_ups through its own alias, so it holds with or without FollowUp joined."""
    return [Item.received_at >= (start or filters.start_utc), Item.received_at < (end or filters.end_utc),
            *item_filters(session, config, filters)]


def item_filters(session: Session, config: AppConfig, filters: Filters) -> list[ColumnElement[bool]]:
    """WHERE clauses for the filters other than the range: team, kind, category, VIP, theme, owner."""
    teams = _teams(config, filters)
    scope = [Item.team == teams[0] if len(teams) == 1 else Item.team.in_(teams)]
    if filters.kind:
        scope.append(Item.kind == filters.kind)
    if filters.category:
        scope.append(Item.category.is_(None) if filters.category == NO_CATEGORY
                     else Item.category == filters.category)
    if filters.vip is not None:
        scope.append(Item.vip.is_(True) if filters.vip else or_(Item.vip.is_(False), Item.vip.is_(None)))
    if filters.theme:
        scope.append(_has_theme(session, filters.theme))
    if filters.owner:
        held = aliased(FollowUp)
        if filters.owner == UNCLAIMED:
            scope.append(~exists().where(held.item_id == Item.id, held.claimed_by.is_not(None)))
        else:
            scope.append(exists().where(held.item_id == Item.id, held.claimed_by == filters.owner))
    return scope


# --- the figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekPoint:
    label: str            # "2026-W47"
    start: datetime       # the week's first instant within the range (UTC)
    end: datetime
    volume: int
    nps: int | None
    nps_count: int
    promoters: int
    passives: int
    detractors: int


@dataclass(frozen=True)
class KindMix:
    """Items of one kind in the range, by category ("none" for escalations and unscored items)."""

    kind: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class AgeBucket:
    label: str
    count: int


@dataclass(frozen=True)
class ThemeChange:
    theme: str
    before: int   # items in the first half of the range
    after: int    # items in the second half

    @property
    def change(self) -> int:
        return self.after - self.before


@dataclass(frozen=True)
class OpenItem:
    item_id: int
    received_at: datetime
    age_days: float
    team: str
    kind: str
    score: int | None
    category: str | None
    customer: str
    summary: str           # the subject or the start of the comment (raw text: escape it to show it)
    status: str            # open | claimed
    claimed_by: str | None
    sla_breached: bool
    vip: bool
    link: str | None       # the item's Slack message, once posted
    priority: str | None = None  # an escalation's severity (urgent, high, normal, low), what orders them


@dataclass(frozen=True)
class TeamRow:
    team: str
    volume: int
    nps: int | None
    nps_count: int
    open_items: int
    open_detractors: int
    sla_breaches: int


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    now: datetime
    volume: int
    nps: int | None
    nps_count: int
    weeks: list[WeekPoint]
    category_mix: list[KindMix]
    open_items_total: int
    open_detractors: int
    detractor_ages: list[AgeBucket]
    oldest_open_detractor_days: float | None
    median_claim_minutes: float | None
    claimed_count: int
    median_resolve_minutes: float | None
    resolved_count: int
    sla_breaches: int
    vip_total: int
    vip_touched: int
    vip_as_of: datetime
    themes_split_at: datetime | None
    themes_rising: list[ThemeChange]
    themes_falling: list[ThemeChange]
    open_items: list[OpenItem]     # most urgent first (bot.followups.triage), at most OPEN_ITEMS_LIMIT
    teams: list[TeamRow]
    owners: list[str]              # who the owner filter may name (known_owners)
    # Linked issues ranked by the filtered items behind them (bot/product); empty without trackers.
    demand: list[DemandRow] = field(default_factory=list)
    # The latest week's discovered topics of the team (or all teams) within the range; None: none computed.
    topics: WeekTopics | None = None
    # Where the first half of "themes rising and falling" starts: the range's first item (or its start).
    themes_from: datetime | None = None

    @property
    def vip_coverage(self) -> float | None:
        return self.vip_touched / self.vip_total if self.vip_total else None


def week_spans(filters: Filters) -> list[tuple[str, datetime, datetime]]:
    """(ISO week label, first instant, instant after) of each week the range touches, cut to the range."""
    spans = []
    monday = filters.start - timedelta(days=filters.start.weekday())
    while monday <= filters.end:
        first, after = max(monday, filters.start), min(monday + timedelta(days=7), filters.end + timedelta(days=1))
        spans.append((iso_week_label(monday), local_midnight(first, filters.timezone),
                      local_midnight(after, filters.timezone)))
        monday += timedelta(days=7)
    return spans


def _bucket_of(column, bounds: Sequence[datetime]) -> ColumnElement[int]:
    """0 for column < bounds[0], 1 for < bounds[1], …; len(bounds) for the rest.

    No bounds (a range inside one ISO week, a single day) is bucket 0 for every row: SQL has no CASE
    without a WHEN, so that one is a literal."""
    if not bounds:
        return literal(0)
    return case(*[(column < bound, index) for index, bound in enumerate(bounds)], else_=len(bounds))


class _Counts:
    """A row of _range_counts: its figures by name, as attributes and as `_mapping`."""

    def __init__(self, **figures) -> None:
        self._mapping = figures

    def __getattr__(self, name: str):
        try:
            return self.__dict__["_mapping"][name]
        except KeyError:
            raise AttributeError(name) from None


def _rollups_apply(filters: Filters, spans) -> bool:
    """The roll-ups can count the range: no filter they do not key (VIP, theme, owner), and every bound a
    whole UTC hour."""
    return (filters.vip is None and filters.theme is None and filters.owner is None
            and rollups.hour_aligned(filters.start_utc, filters.end_utc, *(end for _, _, end in spans)))


def _team_only(filters: Filters) -> bool:
    """No filter but the team: what the theme and wait roll-ups (keyed by team only) can answer."""
    return not (filters.kind or filters.category or filters.vip is not None or filters.theme or filters.owner)


def _sla_breaches(session: Session, config: AppConfig, filters: Filters, spans, now: datetime) -> Counter[str] | None:
    """SLA breaches per team of the range's items, as _range_scan counts them: the whole UTC days received
    at least the longest SLA before `now` from the wait roll-ups, the rest of the range (its ends, the
    latest hours) from the items. None when the roll-ups do not apply (a filter, or an SLA they cannot
    count exactly): _range_counts counts them then."""
    breach = sla_breach_clause(session, config, now)
    limits = rollups.sla_minutes(config)
    days = rollups.whole_days(filters.start_utc, filters.end_utc)
    if breach is None or limits is None or days is None or not (_rollups_apply(filters, spans)
                                                                and _team_only(filters)):
        return None
    settled = (now - timedelta(minutes=max(limits.values()))).astimezone(UTC).date() - timedelta(days=1)
    first, last = days[0], min(days[1], settled)
    if first > last:
        return None
    teams = _teams(config, filters)
    breaches = rollups.sla_breaches(session, limits=limits, first=first, last=last, teams=teams)
    for start, end in ((filters.start_utc, rollups.day_start(first)),
                       (rollups.day_start(last) + timedelta(days=1), filters.end_utc)):
        if start < end:
            breaches.update(dict(session.execute(
                select(Item.team, func.count()).select_from(Item).outerjoin(FollowUp, FollowUp.item_id == Item.id)
                .where(*item_scope(session, config, filters, start, end), breach).group_by(Item.team)).all()))
    return breaches


def _range_counts(session: Session, config: AppConfig, filters: Filters, spans, now: datetime,
                  count_breaches: bool = True) -> list:
    """Grouped by (week, team, kind, category): items, open, SLA breaches, open ones per age bucket, and
    the oldest open one's arrival. Items are counted from the daily roll-ups when they apply; open work and
    breaches from the items that wait (found by index) and, with an SLA configured, the range's items.
    `count_breaches` False (only with the roll-ups applying): breaches are left at 0, for _sla_breaches."""
    if not _rollups_apply(filters, spans):
        return _range_scan(session, config, filters, spans, now)
    counts = rollups.item_counts(session, start=filters.start_utc, end=filters.end_utc,
                                 bounds=[end for _, _, end in spans[:-1]], teams=_teams(config, filters),
                                 kind=filters.kind, category=None if filters.category == NO_CATEGORY
                                 else filters.category, no_category=filters.category == NO_CATEGORY)
    figures: dict[tuple, dict] = {}
    zero = {"open": 0, "breached": 0, "oldest_open": None, **{f"age_{i}": 0 for i in range(len(AGE_BUCKETS))}}
    for (week, team, kind, category), items in counts.items():
        figures[(week, team, kind, category)] = {**zero, "items": items}
    # Open work: only the items that wait, so the range's size does not matter. Breaches of items that no
    # longer wait (claimed late, then resolved) need the range's items, but only when an SLA is set.
    for waiting, sla_only in ((True, False), (False, True)):
        if sla_only and (not count_breaches or sla_breach_clause(session, config, now) is None):
            continue
        for row in _range_scan(session, config, filters, spans, now, waiting=waiting,
                               among=_waiting_items(session, config, filters) if waiting else None):
            key = (int(row.week), row.team, row.kind, row.category)
            if key not in figures:  # an item received since the roll-up was read: counted as the scan saw it
                figures[key] = {**zero, "items": 0}
            entry = figures[key]
            entry["breached"] += int(row.breached or 0) if count_breaches else 0
            if not waiting:
                continue
            entry["open"] += int(row.open or 0)
            for index in range(len(AGE_BUCKETS)):
                entry[f"age_{index}"] += int(row._mapping[f"age_{index}"] or 0)
            if row.oldest_open is not None and (entry["oldest_open"] is None or row.oldest_open < entry["oldest_open"]):
                entry["oldest_open"] = row.oldest_open
    return [_Counts(week=week, team=team, kind=kind, category=category, **entry)
            for (week, team, kind, category), entry in figures.items()]


# Above this many items waiting, the open-work pass reads the range instead of a list of ids.
WAITING_IDS_LIMIT = 10_000


def _waiting_items(session: Session, config: AppConfig, filters: Filters) -> list[int] | None:
    """The ids of the items of the range's teams received in the range that wait for someone, found from
    the follow-ups by index (ix_follow_ups_status_needs_follow_up); None when too many wait to list them.
    Range and team are checked here, so the scan reads these items by id: with them in its WHERE, SQLite
    would walk the whole range by (team, received_at) and look at each item's follow-up."""
    ids = list(session.scalars(select(FollowUp.item_id).where(*unresolved()).limit(WAITING_IDS_LIMIT + 1)))
    if len(ids) > WAITING_IDS_LIMIT:
        return None
    start, end, teams = filters.start_utc, filters.end_utc, set(_teams(config, filters))
    return [item_id for item_id, received_at, team in session.execute(
        select(Item.id, Item.received_at, Item.team).where(Item.id.in_(ids)))
        if start <= received_at < end and team in teams] if ids else []


def _range_scan(session: Session, config: AppConfig, filters: Filters, spans, now: datetime,
                waiting: bool | None = None, among: Sequence[int] | None = None) -> list:
    """One pass over the range's items (only those that wait for someone, or only those that do not,
    when `waiting` says so), grouped by (week, team, kind, category), counting: items, open, SLA
    breaches, open ones per age bucket, and the oldest open one's arrival."""
    [is_open] = unresolved()
    breach = sla_breach_clause(session, config, now)
    bounds = [now - timedelta(days=days) for _, days in AGE_BUCKETS if days is not None]
    # Newest first: an item received after bounds[0] (1 day ago) is in bucket 0.
    age = case(*[(Item.received_at > bound, index) for index, bound in enumerate(bounds)], else_=len(bounds))
    inner = (select(_bucket_of(Item.received_at, [end for _, _, end in spans[:-1]]).label("week"),
                    Item.team.label("team"), Item.kind.label("kind"), Item.category.label("category"),
                    case((is_open, 1), else_=0).label("open"),
                    (case((breach, 1), else_=0) if breach is not None else literal(0)).label("breached"),
                    case((is_open, age), else_=-1).label("open_age"),
                    case((is_open, Item.received_at)).label("open_received"))
             .select_from(Item).outerjoin(FollowUp, FollowUp.item_id == Item.id)
             .where(*(item_scope(session, config, filters) if among is None
                      # item_filters' first clause is the team, checked by _waiting_items already.
                      else [Item.id.in_(among), *item_filters(session, config, filters)[1:]]),
                    *([] if waiting is None else [is_open] if waiting
                      else [or_(FollowUp.id.is_(None), ~is_open)])).subquery())
    # Grouped through a subquery: Postgres would not see a CASE in SELECT and GROUP BY as one
    # expression, since each rendering binds its own parameters.
    c = inner.c
    return session.execute(select(
        c.week, c.team, c.kind, c.category, func.count().label("items"), func.sum(c.open).label("open"),
        func.sum(c.breached).label("breached"), func.min(c.open_received).label("oldest_open"),
        *[func.sum(case((c.open_age == index, 1), else_=0)).label(f"age_{index}") for index in range(len(AGE_BUCKETS))],
    ).group_by(c.week, c.team, c.kind, c.category)).all()


def _theme_changes(session: Session, config: AppConfig, filters: Filters, split: datetime
                   ) -> tuple[list[ThemeChange], list[ThemeChange]]:
    halves: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    scope_start, scope_end = filters.start_utc, filters.end_utc
    keyed = _team_only(filters)
    if keyed and rollups.hour_aligned(filters.start_utc, filters.end_utc):
        # The roll-ups count the whole hours on either side of the split; the items of the hour around a
        # split that is not a whole hour are read below.
        hour = split.replace(minute=0, second=0, microsecond=0)
        around = (hour, hour + timedelta(hours=1)) if hour != split else (hour, hour)
        before = rollups.theme_counts(session, start=filters.start_utc, end=max(filters.start_utc, around[0]),
                                      split=around[0], teams=_teams(config, filters))
        after = rollups.theme_counts(session, start=min(filters.end_utc, around[1]), end=filters.end_utc,
                                     split=around[1], teams=_teams(config, filters))
        halves[0].update(before[0] + before[1])
        halves[1].update(after[0] + after[1])
        scope_start, scope_end = max(filters.start_utc, around[0]), min(filters.end_utc, around[1])
    # Grouped by the stored theme list: a taxonomy of a dozen themes makes few distinct lists, so this
    # returns a few hundred rows however many items the range holds.
    inner = select(case((Item.received_at < split, 0), else_=1).label("half"), Item.themes.label("themes")
                   ).where(*item_scope(session, config, filters, scope_start, scope_end)).subquery()
    for half, themes, count in (() if scope_start >= scope_end else session.execute(
            select(inner.c.half, inner.c.themes, func.count()).group_by(inner.c.half, inner.c.themes))):
        for theme in {t for t in (themes or []) if isinstance(t, str)}:
            halves[int(half)][theme] += int(count)
    changes = [ThemeChange(theme, halves[0][theme], halves[1][theme]) for theme in set(halves[0]) | set(halves[1])]
    rising = sorted((c for c in changes if c.change > 0), key=lambda c: (-c.change, -c.after, c.theme))
    falling = sorted((c for c in changes if c.change < 0), key=lambda c: (c.change, -c.before, c.theme))
    return rising[:THEME_MOVES], falling[:THEME_MOVES]


def _team_owners(config: AppConfig, filters: Filters) -> list[str] | None:
    """Whose VIP accounts count (None = everyone's): the team's members when it lists them, narrowed to
    the owner filter's person (nobody's for "unclaimed")."""
    members = (list(config.team(filters.team).members) or None) if filters.team else None
    if not filters.owner:
        return members
    if filters.owner == UNCLAIMED or (members is not None and filters.owner not in members):
        return []
    return [filters.owner]


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _open_items(session: Session, config: AppConfig, filters: Filters, now: datetime) -> list[OpenItem]:
    # By the ids of what waits (see _waiting_items), not by a walk over the range.
    waiting = _waiting_items(session, config, filters)
    scope = (item_scope(session, config, filters) if waiting is None
             else [Item.id.in_(waiting), *item_filters(session, config, filters)[1:]])
    rows = session.execute(
        select(Item.id, Item.received_at, Item.team, Item.kind, Item.score, Item.category, Item.customer_name,
               Item.customer_email, Item.account_name, Item.subject, Item.vip, Item.priority,
               func.substr(Item.comment, 1, SUMMARY_CHARS + 1).label("comment"),
               FollowUp.status, FollowUp.claimed_by, FollowUp.claimed_at, SlackMessage.channel, SlackMessage.ts)
        .join(FollowUp, FollowUp.item_id == Item.id).outerjoin(SlackMessage, SlackMessage.item_id == Item.id)
        .where(*scope, *unresolved())
        .order_by(*triage_order()).limit(OPEN_ITEMS_LIMIT)).all()
    items = []
    for row in rows:
        who = customer_label(row.customer_name, row.customer_email, row.account_name)
        summary = _one_line(row.subject) or _one_line(row.comment)
        if len(summary) > SUMMARY_CHARS:
            summary = summary[:SUMMARY_CHARS - 1].rstrip() + "…"
        items.append(OpenItem(
            item_id=row.id, received_at=row.received_at, age_days=(now - row.received_at).total_seconds() / 86400,
            team=row.team, kind=row.kind, score=row.score, category=row.category, customer=who, summary=summary,
            status=row.status, claimed_by=row.claimed_by, vip=bool(row.vip),
            sla_breached=sla_breached(config, kind=row.kind, category=row.category, received_at=row.received_at,
                                      claimed_at=row.claimed_at, now=now),
            link=message_link(row.channel, row.ts) if row.ts else None,
            priority=row.priority if row.kind == "escalation" else None))
    return items


def dashboard_data(session: Session, *, config: AppConfig, team: str | None = None, kind: str | None = None,
                   start: date | None = None, end: date | None = None, now: datetime, category: str | None = None,
                   vip: str | None = None, theme: str | None = None, owner: str | None = None) -> Dashboard:
    """Every figure of the dashboard for the given filters (see the module docstring for definitions).

    Raises FilterError for an unknown team, kind, category, VIP value, theme or owner, or a range that is
    reversed or longer than a year.
    """
    owners = known_owners(session, config)
    filters = resolve_filters(config=config, team=team, kind=kind, start=start, end=end, now=now,
                              category=category, vip=vip, theme=theme, owner=owner, owners=owners)
    spans = week_spans(filters)

    # Volume, NPS, category mix, open work, SLA and per-team counts: one GROUP BY over the range.
    week_counts = [Counter() for _ in spans]           # NPS categories and "total", per week
    mix: dict[str, Counter[str]] = {}
    team_counts: dict[str, Counter[str]] = {name: Counter() for name in _teams(config, filters)}
    ages = [0] * len(AGE_BUCKETS)
    oldest: datetime | None = None
    breaches = _sla_breaches(session, config, filters, spans, now)
    for name, count in (breaches or {}).items():
        team_counts.setdefault(name, Counter())["breached"] += count
    for row in _range_counts(session, config, filters, spans, now, count_breaches=breaches is None):
        count, category = int(row.items), row.category or NO_CATEGORY
        week_counts[int(row.week)]["total"] += count
        mix.setdefault(row.kind, Counter())[category] += count
        per_team = team_counts.setdefault(row.team, Counter())
        per_team["total"] += count
        if row.kind == "nps":
            week_counts[int(row.week)][category] += count
            per_team[category] += count
        for key in ("open", "breached"):
            per_team[key] += int(row._mapping[key] or 0)
        if category == DETRACTOR:
            per_team["open_detractors"] += int(row.open or 0)
            ages = [have + int(row._mapping[f"age_{index}"] or 0) for index, have in enumerate(ages)]
            if row.oldest_open is not None and (oldest is None or row.oldest_open < oldest):
                oldest = row.oldest_open
    weeks = []
    for (label, first, after), counts in zip(spans, week_counts, strict=True):
        nps_count = counts[DETRACTOR] + counts[PASSIVE] + counts[PROMOTER]
        weeks.append(WeekPoint(label=label, start=first, end=after, volume=counts["total"],
                               nps=nps_score(counts[PROMOTER], counts[DETRACTOR], nps_count), nps_count=nps_count,
                               promoters=counts[PROMOTER], passives=counts[PASSIVE], detractors=counts[DETRACTOR]))
    promoters, detractors = sum(w.promoters for w in weeks), sum(w.detractors for w in weeks)
    nps_count = sum(w.nps_count for w in weeks)
    category_mix = [KindMix(k, {c: mix[k][c] for c in CATEGORY_ORDER if mix[k][c]}) for k in KINDS if k in mix]

    # Over the follow-ups claimed (resolved) in the range, whenever their item arrived: the digest's and
    # the reports' definition, so the same days give the same figure everywhere.
    others = item_filters(session, config, filters)
    if _team_only(filters):
        claim, resolve = (rollups.median_wait(session, measure=measure, start=filters.start_utc, end=filters.end_utc,
                                              teams=_teams(config, filters), where=others)
                          for measure in (CLAIM, RESOLVE))
    else:
        claim = median_time_to_claim(session, start=filters.start_utc, end=filters.end_utc, where=others)
        resolve = median_time_to_resolve(session, start=filters.start_utc, end=filters.end_utc, where=others)
    coverage = vip_coverage(session, owners=_team_owners(config, filters), as_of=min(filters.end_utc, now))

    # The halves split the span that holds items: a range that opens weeks before the first item (a new
    # deployment, the default 12 weeks) would otherwise compare a near-empty first half, and every theme
    # would "rise".
    observed_end = min(filters.end_utc, now)
    # The week of the first item, from the weekly counts already read (no query of its own).
    first_week = next((week for week in weeks if week.volume), None)
    observed_start = max(filters.start_utc, first_week.start) if first_week else filters.start_utc
    split = observed_start + (observed_end - observed_start) / 2 if observed_end > observed_start else None
    rising, falling = _theme_changes(session, config, filters, split) if split else ([], [])

    teams = []
    for name, counts in team_counts.items():
        team_nps = counts[DETRACTOR] + counts[PASSIVE] + counts[PROMOTER]
        teams.append(TeamRow(team=name, volume=counts["total"], nps=nps_score(counts[PROMOTER], counts[DETRACTOR],
                                                                                team_nps),
                             nps_count=team_nps, open_items=counts["open"], open_detractors=counts["open_detractors"],
                             sla_breaches=counts["breached"]))
    return Dashboard(
        filters=filters, now=now, volume=sum(w.volume for w in weeks),
        nps=nps_score(promoters, detractors, nps_count), nps_count=nps_count, weeks=weeks,
        category_mix=category_mix,
        open_items_total=sum(t.open_items for t in teams), open_detractors=sum(t.open_detractors for t in teams),
        detractor_ages=[AgeBucket(label, count) for (label, _), count in zip(AGE_BUCKETS, ages, strict=True)],
        oldest_open_detractor_days=(now - oldest).total_seconds() / 86400 if oldest else None,
        median_claim_minutes=claim.minutes, claimed_count=claim.count,
        median_resolve_minutes=resolve.minutes, resolved_count=resolve.count,
        sla_breaches=sum(t.sla_breaches for t in teams), vip_total=coverage.total, vip_touched=coverage.touched,
        vip_as_of=coverage.as_of,
        themes_split_at=split, themes_from=observed_start if split else None, themes_rising=rising, themes_falling=falling,
        open_items=_open_items(session, config, filters, now), teams=teams, owners=owners,
        demand=demand(session, config=config, now=now, scope=item_scope(session, config, filters))
        if config.trackers else [],
        topics=latest_topics(session, scope=scope_of(filters.team), up_to=filters.end),
    )


# --- CSV export ------------------------------------------------------------------------------------

# People are shown by name (Slack's users.info, see export_cells); their Slack ids follow at the end.
ITEM_COLUMNS = ("id", "received_at", "team", "kind", "score", "category", "source", "external_id",
                "customer_name", "customer_email", "account_name", "vip", "plan", "segment", "themes",
                "sentiment", "sentiment_reason", "status", "claimed_by", "claimed_at", "resolved_by", "resolved_at", "outcome",
                "resolution_note", "subject", "comment", "url", "notes", "claimed_by_id", "resolved_by_id", "priority")
TOUCH_COLUMNS = ("id", "touched_at", "account_id", "account_name", "account_owner", "actor", "channel",
                 "item_id", "note", "account_owner_id", "actor_id")
# Columns holding a Slack user id, shown as the person's name; "<column>_id" keeps the id.
PEOPLE_COLUMNS = frozenset({"claimed_by", "resolved_by", "account_owner", "actor"})
NOTES_COLUMN = "notes"
# Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportNote:
    """A note on an item, as the items export lists it."""
    at: datetime
    actor: str
    text: str


def csv_cell(value, timezone: str = "UTC") -> str | int | float:
    """A value as a CSV cell: times in ISO 8601 to the second with their offset (in `timezone`); text that
    a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return moment.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_people(columns: Sequence[str], rows: Sequence[tuple]) -> set[str]:
    """The Slack user ids the rows name: in people columns and as the authors of notes."""
    people: set[str] = set()
    for index, column in enumerate(columns):
        if column in PEOPLE_COLUMNS:
            people.update(row[index] for row in rows if row[index])
        elif column == NOTES_COLUMN:
            people.update(note.actor for row in rows for note in row[index] or ())
    return people


def export_cells(columns: Sequence[str], row: tuple, *, names: dict[str, str], timezone: str) -> list:
    """One export row as CSV cells: people by name (their ids in "<column>_id"), notes one per line as
    "<time> <name>: <text>", every cell through csv_cell."""
    values = dict(zip(columns, row, strict=False))
    cells = []
    for column in columns:
        if column in PEOPLE_COLUMNS:
            value = names.get(values[column], values[column]) if values[column] else None
        elif column == NOTES_COLUMN:
            value = "\n".join(f"{csv_cell(note.at, timezone)} {names.get(note.actor, note.actor)}: {note.text}"
                              for note in values[column] or ())
        else:
            value = values[column]
        cells.append(csv_cell(value, timezone))
    return cells


def export_days(filters: Filters) -> list[tuple[datetime, datetime]]:
    """The range as local days: exports read one day per short transaction, so a long export never holds
    a connection (or SQLite's write lock) for its whole length."""
    days, day = [], filters.start
    while day <= filters.end:
        days.append((local_midnight(day, filters.timezone), local_midnight(day + timedelta(days=1),
                                                                               filters.timezone)))
        day += timedelta(days=1)
    return days


def _export_notes(session: Session, config: AppConfig, filters: Filters, start: datetime,
                  end: datetime, where: Sequence[ColumnElement[bool]] = ()) -> dict[int, list[ExportNote]]:
    """The notes on the filtered items received in [start, end), oldest first, by item id: notes added
    with "Add note" and those kept from a resolve that lost a race."""
    rows = session.execute(
        select(FollowUp.item_id, FollowUpEvent.created_at, FollowUpEvent.actor, FollowUpEvent.detail)
        .join(FollowUp, FollowUp.id == FollowUpEvent.follow_up_id).join(Item, Item.id == FollowUp.item_id)
        .where(FollowUpEvent.action == "note", *item_scope(session, config, filters, start, end), *where)
        .order_by(FollowUpEvent.created_at, FollowUpEvent.id))
    notes: dict[int, list[ExportNote]] = {}
    for item_id, at, actor, detail in rows:
        text = (detail or {}).get("note") if isinstance(detail, dict) else None
        if isinstance(text, str) and text.strip():
            notes.setdefault(item_id, []).append(ExportNote(at, actor, text.strip()))
    return notes


def export_item_rows(session: Session, *, config: AppConfig, filters: Filters, start: datetime,
                     end: datetime, where: Sequence[ColumnElement[bool]] = ()) -> list[tuple]:
    """The filtered items received in [start, end), oldest first, as ITEM_COLUMNS tuples (people as Slack
    ids, notes as ExportNote lists: export_cells makes cells of them). `where` narrows further (clauses
    on Item and FollowUp: the comments view's filters)."""
    rows = session.execute(
        select(Item.id, Item.received_at, Item.team, Item.kind, Item.score, Item.category, Item.source,
               Item.external_id, Item.customer_name, Item.customer_email, Item.account_name, Item.vip, Item.plan,
               Item.segment, Item.themes, Item.sentiment_label, Item.sentiment_reason, FollowUp.status, FollowUp.claimed_by,
               FollowUp.claimed_at, FollowUp.resolved_by, FollowUp.resolved_at, FollowUp.outcome,
               FollowUp.resolution_note, Item.subject, Item.comment, Item.url, Item.priority)
        .outerjoin(FollowUp, FollowUp.item_id == Item.id)
        .where(*item_scope(session, config, filters, start, end), *where).order_by(Item.received_at, Item.id)).all()
    notes = _export_notes(session, config, filters, start, end, where) if rows else {}
    return [(*row[:14], "; ".join(t for t in (row.themes or []) if isinstance(t, str)), *row[15:-1],
             notes.get(row.id, []), row.claimed_by, row.resolved_by, row.priority) for row in rows]


def export_touch_rows(session: Session, *, config: AppConfig, filters: Filters, start: datetime,
                      end: datetime) -> list[tuple]:
    """Touches logged in [start, end) on accounts of the team's members (all accounts without a team,
    or for a team that lists no members) or of the owner filter's person, oldest first, as TOUCH_COLUMNS
    tuples. Kind, category, VIP and theme do not apply."""
    statement = (select(Touch.id, Touch.touched_at, Touch.account_id, Account.name, Account.owner, Touch.actor,
                        Touch.channel, Touch.item_id, Touch.note)
                 .join(Account, Account.id == Touch.account_id)
                 .where(Touch.touched_at >= start, Touch.touched_at < end).order_by(Touch.touched_at, Touch.id))
    owners = _team_owners(config, filters)
    if owners is not None:
        statement = statement.where(Account.owner.in_(owners))
    return [(*row, row.owner, row.actor) for row in session.execute(statement)]


def dashboard_cut(session: Session, *, config: AppConfig, filters: Filters, by: str | None) -> SegmentCut | None:
    """The filtered range cut by plan, segment, role, tenure or agent (`?by=`); None without one.
    FilterError for another value."""
    if not by:
        return None
    if by not in DIMENSIONS:
        raise FilterError(f"by: {by[:40]!r} is not one of {', '.join(DIMENSIONS)}")
    return cut_by(session, by=by, start=filters.start_utc, end=filters.end_utc,
                  where=item_filters(session, config, filters))
