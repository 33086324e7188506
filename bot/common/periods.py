"""Calendar periods in a team's local time: local midnight, local day spans, the "last N days", ISO weeks,
months, and how a window is written next to a figure ("last 7 days to 1 Dec").

Every period is a span of *local* calendar days turned into UTC instants with zoneinfo, so a DST day is
23 or 25 hours long and an item received at 23:30 local counts for that local day. Every figure cxloop
shows (digest, reports, dashboard, App Home, `/cxloop stats`) is computed over one of these spans and
states it with `window_label`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def local_midnight(day: date, timezone: str) -> datetime:
    """The first instant of the local `day`, in UTC."""
    # fold=0: were midnight skipped by a DST jump, this is the jump's instant, i.e. the day's first moment.
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def local_span(first: date, after_last: date, timezone: str) -> tuple[datetime, datetime]:
    """The local days [first, after_last) as UTC instants [start, end)."""
    return local_midnight(first, timezone), local_midnight(after_last, timezone)


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def last_days(last: date, days: int, timezone: str) -> tuple[datetime, datetime]:
    """The `days` local days ending with `last` (included), as UTC instants [start, end)."""
    return local_span(last - timedelta(days=days - 1), last + timedelta(days=1), timezone)


def day_before(end: datetime, timezone: str) -> date:
    """The local day the instant just before `end` is in: the last day of a window ending at `end`."""
    return (end - timedelta(microseconds=1)).astimezone(ZoneInfo(timezone)).date()


def day_label(day: date) -> str:
    """ "1 Dec" """
    return f"{day.day} {day:%b}"


def window_label(first: date, last: date) -> str:
    """How a figure states its window of local days [first, last]: "1 Dec", or "last 7 days to 1 Dec"."""
    if first == last:
        return day_label(last)
    return f"last {(last - first).days + 1} days to {day_label(last)}"


def range_label(first: date, last: date) -> str:
    """ "16 Nov – 22 Nov 2026"; "28 Dec 2026 – 3 Jan 2027" across a new year."""
    if first == last:
        return f"{day_label(last)} {last.year}"
    head = day_label(first) + ("" if first.year == last.year else f" {first.year}")
    return f"{head} – {day_label(last)} {last.year}"


def iso_week_label(day: date) -> str:
    """The ISO week `day` is in: "2026-W47"."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(value: str) -> date:
    """The Monday of an ISO week written "2026-W47"."""
    match = _WEEK_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"expected an ISO week such as 2026-W47, got {str(value)[:40]!r}")
    year, week = int(match[1]), int(match[2])
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no ISO week {week} (weeks run from W01 to W52 or W53)") from None


def parse_month(value: str) -> date:
    """The first day of a month written "2026-11"."""
    match = _MONTH_RE.match(value.strip()) if isinstance(value, str) else None
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"expected a month such as 2026-11, got {str(value)[:40]!r}")
    return date(int(match[1]), int(match[2]), 1)


def previous_week(today: date) -> str:
    """The ISO week before the one `today` is in: "2026-W47"."""
    return iso_week_label(today - timedelta(days=7))


def add_months(first: date, months: int) -> date:
    """The first day of the month `months` after (or before) the month of `first`."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_label(first: date) -> str:
    return first.strftime("%Y-%m")


def previous_month(today: date) -> str:
    """The calendar month before `today`'s: "2026-10"."""
    return month_label(add_months(today.replace(day=1), -1))
