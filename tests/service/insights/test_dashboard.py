"""The dashboard's figures on SQLite and Postgres, checked against values this test computes itself.

Items go in through intake (`ingest_item`) and are claimed / resolved through `bot.followups.service` at known
times; VIP touches through `bot.vip.accounts.log_touch`. Expected values are computed here with plain Python over
the seed list (ISO weeks, NPS, medians, SLA, ages, theme halves); nothing is asked of bot.insights.dashboard.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.db import make_engine, make_session_factory, session_scope
from bot.followups.service import claim_followup, resolve_followup
from bot.insights.dashboard import FilterError, dashboard_data
from bot.intake.ingest import ingest_item
from bot.intake.payload import validate_payload
from bot.intake.scoring import categorize
from bot.vip.accounts import log_touch
from models import Account, Item
from tests.conftest import TEST_CONFIG, make_config

CONFIG = make_config({
    **TEST_CONFIG,
    "teams": [
        {"name": "success", "channel": "C0SUCCESS", "timezone": "America/New_York", "members": ["U0ANA", "U0BEN"]},
        {"name": "support", "channel": "C0SUPPORT", "timezone": "Europe/London", "members": ["U0CARA"]},
    ],
    "schedule": {"sla_hours": {"escalation": 1, "detractor": 4, "passive": 24}},
})
SLA_HOURS = {"escalation": 1, "detractor": 4, "passive": 24}
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)   # a Friday
START, END = date(2026, 9, 1), date(2026, 11, 20)  # a Tuesday: the first ISO week is cut
COMMENTS = ("Far too expensive for what it does", "The app is slow every morning", "It crashes daily",
            "The invoice was wrong again", "Great people, great product", None)
AGE_LIMITS_DAYS = (1, 3, 7, 14, 28)


@dataclass
class Seed:
    n: int
    team: str
    kind: str
    score: int | None
    received_at: datetime
    comment: str | None
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None
    id: int | None = None
    themes: tuple[str, ...] = ()

    @property
    def category(self) -> str | None:
        return categorize(self.kind, self.score)


def make_seeds() -> list[Seed]:
    rng = random.Random(8)
    first = datetime(2026, 8, 24, tzinfo=UTC)  # a week before the range: those items must not count
    seeds = []
    for n in range(160):
        kind = rng.choice(("nps", "nps", "nps", "nps", "csat", "ces", "escalation"))
        score = None if kind == "escalation" else rng.randint(*{"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[kind])
        received = first + timedelta(minutes=rng.randint(0, int((NOW - first).total_seconds() // 60)))
        comment = rng.choice(COMMENTS)
        if kind == "escalation" and comment is None:
            comment = "Server is down"
        seed = Seed(n, rng.choice(("success", "success", "support")), kind, score, received, comment)
        roll = rng.random()
        if roll < 0.1:  # resolved straight away, never claimed: resolving claims it too
            resolved = received + timedelta(minutes=rng.randint(10, 600))
            if resolved <= NOW:
                seed.claimed_at = seed.resolved_at = resolved
        elif roll < 0.7:
            claimed = received + timedelta(minutes=rng.randint(5, 3000))
            if claimed <= NOW:
                seed.claimed_at = claimed
                if rng.random() < 0.5:
                    resolved = claimed + timedelta(minutes=rng.randint(5, 3000))
                    if resolved <= NOW:
                        seed.resolved_at = resolved
        seeds.append(seed)
    # An open detractor right at the range's start, and one received a minute before it (outside).
    seeds.append(Seed(900, "success", "nps", 0, datetime(2026, 9, 1, 0, 0, tzinfo=UTC), "Too expensive"))
    seeds.append(Seed(901, "success", "nps", 1, datetime(2026, 8, 31, 23, 59, tzinfo=UTC), "Too expensive"))
    # Exactly at the start of ISO weeks 37 and 47 (UTC): each belongs to the week it starts.
    seeds.append(Seed(902, "support", "nps", 10, datetime(2026, 9, 7, 0, 0, tzinfo=UTC), None))
    seeds.append(Seed(903, "support", "nps", 3, datetime(2026, 11, 16, 0, 0, tzinfo=UTC), None))
    return seeds


def store(factory, seeds: list[Seed]) -> None:
    with session_scope(factory) as session:
        for seed in seeds:
            body = {"id": f"seed-{seed.n}", "kind": seed.kind, "customer": {"name": f"Customer {seed.n}"}}
            if seed.score is not None:
                body["score"] = seed.score
            if seed.comment:
                body["comment"] = seed.comment
            seed.id = ingest_item(session, source="generic", payload=validate_payload(body), config=CONFIG,
                                  now=seed.received_at, team=seed.team).item_id
            if seed.claimed_at and seed.claimed_at != seed.resolved_at:
                assert claim_followup(session, item_id=seed.id, user_id="U0ANA", now=seed.claimed_at).changed
            if seed.resolved_at:
                assert resolve_followup(session, item_id=seed.id, user_id="U0BEN", outcome="fixed", note=None,
                                        now=seed.resolved_at).changed
    # Themes are scoring's output (tested there); read what it stored to count them here.
    with session_scope(factory) as session:
        stored = dict(session.execute(select(Item.id, Item.themes)).all())
    for seed in seeds:
        seed.themes = tuple(stored[seed.id])


ACCOUNTS = [  # name, owner, cadence, vip, touches (days before NOW)
    ("Acme", "U0ANA", 30, True, (10, 40)),
    ("Birch", "U0BEN", 7, True, (10,)),
    ("Cedar", "U0CARA", 30, True, (5,)),
    ("Dune", None, 30, True, ()),
    ("Elm", "U0ANA", 30, False, (1,)),
]


def store_accounts(factory) -> None:
    created = datetime(2026, 6, 1, tzinfo=UTC)
    with session_scope(factory) as session:
        for name, owner, cadence, vip, touches in ACCOUNTS:
            account = Account(name=name, search_name=name.lower(), vip=vip, owner=owner, cadence_days=cadence,
                              created_at=created, updated_at=created, next_due_at=created + timedelta(days=cadence))
            session.add(account)
            session.flush()
            for days in touches:
                moment = NOW - timedelta(days=days)
                log_touch(session, account_id=account.id, actor=owner or "U0ANA", channel="call", note=None,
                          now=moment, touched_at=moment)


# --- expected values, computed independently ------------------------------------------------------


def midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def nps(scores: list[int]) -> int | None:
    if not scores:
        return None
    return round(100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores))


def minutes(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60


def sla_breached(seed: Seed) -> bool:
    key = "escalation" if seed.kind == "escalation" else seed.category
    if key not in SLA_HOURS:
        return False
    return (seed.claimed_at or NOW) - seed.received_at > timedelta(hours=SLA_HOURS[key])


def expected(seeds: list[Seed], *, team: str | None, kind: str | None, start: date, end: date, tz: str) -> dict:
    lo, hi = midnight(start, tz), midnight(end + timedelta(days=1), tz)
    ours = sorted((s for s in seeds if (team is None or s.team == team) and (kind is None or s.kind == kind)
                   and lo <= s.received_at < hi), key=lambda s: (s.received_at, s.id))
    weeks = []
    monday = start - timedelta(days=start.weekday())
    while monday <= end:
        a = midnight(max(monday, start), tz)
        b = midnight(min(monday + timedelta(days=7), end + timedelta(days=1)), tz)
        week = [s for s in ours if a <= s.received_at < b]
        year, number, _ = monday.isocalendar()
        scores = [s.score for s in week if s.kind == "nps"]
        weeks.append((f"{year}-W{number:02d}", len(week), nps(scores), len(scores)))
        monday += timedelta(days=7)
    mix: dict[str, dict[str, int]] = {}
    for s in ours:
        counts = mix.setdefault(s.kind, {})
        counts[s.category or "none"] = counts.get(s.category or "none", 0) + 1
    # Most urgent first (no seed is VIP or has a priority): escalations, detractors, passives, promoters.
    bands = {"detractor": 2, "passive": 3, "promoter": 4}
    # Open: not resolved, and not a promoter nobody claimed (it waits for nobody: no follow-up needed).
    open_ = sorted((s for s in ours if s.resolved_at is None and (s.claimed_at or s.category != "promoter")),
                   key=lambda s: (0 if s.kind == "escalation" else bands.get(s.category, 5), s.received_at, s.id))
    open_detractors = [s for s in open_ if s.category == "detractor"]
    ages = [0] * (len(AGE_LIMITS_DAYS) + 1)
    for s in open_detractors:
        age = NOW - s.received_at
        ages[next((i for i, d in enumerate(AGE_LIMITS_DAYS) if age < timedelta(days=d)), len(AGE_LIMITS_DAYS))] += 1
    # Medians: over the follow-ups claimed / resolved in the range, whenever their item arrived (the
    # digest's and the reports' definition).
    theirs = [s for s in seeds if (team is None or s.team == team) and (kind is None or s.kind == kind)]
    claims = [minutes(s.claimed_at, s.received_at) for s in theirs if s.claimed_at and lo <= s.claimed_at < hi]
    resolves = [minutes(s.resolved_at, s.received_at) for s in theirs if s.resolved_at and lo <= s.resolved_at < hi]
    # The halves split the span that holds items: from the week of the range's first item (or the range's
    # start) to now.
    first = lo
    if ours:
        day = ours[0].received_at.astimezone(ZoneInfo(tz)).date()
        first = max(lo, midnight(day - timedelta(days=day.weekday()), tz))
    split = first + (min(hi, NOW) - first) / 2
    before: dict[str, int] = {}
    after: dict[str, int] = {}
    for s in ours:
        half = before if s.received_at < split else after
        for theme in set(s.themes):
            half[theme] = half.get(theme, 0) + 1
    moves = [(t, before.get(t, 0), after.get(t, 0)) for t in set(before) | set(after)]
    rising = sorted((m for m in moves if m[2] > m[1]), key=lambda m: (m[1] - m[2], -m[2], m[0]))[:5]
    falling = sorted((m for m in moves if m[2] < m[1]), key=lambda m: (m[2] - m[1], -m[1], m[0]))[:5]
    return {
        "weeks": weeks, "volume": len(ours), "nps": nps([s.score for s in ours if s.kind == "nps"]),
        "mix": mix, "open_ids": [s.id for s in open_], "open_detractors": len(open_detractors),
        "ages": ages, "oldest": max(((NOW - s.received_at).total_seconds() / 86400 for s in open_detractors),
                                    default=None),
        "median_claim": statistics.median(claims) if claims else None, "claimed": len(claims),
        "median_resolve": statistics.median(resolves) if resolves else None, "resolved": len(resolves),
        "sla": sum(sla_breached(s) for s in ours), "breached_open": {s.id for s in open_ if sla_breached(s)},
        "rising": rising, "falling": falling,
        "per_team": {name: (sum(s.team == name for s in ours), sum(s.team == name for s in open_),
                            sum(s.team == name for s in open_detractors),
                            sum(s.team == name and sla_breached(s) for s in ours)) for name in ("success", "support")},
    }


def expected_vip(owners: set[str] | None, as_of: datetime) -> tuple[int, int]:
    total = touched = 0
    for _name, owner, cadence, vip, touches in ACCOUNTS:
        if not vip or (owners is not None and owner not in owners):
            continue
        total += 1
        moments = [NOW - timedelta(days=days) for days in touches]
        touched += any(as_of - timedelta(days=cadence) <= m <= as_of for m in moments)
    return total, touched


def approx(value: float | None, want: float | None) -> bool:
    return value is None and want is None or (
        value is not None and want is not None and value == pytest.approx(want, abs=1e-3))


def assert_matches(d, want: dict) -> None:
    assert [(w.label, w.volume, w.nps, w.nps_count) for w in d.weeks] == want["weeks"]
    assert (d.volume, d.nps) == (want["volume"], want["nps"])
    assert {m.kind: m.counts for m in d.category_mix} == want["mix"]
    assert d.open_items_total == len(want["open_ids"])
    assert [i.item_id for i in d.open_items] == want["open_ids"]
    assert {i.item_id for i in d.open_items if i.sla_breached} == want["breached_open"]
    assert d.open_detractors == want["open_detractors"]
    assert [b.count for b in d.detractor_ages] == want["ages"]
    assert approx(d.oldest_open_detractor_days, want["oldest"])
    assert approx(d.median_claim_minutes, want["median_claim"]) and d.claimed_count == want["claimed"]
    assert approx(d.median_resolve_minutes, want["median_resolve"]) and d.resolved_count == want["resolved"]
    assert d.sla_breaches == want["sla"]
    assert [(c.theme, c.before, c.after) for c in d.themes_rising] == want["rising"]
    assert [(c.theme, c.before, c.after) for c in d.themes_falling] == want["falling"]


# Every test here only reads: the items and accounts are stored once per module and database.
@pytest.fixture
def database_url(module_database_url) -> str:
    return module_database_url


@pytest.fixture(scope="module")
def seeds(module_database_url) -> Iterator[list[Seed]]:
    engine = make_engine(module_database_url)
    factory = make_session_factory(engine)
    seeds = make_seeds()
    store(factory, seeds)
    store_accounts(factory)
    yield seeds
    engine.dispose()


def test_all_teams_match_independent_computation(session_factory, seeds) -> None:
    with session_scope(session_factory) as session:
        d = dashboard_data(session, config=CONFIG, start=START, end=END, now=NOW)
    want = expected(seeds, team=None, kind=None, start=START, end=END, tz="UTC")
    # The data set must exercise what is checked.
    assert want["open_detractors"] >= 5 and want["sla"] >= 5 and want["rising"] and want["falling"]
    assert sum(want["ages"][1:-1]) >= 2 and want["weeks"][0][0] == "2026-W36"
    assert_matches(d, want)
    assert d.filters.timezone == "UTC"
    assert {t.team: (t.volume, t.open_items, t.open_detractors, t.sla_breaches) for t in d.teams} == want["per_team"]
    assert (d.vip_total, d.vip_touched) == expected_vip(None, NOW) == (4, 2)


@pytest.mark.parametrize(("team", "kind"), [("success", None), ("success", "nps"), ("support", "escalation"),
                                            (None, "csat")])
def test_team_and_kind_filters(session_factory, seeds, team, kind) -> None:
    with session_scope(session_factory) as session:
        d = dashboard_data(session, config=CONFIG, team=team, kind=kind, start=START, end=END, now=NOW)
    tz = CONFIG.team(team).timezone if team else "UTC"
    want = expected(seeds, team=team, kind=kind, start=START, end=END, tz=tz)
    assert want["volume"] >= 5
    assert_matches(d, want)
    assert d.filters.timezone == tz
    members = set(CONFIG.team(team).members) if team else None
    assert (d.vip_total, d.vip_touched) == expected_vip(members, NOW)


def test_vip_coverage_is_as_of_the_end_of_the_range(session_factory, seeds) -> None:
    end = date(2026, 11, 1)
    with session_scope(session_factory) as session:
        d = dashboard_data(session, config=CONFIG, start=START, end=end, now=NOW)
    as_of = midnight(end + timedelta(days=1), "UTC")
    assert (d.vip_total, d.vip_touched) == expected_vip(None, as_of) == (4, 1)  # only Acme's touch of 40 days ago
    assert_matches(d, expected(seeds, team=None, kind=None, start=START, end=end, tz="UTC"))


def test_default_range_is_the_twelve_iso_weeks_ending_today(session_factory, seeds) -> None:
    with session_scope(session_factory) as session:
        d = dashboard_data(session, config=CONFIG, team="success", now=NOW)
    today = NOW.astimezone(ZoneInfo("America/New_York")).date()
    assert d.filters.end == today and d.filters.start.weekday() == 0 and len(d.weeks) == 12
    assert d.filters.start == today - timedelta(days=today.weekday(), weeks=11)
    assert_matches(d, expected(seeds, team="success", kind=None, start=d.filters.start, end=today,
                               tz="America/New_York"))


def test_an_empty_range_has_no_figures(session_factory, seeds) -> None:
    with session_scope(session_factory) as session:
        d = dashboard_data(session, config=CONFIG, start=date(2025, 1, 1), end=date(2025, 1, 31), now=NOW)
    assert d.volume == 0 and d.nps is None and all(w.volume == 0 and w.nps is None for w in d.weeks)
    assert d.open_items == [] and d.median_claim_minutes is None and d.sla_breaches == 0
    assert d.themes_rising == d.themes_falling == [] and d.category_mix == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"team": "nobody"}, "team: unknown team 'nobody'"),
    ({"kind": "survey"}, "kind: unknown kind 'survey'"),
    ({"start": date(2026, 11, 2), "end": date(2026, 11, 1)}, "is after"),
    ({"start": date(2025, 1, 1), "end": date(2026, 11, 1)}, "longer than 366 days"),
])
def test_bad_filters_are_refused(session_factory, kwargs, message) -> None:
    with session_scope(session_factory) as session, pytest.raises(FilterError, match=message):
        dashboard_data(session, config=CONFIG, now=NOW, **kwargs)
