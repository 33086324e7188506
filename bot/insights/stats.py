"""The figures cxloop shows, each defined once: NPS, median time to claim / resolve, SLA breach, VIP coverage.

The Slack digest, the weekly / monthly reports, the dashboard (page and CSV), the App Home and
`/cxloop stats` all compute these here, over a window of local days (bot.common.periods), and state
that window next to the figure. Functions take `session` and never commit.

- NPS = round(100 × (promoters − detractors) / NPS responses), over the NPS responses received in the
  window; None without any.
- CSAT = round(100 × satisfied / CSAT responses), satisfied = a CSAT score of 4 or 5 (of 1–5); None
  without any.
- Median time to claim (resolve): claimed_at (resolved_at) − received_at, over the follow-ups claimed
  (resolved) *in the window*, whenever their item arrived. A window's figure never changes afterwards,
  so a report posted on Monday and the dashboard opened later for the same week agree.
- SLA breach: an item with a claim SLA ([schedule].sla_hours, by "escalation" or by category) whose
  claim came later than received_at + SLA, or that is still unclaimed past it at `now`; never an
  imported one (closed history). One rule, as
  SQL (`sla_breach_clause`) and in Python (`sla_breached`).
- VIP coverage: the VIP accounts (of `owners`, when given) that existed at `as_of`, and those of them
  touched within their cadence then (a touches row or last_touch_at in (as_of − cadence, as_of]).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.config import AppConfig
from models import Account, FollowUp, Item, Touch

DETRACTOR, PASSIVE, PROMOTER = "detractor", "passive", "promoter"
ESCALATION = "escalation"


# --- NPS -------------------------------------------------------------------------------------------


def nps_score(promoters: int, detractors: int, responses: int) -> int | None:
    """NPS = round(100 * (promoters - detractors) / responses); None without responses."""
    return round(100 * (promoters - detractors) / responses) if responses else None


@dataclass(frozen=True)
class Nps:
    score: int | None
    responses: int
    promoters: int = 0
    detractors: int = 0


def nps(session: Session, where: Sequence[ColumnElement[bool]]) -> Nps:
    """NPS over the NPS responses among the items matching `where` (e.g. a team and a received window)."""
    promoters = func.coalesce(func.sum(case((Item.category == PROMOTER, 1), else_=0)), 0)
    detractors = func.coalesce(func.sum(case((Item.category == DETRACTOR, 1), else_=0)), 0)
    count, promoted, detracted = session.execute(
        select(func.count(), promoters, detractors).where(*where, Item.kind == "nps")).one()
    return Nps(nps_score(int(promoted), int(detracted), int(count)), int(count), int(promoted), int(detracted))


# --- CSAT ------------------------------------------------------------------------------------------

CSAT_SATISFIED_MIN = 4  # of 1–5: "satisfied" and "very satisfied"


def csat_score(satisfied: int, responses: int) -> int | None:
    """CSAT = round(100 * satisfied / responses) (satisfied: a CSAT score ≥ 4); None without responses."""
    return round(100 * satisfied / responses) if responses else None


# --- median time to claim / resolve ----------------------------------------------------------------


def minutes_between(session: Session, later, earlier) -> ColumnElement[float]:
    """later − earlier in minutes, as SQL (each backend has its own date arithmetic)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 60.0
    # SQLite keeps UTC datetimes as ISO text; julianday reads it as fractional days.
    return (func.julianday(later) - func.julianday(earlier)) * 1440.0


@dataclass(frozen=True)
class Median:
    minutes: float | None
    count: int          # how many follow-ups it is the median of


def _median_wait(session: Session, done_at, start: datetime, end: datetime,
                 where: Sequence[ColumnElement[bool]]) -> Median:
    """The median of done_at − received_at (minutes) over follow-ups whose done_at is in [start, end) and
    whose item matches `where`: one read of the waits, the middle found here (a count and then an ordered
    read from the middle walked the range twice)."""
    scope = (done_at >= start, done_at < end, *where)
    minutes = minutes_between(session, done_at, Item.received_at)
    return median_of([float(v) for v in session.scalars(
        select(minutes).select_from(FollowUp).join(Item, Item.id == FollowUp.item_id).where(*scope))])


