"""Daily digest and trend reports on SQLite and Postgres, checked against values computed here.

Each test seeds a known dataset and computes what the digest should say with plain Python over the
seed list (its own day arithmetic, NPS, medians, rankings); it never asks bot.insights.digest for an expected
value.
"""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

import bot.cli.reports
from bot.cli import main
from bot.common.periods import parse_week, previous_month, previous_week
from bot.db import make_engine, make_session_factory, session_scope
from bot.insights.digest import (
    build_daily_digest,
    build_monthly_report,
    build_weekly_report,
    digest_message,
    digest_text,
    digest_window,
    report_message,
    report_text,
)
from bot.intake.scoring import categorize
from bot.sandbox.fake_slack import validate_blocks
from models import Account, FollowUp, Item, SlackMessage, Touch
from tests.conftest import TEST_CONFIG, make_config

NY = ZoneInfo("America/New_York")
CONFIG = make_config()
SUCCESS = CONFIG.team("success")
DAY = date(2026, 11, 20)                       # a Friday, EST (UTC-5)
NOW = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)  # 09:00 the next morning in New York
USERS = ("U0ANA", "U0BEN", "U0CARA")
THEMES = ("pricing", "bugs", "support", "onboarding", "performance", "usability")


@dataclass
class Seed:
    """One item as seeded, with its follow-up; `id` is set once stored."""

    team: str
    kind: str
    score: int | None
    received_at: datetime
    themes: list[str]
    comment: str | None = None
    polarity: float | None = None
    name: str | None = None
    status: str = "open"
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    account_name: str | None = None
    posted_ts: str | None = None
    id: int | None = None

    @property
    def category(self) -> str | None:
        return categorize(self.kind, self.score)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY).astimezone(UTC)


def _with_followup(seed: Seed, rng: random.Random, now: datetime) -> Seed:
    """Claim and resolve at pseudo-random later times; never after `now`."""
    roll = rng.random()
    if roll < 0.3:
        return seed
    claimed_at = seed.received_at + timedelta(minutes=rng.randint(5, 2400))
    if claimed_at > now:
        return seed
    seed.status, seed.claimed_by, seed.claimed_at = "claimed", rng.choice(USERS), claimed_at
    if roll < 0.6:
        return seed
    resolved_at = claimed_at + timedelta(minutes=rng.randint(5, 1800))
    if resolved_at > now:
        return seed
    seed.status, seed.resolved_by, seed.resolved_at = "resolved", rng.choice(USERS), resolved_at
    return seed


