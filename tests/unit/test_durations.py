"""How long something took, as every surface says it (bot/common/durations.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.common.durations import duration, hours_label


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