def waits(session: Session, done_at, *, start: datetime, end: datetime, teams: Sequence[str]) -> list[float]:
    """done_at − received_at (minutes) of each follow-up whose done_at is in [start, end) and whose item is
    of `teams`, as _median_wait reads them (e.g. the hours at the ends of a range of roll-up days). Read by
    the done_at index, the teams kept here: with them in the WHERE, SQLite walks the teams' items instead."""
    minutes = minutes_between(session, done_at, Item.received_at)
    rows = session.execute(select(Item.team, minutes).select_from(FollowUp).join(Item, Item.id == FollowUp.item_id)
                           .where(done_at >= start, done_at < end))
    wanted = set(teams)
    return [float(wait) for team, wait in rows if team in wanted]


def median_of(minutes: Sequence[float]) -> Median:
    """The same median as _median_wait, of waits already read (e.g. grouped in Python by a segment)."""
    return Median(statistics.median(minutes) if minutes else None, len(minutes))


# Waits counted in roll-ups (models/rollup.py, migration 20261206_0019, which repeats these two in SQL) are
# kept by `wait_bucket`: the wait rounded up to the minute up to 30 days, to the day beyond. `wait_span`
# groups the buckets by the hour of waiting (1–720), then by the day (721+).
MINUTES_PER_DAY = 1440
MINUTE_BUCKETS_UP_TO = 30 * MINUTES_PER_DAY


def wait_bucket(minutes: float) -> int:
    """The bucket of a wait: whole minutes rounded up (0 for none or less) up to 30 days, then whole days.
    A bucket b holds the waits in (b − its width, b]."""
    whole = math.ceil(minutes)
    if whole <= 0:
        return 0
    if whole <= MINUTE_BUCKETS_UP_TO:
        return whole
    return (whole + MINUTES_PER_DAY - 1) // MINUTES_PER_DAY * MINUTES_PER_DAY


def wait_span(bucket: int) -> int:
    """The span of a bucket: 0 for none, 1–720 for the hour of waiting it ends in, 721+ for the day beyond."""
    if bucket <= 0:
        return 0
    if bucket <= MINUTE_BUCKETS_UP_TO:
        return (bucket + 59) // 60
    return MINUTE_BUCKETS_UP_TO // 60 + (bucket - MINUTE_BUCKETS_UP_TO + MINUTES_PER_DAY - 1) // MINUTES_PER_DAY


def _bucket_middle(bucket: int) -> float:
    """The wait a bucket stands for: the middle of (bucket − width, bucket]."""
    if bucket <= 0:
        return 0.0
    return bucket - (0.5 if bucket <= MINUTE_BUCKETS_UP_TO else MINUTES_PER_DAY / 2)