def make_daily_seeds() -> list[Seed]:
    rng = random.Random(20261120)
    seeds: list[Seed] = []
    for n in range(60):  # 60 items over the 10 local days DAY-9 … DAY
        day = DAY - timedelta(days=n % 10)
        kind = rng.choice(("nps", "nps", "nps", "nps", "csat", "ces", "escalation"))
        score = None if kind == "escalation" else rng.randint(*{"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[kind])
        has_comment = rng.random() < 0.7
        seeds.append(_with_followup(Seed(
            team="success", kind=kind, score=score, received_at=local(day, rng.randint(1, 22), rng.randint(0, 59)),
            themes=rng.sample(THEMES, rng.randint(0, 3)),
            comment=f"Comment {n}: " + rng.choice(("slow & <buggy>", "love it", "pricing hurts", "great support"))
            if has_comment else None,
            polarity=round(rng.uniform(-0.9, 0.9), 3) if has_comment else None,
            name=f"Customer {n}", account_name=f"Account {n % 4}",
            posted_ts=f"1763{n:06d}.000100" if n % 3 == 0 else None), rng, NOW))
    # Around local midnight: the window is New York's day, not UTC's.
    seeds += [
        Seed("success", "nps", 2, local(DAY, 23, 50), ["pricing"], "Worst week <!channel> ever", -1.0, "Late Night"),
        Seed("success", "nps", 10, local(DAY, 0, 10), ["support"], "Brilliant team, thank you", 1.0, "Early Bird"),
        Seed("success", "nps", 0, local(DAY - timedelta(days=1), 23, 55), ["bugs"], "Broken", -1.0, "Day Before"),
        Seed("success", "nps", 10, local(DAY + timedelta(days=1), 0, 5), ["support"], "Superb", 1.0, "Day After"),
        # Earlier days, for the previous 7 days' NPS.
        Seed("success", "nps", 9, local(DAY - timedelta(days=11), 12), []),
        Seed("success", "nps", 3, local(DAY - timedelta(days=12), 12), []),
        Seed("success", "nps", 10, local(DAY - timedelta(days=13), 12), []),
        Seed("success", "nps", 10, local(DAY - timedelta(days=14), 12), []),  # outside both windows
    ]
    # An old detractor claimed and resolved on DAY counts for DAY, whenever it arrived.
    seeds.append(Seed("success", "nps", 1, local(DAY - timedelta(days=40), 9), ["billing"], name="Old Timer",
                      status="resolved", claimed_by="U0BEN", claimed_at=local(DAY, 9, 30),
                      resolved_by="U0BEN", resolved_at=local(DAY, 15)))
    # The oldest open items of all (any day), one posted to Slack.
    seeds.append(Seed("success", "csat", 1, local(DAY - timedelta(days=60), 8), [], name="Ancient Open",
                      posted_ts="1760000000.000200"))
    seeds.append(Seed("success", "escalation", None, local(DAY - timedelta(days=50), 8), [], name=None))
    # A detractor received the day before, resolved the morning after DAY: open at the end of DAY.
    seeds.append(Seed("success", "nps", 4, local(DAY - timedelta(days=1), 10), [], name="Resolved Later",
                      status="resolved", claimed_by="U0ANA", claimed_at=local(DAY - timedelta(days=1), 11),
                      resolved_by="U0ANA", resolved_at=local(DAY + timedelta(days=1), 8)))
    # Another team's items on DAY, claimed and resolved on DAY: they must not count anywhere.
    for n in range(4):
        seeds.append(Seed("support", "nps", n, local(DAY, 10 + n), ["pricing"], "Other team's comment", -0.99,
                          f"Support {n}", status="resolved", claimed_by="U0DAN", claimed_at=local(DAY, 11 + n),
                          resolved_by="U0DAN", resolved_at=local(DAY, 12 + n)))
    seeds.append(Seed("support", "csat", 1, local(DAY - timedelta(days=90), 8), [], name="Support Ancient"))
    return seeds


def store(session_factory, seeds: list[Seed]) -> None:
    with session_scope(session_factory) as session:
        for n, seed in enumerate(seeds):
            item = Item(source="generic", external_id=f"seed-{n}", kind=seed.kind, score=seed.score,
                        category=seed.category, comment=seed.comment, customer_name=seed.name,
                        customer_email=f"c{n}@example.com" if seed.name is None and seed.kind != "escalation" else None,
                        subject="Server down" if seed.kind == "escalation" else None,
                        account_name=seed.account_name, sentiment_polarity=seed.polarity, themes=seed.themes,
                        received_at=seed.received_at, updated_at=seed.received_at, team=seed.team,
                        channel="C0SUCCESS" if seed.team == "success" else "C0SUPPORT", content_hash="x")
            session.add(item)
            session.flush()
            seed.id = item.id
            session.add(FollowUp(item_id=item.id, status=seed.status, claimed_by=seed.claimed_by,
                                 claimed_at=seed.claimed_at, resolved_by=seed.resolved_by,
                                 resolved_at=seed.resolved_at, updated_at=seed.received_at))
            if seed.posted_ts:
                session.add(SlackMessage(item_id=item.id, channel=item.channel, ts=seed.posted_ts,
                                         posted_at=seed.received_at))


# --- expected values, computed independently -------------------------------------------------------


def local_date(moment: datetime | None) -> date | None:
    return None if moment is None else moment.astimezone(NY).date()


def nps(seeds: list[Seed]) -> int | None:
    scores = [s.score for s in seeds if s.kind == "nps"]
    if not scores:
        return None
    return round(100 * (sum(x >= 9 for x in scores) - sum(x <= 6 for x in scores)) / len(scores))


def expected_digest(seeds: list[Seed], day: date, now: datetime) -> dict:
    ours = [s for s in seeds if s.team == "success"]
    today = [s for s in ours if local_date(s.received_at) == day]
    week = [s for s in ours if day - timedelta(days=6) <= local_date(s.received_at) <= day]
    prev = [s for s in ours if day - timedelta(days=13) <= local_date(s.received_at) <= day - timedelta(days=7)]
    claimed = [s for s in ours if local_date(s.claimed_at) == day]
    resolved = [s for s in ours if local_date(s.resolved_at) == day]
    end_of_day = datetime(day.year, day.month, day.day, tzinfo=NY) + timedelta(days=1)
    cutoff = min(end_of_day.astimezone(UTC), now)
    themes = Counter(t for s in today for t in set(s.themes))
    commented = [s for s in today if s.comment]
    detractor_quotes = sorted((s for s in commented if s.category == "detractor"),
                              key=lambda s: (s.polarity, s.received_at))
    promoter_quotes = sorted((s for s in commented if s.category == "promoter"),
                             key=lambda s: (-s.polarity, s.received_at))
    # Triage order (none of these seeds is VIP or has a priority): escalations, detractors, passives,
    # promoters, unscored; oldest first within each.
    bands = {"detractor": 2, "passive": 3, "promoter": 4}
    unclaimed = [s for s in ours if s.status == "open"]
    open_items = sorted(unclaimed, key=lambda s: (0 if s.kind == "escalation" else bands.get(s.category, 5),
                                                  s.received_at, s.id))[:5]
    closers = Counter(s.resolved_by for s in resolved)
    ranked_closers = sorted(closers.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "responses_by_kind": dict(Counter(s.kind for s in today)),
        "nps_day": nps(today), "nps_day_count": sum(s.kind == "nps" for s in today),
        "nps_7d": nps(week), "nps_prev_7d": nps(prev),
        "detractors_new": sum(s.category == "detractor" for s in today),
        "detractors_claimed": sum(s.category == "detractor" for s in claimed),
        "detractors_resolved": sum(s.category == "detractor" for s in resolved),
        "detractors_open": sum(1 for s in ours if s.category == "detractor" and s.received_at < cutoff
                               and (s.resolved_at is None or s.resolved_at >= cutoff)),
        "median_claim_minutes": statistics.median([(s.claimed_at - s.received_at).total_seconds() / 60
                                                   for s in claimed]) if claimed else None,
        "median_resolve_minutes": statistics.median([(s.resolved_at - s.received_at).total_seconds() / 60
                                                     for s in resolved]) if resolved else None,
        "top_themes": sorted(themes.items(), key=lambda kv: (-kv[1], kv[0]))[:5],
        "critical": detractor_quotes[0].id if detractor_quotes else None,
        "glowing": promoter_quotes[0].id if promoter_quotes else None,
        "oldest_unclaimed": [s.id for s in open_items], "unclaimed_total": len(unclaimed),
        "oldest_links": [f"https://slack.com/archives/C0SUCCESS/p{s.posted_ts.replace('.', '')}"
                         if s.posted_ts else None for s in open_items],
        "top_closer": ranked_closers[0] if ranked_closers else None,
        "claimed_total": len(claimed), "resolved_total": len(resolved),
    }


def approx_or_none(actual: float | None, expected: float | None) -> bool:
    return actual is None and expected is None or (
        actual is not None and expected is not None and actual == pytest.approx(expected))


def assert_valid(blocks: list[dict]) -> None:
    assert validate_blocks(blocks) == [], validate_blocks(blocks)


# --- the daily digest ------------------------------------------------------------------------------


def test_digest_window_is_the_local_day() -> None:
    assert digest_window(SUCCESS, DAY) == (datetime(2026, 11, 20, 5, tzinfo=UTC), datetime(2026, 11, 21, 5, tzinfo=UTC))
    summer = digest_window(SUCCESS, date(2026, 7, 1))
    assert summer == (datetime(2026, 7, 1, 4, tzinfo=UTC), datetime(2026, 7, 2, 4, tzinfo=UTC))


def test_digest_window_on_dst_days() -> None:
    fall_start, fall_end = digest_window(SUCCESS, date(2026, 11, 1))
    assert (fall_start, fall_end) == (datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 2, 5, tzinfo=UTC))
    assert fall_end - fall_start == timedelta(hours=25)
    spring_start, spring_end = digest_window(SUCCESS, date(2026, 3, 8))
    assert (spring_start, spring_end) == (datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 9, 4, tzinfo=UTC))
    assert spring_end - spring_start == timedelta(hours=23)
    london = CONFIG.team("support")
    start, end = digest_window(london, date(2026, 10, 25))
    assert end - start == timedelta(hours=25) and start == datetime(2026, 10, 24, 23, tzinfo=UTC)


