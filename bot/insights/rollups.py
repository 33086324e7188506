"""Counts of items over a range read from the daily roll-ups (models/rollup.py) instead of the items.

The roll-up rows count the items received per UTC day and per UTC hour of it, kept by database
triggers, so a year is ~365 rows per (team, kind, category) whatever the history holds. A range (or a
week of it) is summed exactly when its bounds are whole UTC hours, which local midnights are in every
whole-hour timezone; `hour_aligned` says when that holds, and callers read the items otherwise.
Functions take `session` and never commit.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ItemRollup, ThemeRollup
from models.rollup import HOURS, NO_CATEGORY_KEY

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def hour_aligned(*moments: datetime) -> bool:
    """Every moment is a whole UTC hour (so roll-up hours add up to exactly the span)."""
    return all(m.minute == 0 and m.second == 0 and m.microsecond == 0 for m in moments)


def _day_start(day) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _split(row, start: datetime, end: datetime, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
    """(bucket, items) of a roll-up row within [start, end): bucket 0 before bounds[0], 1 before bounds[1]…"""
    first = _day_start(row.day)
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
