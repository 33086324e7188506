"""One way to say how long something took or waits, everywhere a person reads it.

"42 min", "9 h 25 min", "1 day", "2 days 4 h", "3 weeks": whole units a reader takes in at a glance,
the same in Slack, the digest, reports, App Home and the dashboard.
"""

from __future__ import annotations

from datetime import timedelta

from bot.common.labels import plural

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY



def duration(minutes: float | timedelta | None) -> str:
    """42 → "42 min", 565 → "9 h 25 min", 1440 → "1 day", 3120 → "2 days 4 h", 30240 → "3 weeks";
    None → "–". Rounded to the minute below an hour, to the minute under a day, to the hour beyond."""
    if minutes is None:
        return "–"
    if isinstance(minutes, timedelta):
        minutes = minutes.total_seconds() / 60
    total = max(0, round(minutes))
    if total < 60:
        return "< 1 min" if total == 0 and minutes > 0 else f"{total} min"
    if total < MINUTES_PER_DAY:
        hours, rest = divmod(total, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    if total % MINUTES_PER_WEEK == 0:
        return plural(total // MINUTES_PER_WEEK, "week")
    hours = round(total / 60)
    days, rest = divmod(hours, 24)
    return f"{plural(days, 'day')} {rest} h" if rest else plural(days, "day")


def hours_label(value: float) -> str:
    """A configured or measured number of hours: 4 → "4 h", 9.42 → "9 h 25 min", 48 → "2 days"."""
    return duration(value * 60)