@pytest.mark.parametrize("day", [DAY, DAY - timedelta(days=1), DAY - timedelta(days=4)])
def test_daily_digest_matches_independent_computation(session_factory, day: date) -> None:
    seeds = make_daily_seeds()
    store(session_factory, seeds)
    expected = expected_digest(seeds, day, NOW)
    with session_scope(session_factory) as session:
        d = build_daily_digest(session, team=SUCCESS, day=day, now=NOW)
    assert (d.team, d.day) == ("success", day)
    assert d.responses_by_kind == expected["responses_by_kind"]
    assert (d.nps_day, d.nps_day_count) == (expected["nps_day"], expected["nps_day_count"])
    assert (d.nps_7d, d.nps_prev_7d) == (expected["nps_7d"], expected["nps_prev_7d"])
    assert d.detractors_new == expected["detractors_new"]
    assert d.detractors_claimed == expected["detractors_claimed"]
    assert d.detractors_resolved == expected["detractors_resolved"]
    assert d.detractors_open == expected["detractors_open"]
    assert approx_or_none(d.median_claim_minutes, expected["median_claim_minutes"])
    assert approx_or_none(d.median_resolve_minutes, expected["median_resolve_minutes"])
    assert d.top_themes == expected["top_themes"]
    assert (d.critical_quote.item_id if d.critical_quote else None) == expected["critical"]
    assert (d.glowing_quote.item_id if d.glowing_quote else None) == expected["glowing"]
    assert [ref.item_id for ref in d.oldest_unclaimed] == expected["oldest_unclaimed"]
    assert [ref.link for ref in d.oldest_unclaimed] == expected["oldest_links"]
    assert d.unclaimed_total == expected["unclaimed_total"]
    assert d.top_closer == expected["top_closer"]
    assert (d.claimed_total, d.resolved_total) == (expected["claimed_total"], expected["resolved_total"])
    assert not d.quiet
    text, blocks = digest_message(d)
    assert_valid(blocks)
    assert text and len(text) <= 300