def median_of_histogram(counts: Mapping[int, int], *, below: int = 0, above: int = 0) -> Median:
    """The same median as _median_wait, of waits counted per wait_bucket, with `below` / `above` more waits
    known to fall under / over every bucket counted (the caller read the buckets around the middle only).
    Each wait stands for the middle of its bucket, so the figure is within half a minute of the exact one
    for waits up to 30 days, half a day beyond. A middle place outside the buckets given (a count that
    changed between the caller's reads) takes the nearest bucket."""
    ordered = sorted(bucket for bucket, count in counts.items() if count > 0)
    total = below + sum(counts[bucket] for bucket in ordered) + above
    if not ordered:
        return Median(None, total)
    middles = []
    for rank in sorted({(total - 1) // 2, total // 2}):
        seen, found = below, ordered[0] if rank < below else ordered[-1]
        for bucket in ordered:
            if seen <= rank < seen + counts[bucket]:
                found = bucket
                break
            seen += counts[bucket]
        middles.append(_bucket_middle(found))
    return Median(statistics.fmean(middles), total)


def median_time_to_claim(session: Session, *, start: datetime, end: datetime,
                         where: Sequence[ColumnElement[bool]] = ()) -> Median:
    """Over the follow-ups claimed in [start, end) (a resolve without a claim claims too)."""
    return _median_wait(session, FollowUp.claimed_at, start, end, where)


def median_time_to_resolve(session: Session, *, start: datetime, end: datetime,
                           where: Sequence[ColumnElement[bool]] = ()) -> Median:
    """Over the follow-ups resolved in [start, end)."""
    return _median_wait(session, FollowUp.resolved_at, start, end, where)


# --- SLA -------------------------------------------------------------------------------------------


def sla_key(kind: str, category: str | None) -> str | None:
    """Which [schedule].sla_hours entry applies: "escalation" for escalations, else the category."""
    return ESCALATION if kind == ESCALATION else category


def sla_hours(config: AppConfig, kind: str, category: str | None) -> float | None:
    """The claim SLA of an item, in hours; None when it has none."""
    key = sla_key(kind, category)
    return config.schedule.sla_hours.get(key) if key else None


def sla_breached(config: AppConfig, *, kind: str, category: str | None, received_at: datetime,
                 claimed_at: datetime | None, now: datetime) -> bool:
    """Claimed later than its SLA, or unclaimed past it at `now` (the rule of sla_breach_clause)."""
    hours = sla_hours(config, kind, category)
    return hours is not None and (claimed_at or now) - received_at > timedelta(hours=hours)


def sla_breach_clause(session: Session, config: AppConfig, now: datetime) -> ColumnElement[bool] | None:
    """sla_breached as SQL (needs FollowUp joined); None when no SLA is configured."""
    waited = minutes_between(session, FollowUp.claimed_at, Item.received_at)
    clauses = []
    for key, hours in sorted(config.schedule.sla_hours.items()):
        applies = Item.kind == ESCALATION if key == ESCALATION else and_(Item.kind != ESCALATION,
                                                                           Item.category == key)
        late = or_(and_(FollowUp.claimed_at.is_(None), Item.received_at < now - timedelta(hours=hours)),
                   and_(FollowUp.claimed_at.is_not(None), waited > hours * 60))
        clauses.append(and_(applies, late))
    # Imported history (`cxloop import responses`) has no follow-up and waited for nobody here.
    return and_(or_(*clauses), Item.imported_at.is_(None)) if clauses else None


# --- VIP coverage ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    total: int        # VIP accounts that existed at as_of
    touched: int      # those touched within their cadence then
    as_of: datetime

    @property
    def ratio(self) -> float | None:
        return self.touched / self.total if self.total else None

    @property
    def percent(self) -> int | None:
        return None if self.ratio is None else round(100 * self.ratio)


def vip_coverage(session: Session, *, owners: Sequence[str] | None, as_of: datetime) -> Coverage:
    """VIP coverage at `as_of`, of the accounts of `owners` (None: everyone's). SQL counts per distinct
    cadence; last_touch_at counts too, for a touch recorded without a touches row."""
    scope = [Account.vip.is_(True), Account.created_at <= as_of]
    if owners is not None:
        scope.append(Account.owner.in_(list(owners)))
    total = touched = 0
    for cadence in session.scalars(select(Account.cadence_days).where(*scope).distinct()).all():
        since = as_of - timedelta(days=int(cadence))
        recent = exists().where(Touch.account_id == Account.id, Touch.touched_at >= since, Touch.touched_at <= as_of)
        within = or_(recent, and_(Account.last_touch_at >= since, Account.last_touch_at <= as_of))
        count, hit = session.execute(select(func.count(), func.coalesce(func.sum(case((within, 1), else_=0)), 0))
                                     .where(*scope, Account.cadence_days == cadence)).one()
        total, touched = total + int(count), touched + int(hit)
    return Coverage(total, touched, as_of)
