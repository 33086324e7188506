"""Counts of items over a range read from the daily roll-ups (models/rollup.py) instead of the items.

The roll-up rows count the items received per UTC day and per UTC hour of it, kept by database
triggers, so a year is ~365 rows per (team, kind, category) whatever the history holds. A range (or a
week of it) is summed exactly when its bounds are whole UTC hours, which local midnights are in every
whole-hour timezone; `hour_aligned` says when that holds, and callers read the items otherwise.

The wait roll-ups count the waits to claim and to resolve per UTC day (of the claim / resolve) and per
team, and the SLA waits per day of arrival, team and SLA key, as histograms (bot.insights.stats.wait_bucket):
`median_wait` and `sla_breaches` read the whole UTC days of a range from them and the hours at its
ends from the follow-ups. Functions take `session` and never commit.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.config import AppConfig
from bot.insights.stats import (
    MINUTE_BUCKETS_UP_TO,
    Median,
    median_of_histogram,
    median_time_to_claim,
    median_time_to_resolve,
    wait_bucket,
    wait_span,
    waits,
)
from models import FollowUp, ItemRollup, ThemeRollup, WaitMinuteRollup, WaitRollup
from models.rollup import CLAIM, HOURS, NO_CATEGORY_KEY, RECEIVED_SPAN, SLA

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def hour_aligned(*moments: datetime) -> bool:
    """Every moment is a whole UTC hour (so roll-up hours add up to exactly the span)."""
    return all(m.minute == 0 and m.second == 0 and m.microsecond == 0 for m in moments)


def day_start(day) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _split(row, start: datetime, end: datetime, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
    """(bucket, items) of a roll-up row within [start, end): bucket 0 before bounds[0], 1 before bounds[1]…"""
    first = day_start(row.day)
    last = first + DAY
    if start <= first and last <= end and bisect.bisect_right(bounds, first) == bisect.bisect_right(bounds, last - HOUR):
        return [(bisect.bisect_right(bounds, first), int(row.items))]
    parts: Counter[int] = Counter()
    for index, name in enumerate(HOURS):
        count = getattr(row, name)
        moment = first + index * HOUR
        if count and start <= moment < end:
            parts[bisect.bisect_right(bounds, moment)] += int(count)
    return list(parts.items())


def _day_range(start: datetime, end: datetime):
    return start.astimezone(UTC).date(), (end.astimezone(UTC) - timedelta(microseconds=1)).date()


def item_counts(session: Session, *, start: datetime, end: datetime, bounds: Sequence[datetime],
                teams: Sequence[str], kind: str | None = None, category: str | None = None,
                no_category: bool = False) -> dict[tuple[int, str, str, str | None], int]:
    """Items received in [start, end) (whole UTC hours) of `teams` (and `kind`, `category` or unscored
    when given), by (bucket of `bounds`, team, kind, category): as a GROUP BY over the items would count."""
    first, last = _day_range(start, end)
    statement = select(ItemRollup.day, ItemRollup.team, ItemRollup.kind, ItemRollup.category, ItemRollup.items,
                       *[getattr(ItemRollup, name) for name in HOURS]).where(ItemRollup.day >= first, ItemRollup.day <= last,
                                         ItemRollup.team.in_(list(teams)))
    if kind:
        statement = statement.where(ItemRollup.kind == kind)
    if no_category:
        statement = statement.where(ItemRollup.category == NO_CATEGORY_KEY)
    elif category:
        statement = statement.where(ItemRollup.category == category)
    counts: Counter[tuple[int, str, str, str | None]] = Counter()
    for row in session.execute(statement):
        category_of = row.category if row.category != NO_CATEGORY_KEY else None
        for bucket, items in _split(row, start, end, bounds):
            counts[(bucket, row.team, row.kind, category_of)] += items
    return {key: value for key, value in counts.items() if value}


def theme_counts(session: Session, *, start: datetime, end: datetime, split: datetime,
                 teams: Sequence[str]) -> tuple[Counter[str], Counter[str]]:
    """Items per theme received in [start, split) and in [split, end) of `teams`, `split` being a whole
    UTC hour (the caller reads the items of the hour around any other split)."""
    first, last = _day_range(start, end)
    halves: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    statement = select(ThemeRollup.day, ThemeRollup.team, ThemeRollup.theme, ThemeRollup.items,
                       *[getattr(ThemeRollup, name) for name in HOURS]).where(ThemeRollup.day >= first, ThemeRollup.day <= last,
                                          ThemeRollup.team.in_(list(teams)))
    for row in session.execute(statement):
        for half, items in _split(row, start, end, [split]):
            halves[half][row.theme] += items
    return halves


# --- waits -----------------------------------------------------------------------------------------

# Up to this many waits in a range, the median is read exactly from the follow-ups (one ordered read of
# that many rows, tens of milliseconds); above, from the wait roll-ups, to within half a minute.
EXACT_WAITS_UP_TO = 10_000


def whole_days(start: datetime, end: datetime):
    """The first and last UTC day lying wholly in [start, end), or None when no day does."""
    first = start.astimezone(UTC).date() + (DAY if day_start(start.astimezone(UTC).date()) < start else timedelta(0))
    last = end.astimezone(UTC).date() - DAY
    return (first, last) if first <= last else None


def _spans(session: Session, measure: str, first, last, teams: Sequence[str]) -> Counter[int]:
    rows = session.execute(select(WaitRollup.span, func.sum(WaitRollup.items)).where(
        WaitRollup.measure == measure, WaitRollup.team.in_(list(teams)), WaitRollup.key == "",
        WaitRollup.day >= first, WaitRollup.day <= last).group_by(WaitRollup.span))
    return Counter({int(span): int(items) for span, items in rows if items})


def _buckets(session: Session, measure: str, spans: Sequence[int], first, last, teams: Sequence[str]) -> Counter[int]:
    rows = session.execute(select(WaitMinuteRollup.minutes, func.sum(WaitMinuteRollup.items)).where(
        WaitMinuteRollup.measure == measure, WaitMinuteRollup.team.in_(list(teams)), WaitMinuteRollup.key == "",
        WaitMinuteRollup.span.in_(list(spans)), WaitMinuteRollup.day >= first, WaitMinuteRollup.day <= last)
        .group_by(WaitMinuteRollup.minutes))
    return Counter({int(minutes): int(items) for minutes, items in rows if items})


def median_wait(session: Session, *, measure: str, start: datetime, end: datetime, teams: Sequence[str],
                where: Sequence[ColumnElement[bool]]) -> Median:
    """median_time_to_claim (measure CLAIM) or median_time_to_resolve (RESOLVE) over [start, end) for the
    items of `teams` (`where`: the same, as clauses on Item). Exact up to EXACT_WAITS_UP_TO waits; above,
    the whole UTC days come from the roll-ups, the hours at either end from the follow-ups, and the
    median is stats.median_of_histogram's (within half a minute for waits up to 30 days)."""
    exact = median_time_to_claim if measure == CLAIM else median_time_to_resolve
    days = whole_days(start, end)
    if days is None:
        return exact(session, start=start, end=end, where=where)
    first, last = days
    done_at = FollowUp.claimed_at if measure == CLAIM else FollowUp.resolved_at
    ends = [*waits(session, done_at, start=start, end=day_start(first), teams=teams),
            *waits(session, done_at, start=day_start(last) + DAY, end=end, teams=teams)]
    spans = _spans(session, measure, first, last, teams)
    if sum(spans.values()) + len(ends) <= EXACT_WAITS_UP_TO:
        return exact(session, start=start, end=end, where=where)
    end_buckets = Counter(wait_bucket(minutes) for minutes in ends)
    for bucket, count in end_buckets.items():
        spans[wait_span(bucket)] += count
    # The spans holding the middle one or two waits; then their buckets, minute by minute.
    total = sum(spans.values())
    ranks, seen, middle = {(total - 1) // 2, total // 2}, 0, []
    for span in sorted(spans):
        if any(seen <= rank < seen + spans[span] for rank in ranks):
            middle.append(span)
        seen += spans[span]
    below = sum(count for span, count in spans.items() if span < middle[0])
    above = sum(count for span, count in spans.items() if span > middle[-1])
    buckets = _buckets(session, measure, middle, first, last, teams)
    for bucket, count in end_buckets.items():
        if wait_span(bucket) in middle:
            buckets[bucket] += count
    if not buckets:  # the minutes disagree with the hours (a write between the reads): read them exactly
        return exact(session, start=start, end=end, where=where)
    return median_of_histogram(buckets, below=below, above=above)


def sla_minutes(config: AppConfig) -> dict[str, int] | None:
    """The configured claim SLAs in minutes by SLA key, when the roll-ups count them exactly (whole minutes,
    stats.wait_bucket's resolution up to 30 days); None otherwise."""
    limits = {key: hours * 60 for key, hours in config.schedule.sla_hours.items()}
    if not all(float(minutes).is_integer() and minutes <= MINUTE_BUCKETS_UP_TO for minutes in limits.values()):
        return None
    return {key: int(minutes) for key, minutes in limits.items()}


def sla_breaches(session: Session, *, limits: dict[str, int], first, last, teams: Sequence[str]) -> Counter[str]:
    """stats.sla_breached, counted per team over the items received on UTC days [first, last], all of
    them at least the longest SLA before `now` (so every one still unclaimed is late): those claimed
    later than their SLA (sla_minutes) and those not claimed."""
    breaches: Counter[str] = Counter()
    if not limits or first > last:
        return breaches
    for team, key, span, items in session.execute(
            select(WaitRollup.team, WaitRollup.key, WaitRollup.span, func.sum(WaitRollup.items)).where(
                WaitRollup.measure == SLA, WaitRollup.team.in_(list(teams)), WaitRollup.key.in_(list(limits)),
                WaitRollup.day >= first, WaitRollup.day <= last).group_by(WaitRollup.team, WaitRollup.key,
                                                                          WaitRollup.span)):
        items = int(items or 0)
        if span == RECEIVED_SPAN:
            breaches[team] += items                 # every item; the claimed ones are taken off below
        else:
            breaches[team] -= items                 # claimed…
            if span > wait_span(limits[key]):
                breaches[team] += items             # …and later than the SLA, by the hour
    for key, limit in limits.items():               # …and later than the SLA, within its hour
        for team, items in session.execute(
                select(WaitMinuteRollup.team, func.sum(WaitMinuteRollup.items)).where(
                    WaitMinuteRollup.measure == SLA, WaitMinuteRollup.team.in_(list(teams)),
                    WaitMinuteRollup.key == key, WaitMinuteRollup.span == wait_span(limit),
                    WaitMinuteRollup.day >= first, WaitMinuteRollup.day <= last, WaitMinuteRollup.minutes > limit)
                .group_by(WaitMinuteRollup.team)):
            breaches[team] += int(items or 0)
    return breaches