def test_daily_digest_details_of_the_seeded_day(session_factory) -> None:
    """Spot checks that do not depend on the random part of the seed."""
    seeds = make_daily_seeds()
    store(session_factory, seeds)
    by_name = {s.name: s for s in seeds}
    with session_scope(session_factory) as session:
        d = build_daily_digest(session, team=SUCCESS, day=DAY, now=NOW)
    # 23:50 New York on DAY is 04:50 UTC the next day, and still DAY's worst comment.
    assert d.critical_quote is not None and d.critical_quote.item_id == by_name["Late Night"].id
    assert d.critical_quote.text == "Worst week <!channel> ever" and d.critical_quote.score == 2
    assert d.critical_quote.kind == "nps" and d.critical_quote.who.startswith("Late Night")
    assert d.glowing_quote is not None and d.glowing_quote.item_id == by_name["Early Bird"].id
    # Most urgent first, of any day: the oldest escalation, then (after the other escalations) the oldest
    # detractor, with their Slack links when posted.
    first = d.oldest_unclaimed[0]
    assert first.label == "Escalation — Server down" and first.link is None
    detractor = next(ref for ref in d.oldest_unclaimed if not ref.label.startswith("Escalation"))
    assert (detractor.item_id, detractor.label) == (by_name["Ancient Open"].id, "CSAT 1 · Detractor — Ancient Open")
    assert detractor.link == "https://slack.com/archives/C0SUCCESS/p1760000000000200"
    assert detractor.received_at == by_name["Ancient Open"].received_at
    # Claimed and resolved on DAY though received 40 days before; another team's work never counts.
    assert d.detractors_resolved >= 1 and "U0DAN" not in str(d.top_closer)
    text, blocks = digest_message(d)
    assert_valid(blocks)
    rendered = str(blocks)
    assert "&lt;!channel&gt;" in rendered and "<!channel>" not in rendered, "customer text is escaped"
    assert "Other team" not in rendered
    plain = digest_text(d)
    # Each NPS states its window: the day, and the 7 local days ending with it.
    assert f"NPS 20 Nov: {d.nps_day:+d} ({d.nps_day_count} responses)" in plain
    assert f"NPS last 7 days to 20 Nov: {d.nps_7d:+d}" in plain
    assert "*NPS last 7 days to 20 Nov:*" in rendered and "*NPS 20 Nov:*" in rendered
    assert "Worst week <!channel> ever" in plain


def test_resolved_after_the_cutoff_still_counts_as_open(session_factory) -> None:
    seeds = make_daily_seeds()
    store(session_factory, seeds)
    later = next(s for s in seeds if s.name == "Resolved Later")
    day_before = DAY - timedelta(days=1)
    with session_scope(session_factory) as session:
        at_end = build_daily_digest(session, team=SUCCESS, day=day_before, now=NOW)
        # The same day seen from a moment after that resolution: nothing changes, the cutoff is the day's end.
        later_view = build_daily_digest(session, team=SUCCESS, day=day_before, now=NOW + timedelta(days=3))
    expected = expected_digest(seeds, day_before, NOW)["detractors_open"]
    assert at_end.detractors_open == later_view.detractors_open == expected
    assert later.resolved_at > digest_window(SUCCESS, day_before)[1]


def test_digest_of_today_stops_at_now(session_factory) -> None:
    seeds = make_daily_seeds()
    store(session_factory, seeds)
    now = local(DAY, 12)
    with session_scope(session_factory) as session:
        d = build_daily_digest(session, team=SUCCESS, day=DAY, now=now)
    # Items received after `now` (in the seed they exist; in life they would not) are not open at the cutoff.
    expected = sum(1 for s in seeds if s.team == "success" and s.category == "detractor" and s.received_at < now
                   and (s.resolved_at is None or s.resolved_at >= now))
    assert d.detractors_open == expected


