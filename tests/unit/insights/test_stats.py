"""The wait histograms' arithmetic (bot.insights.stats): buckets, spans, and the median read from them."""

from __future__ import annotations

import random
import statistics
from collections import Counter

from bot.insights.stats import median_of_histogram, wait_bucket, wait_span


def test_buckets_are_the_wait_rounded_up_to_the_minute_up_to_30_days_then_to_the_day():
    assert [wait_bucket(m) for m in (-3, 0, 0.2, 1, 1.01, 59.5, 60, 1440, 43200)] == [0, 0, 1, 1, 2, 60, 60, 1440, 43200]
    assert wait_bucket(43200.5) == wait_bucket(44640) == 44640 and wait_bucket(44641) == 46080


def test_spans_are_the_hour_of_waiting_then_the_day_and_never_go_back():
    assert [wait_span(b) for b in (0, 1, 60, 61, 1440, 43200, 44640, 46080)] == [0, 1, 1, 2, 24, 720, 721, 722]
    buckets = sorted({wait_bucket(m) for m in range(0, 60_000, 7)})
    assert [wait_span(b) for b in buckets] == sorted(wait_span(b) for b in buckets)


def test_the_median_of_a_histogram_is_within_half_a_minute_of_the_waits_median():
    rng = random.Random(5)
    for _ in range(500):
        waits = [rng.uniform(0, rng.choice((90, 3000, 43200))) for _ in range(rng.randint(1, 60))]
        median = median_of_histogram(Counter(wait_bucket(w) for w in waits))
        assert median.count == len(waits)
        assert abs(median.minutes - statistics.median(waits)) <= 0.5


def test_a_histogram_read_around_its_middle_gives_the_same_median_as_the_whole():
    waits = [5, 30, 90, 90, 300, 301, 2000]
    whole = median_of_histogram(Counter(wait_bucket(w) for w in waits))
    assert whole.minutes == 89.5 and whole.count == 7  # the wait of 90 min stands for (89, 90]
    assert median_of_histogram({90: 2}, below=2, above=3) == whole
    assert median_of_histogram({}).minutes is None
