"""How long something took, as every surface says it (bot/common/durations.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.common.durations import duration, hours_label
from bot.followups.service import ChangeResult
from bot.slack.replies import claim_reply


@pytest.mark.parametrize(("minutes", "said"), [
    (None, "–"), (0, "0 min"), (0.2, "< 1 min"), (42, "42 min"), (59.6, "1 h"), (90, "1 h 30 min"),
    (565.35, "9 h 25 min"), (1439, "23 h 59 min"), (1440, "1 day"), (1500, "1 day 1 h"),
    (3120, "2 days 4 h"), (4320, "3 days"), (10080, "1 week"), (30240, "3 weeks"), (10140, "7 days 1 h"),
    (-5, "0 min"),
])
def test_durations_read_as_whole_units(minutes, said):
    assert duration(minutes) == said


def test_a_timedelta_and_hours_say_the_same():
    assert duration(timedelta(hours=9, minutes=25, seconds=20)) == "9 h 25 min" == hours_label(9.42243)
    assert hours_label(4) == "4 h" and hours_label(48) == "2 days" and hours_label(168) == "1 week"


def test_a_lost_claim_says_how_long_ago_in_the_same_words() -> None:
    """The "Already claimed … ago" reply had its own formatter ("2 hours ago"): it says durations as
    everything else does."""
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    for before, said in ((timedelta(minutes=125), "2 h 5 min ago"), (timedelta(seconds=20), "just now"),
                         (timedelta(days=2, hours=4), "2 days 4 h ago")):
        result = ChangeResult("unchanged", status="claimed", claimed_by="U0ANA", claimed_at=now - before)
        assert claim_reply(result, "U0BEN", now) == f"Already claimed by <@U0ANA> {said}."