def test_the_unclaimed_list_is_cut_with_its_count_and_where_to_see_the_rest(session_factory) -> None:
    seeds = make_daily_seeds()
    store(session_factory, seeds)
    with session_scope(session_factory) as session:
        d = build_daily_digest(session, team=SUCCESS, day=DAY, now=NOW)
    total = expected_digest(seeds, DAY, NOW)["unclaimed_total"]
    assert len(d.oldest_unclaimed) == 5 and total > 5
    _, blocks = digest_message(d)
    unclaimed = next(b for b in blocks if b.get("block_id") == "cx_digest_unclaimed")["text"]["text"]
    assert unclaimed.startswith(f"*Unclaimed ({total}), most urgent first*")
    assert unclaimed.endswith(f"… and {total - 5} more: `/cxloop open` in this channel lists them, "
                              "the dashboard lists them all")
    assert f"… and {total - 5} more" in digest_text(d)


def test_quiet_day_is_one_line_and_what_still_waits(session_factory) -> None:
    seeds = make_daily_seeds()
    store(session_factory, seeds)
    with session_scope(session_factory) as session:
        d = build_daily_digest(session, team=SUCCESS, day=date(2026, 10, 15), now=NOW)
    assert d.quiet and d.responses_by_kind == {} and d.nps_day is None and d.top_closer is None
    text, blocks = digest_message(d)
    assert text == "Quiet day for success: no new responses, nothing claimed or resolved."
    assert blocks[0]["text"]["text"] == text
    assert_valid(blocks)
    assert "Quiet day for success" in digest_text(d)
    # Nothing happened that day, yet the queue is still there: a quiet digest must not hide it.
    assert d.unclaimed_total > 0
    unclaimed = next(b for b in blocks if b.get("block_id") == "cx_digest_unclaimed")["text"]["text"]
    assert unclaimed.startswith(f"*Unclaimed ({d.unclaimed_total}), most urgent first*")
    assert f"Unclaimed ({d.unclaimed_total})" in digest_text(d)
    # Where Slack cannot render a date token (notifications), the fallback is the team's clock, not UTC.
    fallbacks = re.findall(r"<!date\^\d+\^[^|]+\|([^>]+)>", unclaimed)
    assert fallbacks and all(f.endswith((" EST", " EDT")) for f in fallbacks), fallbacks


def test_quiet_day_with_nothing_waiting_is_one_line(session_factory) -> None:
    with session_scope(session_factory) as session:
        d = build_daily_digest(session, team=SUCCESS, day=date(2026, 10, 15), now=NOW)
    assert d.quiet and d.unclaimed_total == 0
    text, blocks = digest_message(d)
    assert [b["text"]["text"] for b in blocks] == [text]
    assert digest_text(d).splitlines()[1:] == [text]


def test_digest_message_truncates_and_shows_the_nps_change(session_factory) -> None:
    with session_scope(session_factory) as session:
        for n, (score, days_back) in enumerate([(10, 0), (10, 1), (3, 8), (9, 9)]):
            item = Item(source="generic", external_id=f"t-{n}", kind="nps", score=score,
                        category=categorize("nps", score), comment=("<@U0ANA> " + "x" * 5000) if n == 0 else None,
                        customer_name="Zed" * 80, sentiment_polarity=0.9, themes=["a_theme", "<b>"],
                        received_at=local(DAY - timedelta(days=days_back), 12),
                        updated_at=NOW, team="success", channel="C0SUCCESS", content_hash="x")
            session.add(item)
            session.flush()
            session.add(FollowUp(item_id=item.id, status="open", updated_at=NOW))
    with session_scope(session_factory) as session:
        d = build_daily_digest(session, team=SUCCESS, day=DAY, now=NOW)
    assert (d.nps_7d, d.nps_prev_7d) == (100, 0)
    text, blocks = digest_message(d)
    assert_valid(blocks)
    rendered = "\n".join(b.get("text", {}).get("text", "") for b in blocks)
    assert "▲ 100 points above the 7 days before (+0)" in rendered
    glowing = next(b for b in blocks if b.get("block_id") == "cx_digest_glowing")["text"]["text"]
    quoted = glowing.split("\n")[1]
    assert quoted.startswith("> &lt;@U0ANA&gt;") and quoted.endswith("…") and len(quoted) <= 2 + 280
    assert "<b>" not in rendered and "&lt;b&gt;" in rendered


# --- trend reports ---------------------------------------------------------------------------------

WEEK = "2026-W47"  # Mon 16 – Sun 22 Nov 2026
REPORT_NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def make_weekly_seeds() -> list[Seed]:
    rng = random.Random(47)
    seeds = []
    first_monday = date(2026, 9, 21)  # W39: one week before the 8 shown, and W48 after them
    for _ in range(150):
        day = first_monday + timedelta(days=rng.randrange(0, 10 * 7))
        kind = rng.choice(("nps", "nps", "nps", "csat", "escalation"))
        score = None if kind == "escalation" else rng.randint(0, 10) if kind == "nps" else rng.randint(1, 5)
        week = day.isocalendar()[1]
        # Pricing rises in the last week, bugs falls; support is steady.
        pool = ["pricing"] * (6 if week == 47 else 1) + ["bugs"] * (6 if week == 46 else 1) + ["support"] * 2
        seeds.append(_with_followup(Seed("success", kind, score, local(day, rng.randint(0, 23), rng.randint(0, 59)),
                                         sorted(set(rng.sample(pool, 2)))), rng, REPORT_NOW))
    # Midnight edges of the reported week: Sunday 23:59 is in, Monday 00:01 after it is not.
    seeds.append(Seed("success", "nps", 10, local(date(2026, 11, 22), 23, 59), ["onboarding"]))
    seeds.append(Seed("success", "nps", 0, local(date(2026, 11, 23), 0, 1), ["onboarding"]))
    seeds.append(Seed("support", "nps", 0, local(date(2026, 11, 18), 12), ["pricing"]))
    return seeds


def test_weekly_report_matches_independent_computation(session_factory) -> None:
    seeds = make_weekly_seeds()
    store(session_factory, seeds)
    with session_scope(session_factory) as session:
        r = build_weekly_report(session, team=SUCCESS, week=WEEK, now=REPORT_NOW)
    labels = [f"2026-W{w}" for w in range(40, 48)]
    assert (r.team, r.kind, r.period) == ("success", "weekly", WEEK)
    assert [p.label for p in r.periods] == labels
    ours = [s for s in seeds if s.team == "success"]

    def week_of_moment(moment: datetime) -> str:
        year, week, _ = local_date(moment).isocalendar()
        return f"{year}-W{week:02d}"

    def week_of(s: Seed) -> str:
        return week_of_moment(s.received_at)

    for period in r.periods:
        items = [s for s in ours if week_of(s) == period.label]
        nps_items = [s for s in items if s.kind == "nps"]
        # Over the items claimed in the week, whenever they arrived (bot.insights.stats.median_time_to_claim).
        waits = [(s.claimed_at - s.received_at).total_seconds() / 60 for s in ours
                 if s.claimed_at and week_of_moment(s.claimed_at) == period.label]
        assert period.volume == len(items), period.label
        assert (period.nps, period.nps_count) == (nps(items), len(nps_items)), period.label
        assert (period.detractors, period.passives, period.promoters) == (
            sum(s.score <= 6 for s in nps_items), sum(7 <= s.score <= 8 for s in nps_items),
            sum(s.score >= 9 for s in nps_items)), period.label
        assert approx_or_none(period.median_claim_minutes, statistics.median(waits) if waits else None)
        monday = date.fromisocalendar(2026, int(period.label[-2:]), 1)
        assert period.start == datetime(monday.year, monday.month, monday.day, tzinfo=NY).astimezone(UTC)
    this = Counter(t for s in ours if week_of(s) == "2026-W47" for t in set(s.themes))
    before = Counter(t for s in ours if week_of(s) == "2026-W46" for t in set(s.themes))
    moves = [(t, this[t], before[t]) for t in set(this) | set(before)]
    rising = sorted((m for m in moves if m[1] > m[2]), key=lambda m: (m[2] - m[1], -m[1], m[0]))[:3]
    falling = sorted((m for m in moves if m[1] < m[2]), key=lambda m: (m[1] - m[2], -m[2], m[0]))[:3]
    assert r.themes_rising == rising and r.themes_falling == falling
    assert r.themes_rising[0][0] == "pricing" and r.themes_falling[0][0] == "bugs"
    text, blocks = report_message(r)
    assert_valid(blocks)
    table = next(b for b in blocks if b.get("block_id") == "cx_report_table")["text"]["text"]
    assert table.startswith("```") and all(label in table for label in labels)
    assert "Rising themes: pricing" in report_text(r)
    assert text and len(text) <= 300


def test_monthly_report_periods(session_factory) -> None:
    seeds = make_weekly_seeds()
    store(session_factory, seeds)
    with session_scope(session_factory) as session:
        r = build_monthly_report(session, team=SUCCESS, month="2026-11", now=REPORT_NOW)
    assert [p.label for p in r.periods] == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    for period in r.periods:
        assert period.volume == sum(1 for s in seeds if s.team == "success"
                                    and local_date(s.received_at).strftime("%Y-%m") == period.label)
    assert r.periods[-1].end == datetime(2026, 12, 1, 5, tzinfo=UTC)
    assert_valid(report_message(r)[1])


def test_vip_coverage(session_factory) -> None:
    config = make_config({**TEST_CONFIG, "teams": [
        {"name": "success", "channel": "C0SUCCESS", "timezone": "America/New_York", "members": ["U0ANA", "U0BEN"]},
        {"name": "support", "channel": "C0SUPPORT", "timezone": "Europe/London"}]})
    team = config.team("success")
    end = datetime(2026, 11, 23, 5, tzinfo=UTC)  # the end of W47 in New York
    created = end - timedelta(days=400)
    # (owner, vip, cadence days, touches (days before the end; negative = after it), created)
    accounts = [
        ("U0ANA", True, 30, [5], created),          # touched within cadence
        ("U0ANA", True, 30, [29.9], created),       # just within
        ("U0BEN", True, 30, [40], created),         # overdue
        ("U0BEN", True, 7, [3, 60], created),       # a short cadence, touched
        ("U0BEN", True, 7, [10], created),          # a short cadence, overdue
        ("U0ANA", True, 30, [-2], created),         # touched only after the period: not as of its end
        ("U0ANA", True, 30, [], created),           # never touched
        ("U0CARA", True, 30, [1], created),         # not a member's account
        ("U0ANA", False, 30, [1], created),         # not a VIP
        ("U0ANA", True, 30, [], end + timedelta(days=1)),  # created after the period
    ]
    with session_scope(session_factory) as session:
        for n, (owner, vip, cadence, touches, made) in enumerate(accounts):
            last = max((end - timedelta(days=d) for d in touches), default=None)
            account = Account(name=f"A{n}", search_name=f"a{n}", vip=vip, owner=owner, cadence_days=cadence,
                              properties={}, last_touch_at=last, next_due_at=end, created_at=made, updated_at=made)
            session.add(account)
            session.flush()
            for d in touches:
                session.add(Touch(account_id=account.id, actor=owner, channel="call", touched_at=end - timedelta(days=d),
                                  created_at=end))
    with session_scope(session_factory) as session:
        r = build_weekly_report(session, team=team, week=WEEK, now=REPORT_NOW)
        everyone = build_weekly_report(session, team=CONFIG.team("success"), week=WEEK, now=REPORT_NOW)
    assert (r.vip_total, r.vip_touched_within_cadence) == (7, 3)
    assert r.vip_coverage == pytest.approx(3 / 7)
    assert "43% of 7 VIPs touched within cadence" in str(report_message(r)[1])
    # A team without members covers every VIP account.
    assert (everyone.vip_total, everyone.vip_touched_within_cadence) == (8, 4)


def test_report_without_data(session_factory) -> None:
    with session_scope(session_factory) as session:
        r = build_weekly_report(session, team=SUCCESS, week="2026-W01", now=REPORT_NOW)
    assert len(r.periods) == 8 and r.periods[0].label == "2025-W46" and r.periods[-1].label == "2026-W01"
    assert all(p.volume == 0 and p.nps is None for p in r.periods)
    assert r.vip_coverage is None and r.themes_rising == [] and r.themes_falling == []
    assert_valid(report_message(r)[1])
    assert "no VIP accounts" in report_text(r)


def test_week_and_month_helpers() -> None:
    assert parse_week("2026-W47") == date(2026, 11, 16)
    assert parse_week("2026-W53") == date(2026, 12, 28)
    with pytest.raises(ValueError, match="2026-W47"):
        parse_week("2026-47")
    with pytest.raises(ValueError, match="no ISO week 53"):
        parse_week("2025-W53")
    assert previous_week(date(2026, 11, 23)) == "2026-W47"
    assert previous_week(date(2026, 1, 5)) == "2026-W01"
    assert previous_week(date(2026, 1, 4)) == "2025-W52"
    assert previous_month(date(2026, 11, 1)) == "2026-10"
    assert previous_month(date(2026, 1, 15)) == "2025-12"


# --- the command line ------------------------------------------------------------------------------

CLI_TOML = """\
[[teams]]
name = "success"
channel = "C0SUCCESS"
timezone = "America/New_York"

[[teams]]
name = "support"
channel = "C0SUPPORT"
timezone = "Europe/London"
"""


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str | None]:
    (tmp_path / "cxloop.toml").write_text(CLI_TOML, encoding="utf-8")
    env: dict[str, str | None] = dict.fromkeys(("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                                                 "SLACK_API_URL", "PORT", "LOG_LEVEL"))
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", CXLOOP_CONFIG=str(tmp_path / "cxloop.toml"))
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return env


def cli(args: list[str], env: dict[str, str | None]):
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_cli_digest_prints_the_day(cli_env) -> None:
    seeds = make_daily_seeds()
    engine = make_engine(cli_env["DATABASE_URL"])
    store(make_session_factory(engine), seeds)
    engine.dispose()
    expected = expected_digest(seeds, DAY, datetime.now(UTC))
    result = cli(["digest", "success", "--date", DAY.isoformat()], cli_env)
    assert result.exit_code == 0, result.output
    assert f"NPS 20 Nov: {expected['nps_day']:+d} ({expected['nps_day_count']} responses)" in result.output
    assert (f"Detractors: {expected['detractors_new']} new, {expected['detractors_claimed']} claimed, "
            f"{expected['detractors_resolved']} resolved, {expected['detractors_open']} still open") in result.output
    assert f"Responses: {sum(expected['responses_by_kind'].values())} (" in result.output
    assert "Friday 20 November 2026" in result.output


def test_cli_digest_errors(cli_env) -> None:
    result = CliRunner().invoke(main, ["digest", "nobody"], env=cli_env)
    assert result.exit_code == 2 and "Unknown team 'nobody'" in result.output and "success, support" in result.output
    result = CliRunner().invoke(main, ["digest", "success", "--date", "20-11-2026"], env=cli_env)
    assert result.exit_code == 2 and "--date" in result.output
    result = CliRunner().invoke(main, ["report", "success", "--week", "2026-47"], env=cli_env)
    assert result.exit_code == 2 and "2026-W47" in result.output
    result = CliRunner().invoke(main, ["report", "success", "--week", "2026-W47", "--month", "2026-11"], env=cli_env)
    assert result.exit_code == 2


def test_cli_digest_default_day_and_quiet(cli_env) -> None:
    result = cli(["digest", "support"], cli_env)
    assert result.exit_code == 0, result.output
    assert "Quiet day for support" in result.output


def test_cli_report_prints_the_table(cli_env) -> None:
    seeds = make_weekly_seeds()
    engine = make_engine(cli_env["DATABASE_URL"])
    store(make_session_factory(engine), seeds)
    engine.dispose()
    volume = sum(1 for s in seeds if s.team == "success" and date(2026, 11, 16) <= local_date(s.received_at)
                 <= date(2026, 11, 22))
    result = cli(["report", "success", "--week", WEEK], cli_env)
    assert result.exit_code == 0, result.output
    assert "Weekly report for success: 2026-W47, 16 Nov – 22 Nov 2026" in result.output
    line = next(line for line in result.output.splitlines() if line.startswith("2026-W47"))
    assert line.split()[1] == str(volume)
    result = cli(["report", "success", "--month", "2026-11"], cli_env)
    assert result.exit_code == 0 and "Monthly report for success: 2026-11, 1 Nov – 30 Nov 2026" in result.output


def test_cli_send_goes_through_jobs_once(cli_env, monkeypatch) -> None:
    calls: list[dict] = []

    def send_digest(session, **kwargs):
        calls.append(kwargs)
        return len(calls) == 1

    def send_report(session, **kwargs):
        calls.append(kwargs)
        return False

    monkeypatch.setattr(bot.cli.reports, "send_digest", send_digest)
    monkeypatch.setattr(bot.cli.reports, "send_report", send_report)
    first = cli(["digest", "success", "--date", "2026-11-20", "--send"], cli_env)
    second = cli(["digest", "success", "--date", "2026-11-20", "--send"], cli_env)
    assert first.exit_code == 0 and "Queued" in first.output
    assert "Already sent; not sending twice." in second.output
    assert calls[0]["day"] == date(2026, 11, 20) and calls[0]["claimed_by"] == "cli"
    assert calls[0]["team"].name == "success" and calls[0]["config"].team("success").channel == "C0SUCCESS"
    report = cli(["report", "success", "--week", "2026-W47", "--send"], cli_env)
    assert "Already sent; not sending twice." in report.output
    assert (calls[2]["kind"], calls[2]["period"]) == ("weekly", "2026-W47")
    monthly = cli(["report", "success", "--month", "2026-10", "--send"], cli_env)
    assert monthly.exit_code == 0 and (calls[3]["kind"], calls[3]["period"]) == ("monthly", "2026-10")


def test_bulk_rows_are_supported(session_factory) -> None:
    """The bench inserts with insert(Item) in bulk; the digest reads such rows like ORM-made ones."""
    rows = [{"source": "bulk", "external_id": str(n), "kind": "nps", "score": 9, "category": "promoter",
             "received_at": local(DAY, 12), "updated_at": NOW, "team": "success", "channel": "C0SUCCESS",
             "content_hash": "x", "themes": ["pricing"], "properties": {}, "tags": []} for n in range(3)]
    with session_scope(session_factory) as session:
        session.execute(insert(Item), rows)
    with session_scope(session_factory) as session:
        d = build_daily_digest(session, team=SUCCESS, day=DAY, now=NOW)
    assert d.nps_day == 100 and d.top_themes == [("pricing", 3)]
