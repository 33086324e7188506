"""The daily roll-ups (models/rollup.py, kept by triggers) on SQLite and Postgres: after a random history of
inserts, edits, erasures and retention purges they equal a count over the items, and the dashboard read from
them equals the dashboard read from the items, for every filter and for ranges in several timezones. The wait
roll-ups likewise, through claims, resolves, reassignments, unclaims and reopenings too, and the medians and SLA
breaches read from them match those read from the items."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from bot.db import session_scope
from bot.followups.service import (
    claim_followup,
    reassign_followup,
    reopen_followup,
    resolve_followup,
    unclaim_followup,
)
from bot.insights import dashboard, rollups
from bot.insights.dashboard import dashboard_data
from bot.insights.stats import minutes_between, sla_key, wait_bucket, wait_span
from bot.intake.scoring import categorize
from bot.privacy.erasure import forget_customer, purge_item_batch
from models import FollowUp, Item, ItemRollup, ThemeRollup, WaitMinuteRollup, WaitRollup
from models.rollup import HOURS, RECEIVED_SPAN
from tests.conftest import TEST_CONFIG, make_config

SETTINGS = {
    **TEST_CONFIG,
    "teams": [
        {"name": "success", "channel": "C0SUCCESS", "timezone": "America/New_York", "members": ["U0ANA", "U0BEN"]},
        {"name": "support", "channel": "C0SUPPORT", "timezone": "Europe/London"},
        {"name": "india", "channel": "C0INDIA", "timezone": "Asia/Kolkata"},  # UTC+5:30: not whole hours
    ],
    "themes": {"pricing": ["price"], "bugs": ["crash"], "billing": ["invoice"]},
    "schedule": {"sla_hours": {"escalation": 1, "detractor": 4}},
}
CONFIG = make_config(SETTINGS)
NOW = datetime(2026, 11, 20, 15, 17, tzinfo=UTC)
FIRST = datetime(2025, 10, 1, tzinfo=UTC)
THEMES = ("pricing", "bugs", "billing")
TEAMS = ("success", "support", "india", "gone")  # "gone": a team no longer in the config
RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


def _kind_score(rng: random.Random) -> tuple[str, int | None]:
    kind = rng.choice(("nps", "nps", "csat", "ces", "escalation"))
    return kind, None if kind == "escalation" else rng.choice((None, *range(*RANGES[kind]))) if kind != "nps" \
        else rng.randint(0, 10)


def seed_history(factory, rng: random.Random, count: int = 400) -> None:
    span = int((NOW - FIRST).total_seconds())
    with session_scope(factory) as session:
        for n in range(count):
            kind, score = _kind_score(rng)
            received = FIRST + timedelta(seconds=rng.randrange(span))
            if rng.random() < 0.1:  # exactly on an hour, and at local midnights
                received = received.replace(minute=0, second=0, microsecond=0)
            team = rng.choice(TEAMS)
            item = Item(source="seed", external_id=str(n), kind=kind, score=score, category=categorize(kind, score),
                        comment="It crashes", customer_email=f"c{n % 40}@example.com", customer_name=f"C {n}",
                        themes=rng.sample(THEMES, rng.randint(0, 2)) + (["pricing"] if rng.random() < 0.05 else []),
                        properties={}, tags=[], vip=rng.random() < 0.2, received_at=received, updated_at=received,
                        team=team, channel="C0X", content_hash="x", revision=1)
            session.add(item)
            session.flush()
            follow_up = FollowUp(item_id=item.id, status="open", updated_at=received, version=1)
            roll = rng.random()
            if roll < 0.6:
                follow_up.claimed_at = min(NOW, received + timedelta(minutes=rng.randint(1, 900)))
                follow_up.claimed_by, follow_up.status = rng.choice(("U0ANA", "U0BEN")), "claimed"
                if roll < 0.4:
                    follow_up.resolved_at = min(NOW, follow_up.claimed_at + timedelta(minutes=rng.randint(1, 900)))
                    follow_up.resolved_by, follow_up.status = "U0BEN", "resolved"
            session.add(follow_up)


def edit_history(factory, rng: random.Random) -> None:
    """Edits of every counted column, an erasure and a retention purge."""
    with session_scope(factory) as session:
        items = list(session.scalars(select(Item).order_by(Item.id)))
        for item in rng.sample(items, 60):
            change = rng.choice(("score", "themes", "received_at", "team", "kind"))
            if change == "score" and item.kind != "escalation":
                item.score = rng.randint(*RANGES[item.kind])
                item.category = categorize(item.kind, item.score)
            elif change == "themes":
                item.themes = rng.sample(THEMES, rng.randint(0, 3))
            elif change == "received_at":
                item.received_at = item.received_at + timedelta(minutes=rng.randint(-3000, 3000))
            elif change == "team":
                item.team = rng.choice(TEAMS)
            elif change == "kind":
                item.kind, item.score = "escalation", None
                item.category = None
        forget_customer(session, email="c7@example.com", actor="U0ADMIN", now=NOW)
        purge_item_batch(session, cutoff=FIRST + timedelta(days=40), include_open=True)


def counted_from_items(session) -> tuple[Counter, Counter]:
    by_kind, by_theme = Counter(), Counter()
    for received, team, kind, category, themes in session.execute(
            select(Item.received_at, Item.team, Item.kind, Item.category, Item.themes)):
        at = received.astimezone(UTC)
        by_kind[(at.date(), team, kind, category or "", at.hour)] += 1
        for theme in {t for t in themes or [] if isinstance(t, str)}:
            by_theme[(at.date(), team, theme, at.hour)] += 1
    return by_kind, by_theme


def counted_in_rollups(session) -> tuple[Counter, Counter]:
    by_kind, by_theme = Counter(), Counter()
    for row in session.scalars(select(ItemRollup)):
        assert row.items == sum(getattr(row, hour) for hour in HOURS)
        for index, hour in enumerate(HOURS):
            by_kind[(row.day, row.team, row.kind, row.category, index)] += getattr(row, hour)
    for row in session.scalars(select(ThemeRollup)):
        assert row.items == sum(getattr(row, hour) for hour in HOURS)
        for index, hour in enumerate(HOURS):
            by_theme[(row.day, row.team, row.theme, index)] += getattr(row, hour)
    return +by_kind, +by_theme  # unary +: drops the zeros left by removals


def test_rollups_equal_a_count_over_the_items_through_inserts_edits_erasure_and_purges(session_factory):
    rng = random.Random(19)
    seed_history(session_factory, rng)
    with session_scope(session_factory) as session:
        assert counted_in_rollups(session) == counted_from_items(session)
        assert sum(counted_in_rollups(session)[0].values()) == 400
    edit_history(session_factory, rng)
    with session_scope(session_factory) as session:
        kept = session.scalar(select(Item.id).order_by(Item.id.desc()).limit(1))
        assert session.query(Item).count() < 400  # the purge removed some
        assert counted_in_rollups(session) == counted_from_items(session)
        session.delete(session.get(Item, kept))
    with session_scope(session_factory) as session:
        assert counted_in_rollups(session) == counted_from_items(session)


FILTERS = [
    {}, {"team": "success"}, {"team": "support"}, {"team": "india"}, {"kind": "nps"}, {"category": "detractor"},
    {"category": "none"}, {"kind": "csat", "team": "support"}, {"theme": "pricing"}, {"vip": "yes"},
    {"owner": "U0ANA"}, {"owner": "unclaimed"},
]
PERIODS = [
    {"start": date(2025, 11, 21), "end": date(2026, 11, 20)},  # a year
    {},                                                        # the default 12 weeks
    {"start": date(2026, 3, 25), "end": date(2026, 4, 3)},     # across a DST change
    {"start": date(2026, 11, 18), "end": date(2026, 11, 19)},  # inside one week
]


@pytest.mark.parametrize("period", PERIODS, ids=["year", "12-weeks", "dst", "two-days"])
def test_the_dashboard_from_rollups_equals_the_dashboard_from_items(session_factory, monkeypatch, period):
    rng = random.Random(23)
    seed_history(session_factory, rng)
    edit_history(session_factory, rng)
    read = []
    counts = rollups.item_counts
    monkeypatch.setattr(rollups, "item_counts", lambda *args, **kwargs: read.append(kwargs) or counts(*args, **kwargs))
    for filters in FILTERS:
        read.clear()
        with session_scope(session_factory) as session:
            from_rollups = dashboard_data(session, config=CONFIG, now=NOW, **period, **filters)
        # Read from the roll-ups, but for what they do not key (VIP, theme, owner) and a half-hour timezone.
        assert bool(read) == (filters.get("team") != "india" and not {"vip", "theme", "owner"} & set(filters)), filters
        with monkeypatch.context() as patched:
            patched.setattr(rollups, "hour_aligned", lambda *moments: False)
            with session_scope(session_factory) as session:
                from_items = dashboard_data(session, config=CONFIG, now=NOW, **period, **filters)
        assert from_rollups == from_items, filters
        if not filters and period is PERIODS[0]:
            assert from_rollups.volume > 0 and from_rollups.themes_rising + from_rollups.themes_falling


# --- the wait roll-ups (migration 20261206_0019) ---------------------------------------------------


def waits_from_rows(session) -> tuple[Counter, Counter]:
    """The wait roll-ups as a GROUP BY over items and follow-ups would give them (stats.wait_bucket of the
    same wait arithmetic), as (measure, team, key, day, span) and (measure, team, key, span, day, minutes)."""
    spans, buckets = Counter(), Counter()
    claim = minutes_between(session, FollowUp.claimed_at, Item.received_at)
    resolve = minutes_between(session, FollowUp.resolved_at, Item.received_at)
    for item, claimed_at, resolved_at, claim_wait, resolve_wait in session.execute(
            select(Item, FollowUp.claimed_at, FollowUp.resolved_at, claim, resolve)
            .outerjoin(FollowUp, FollowUp.item_id == Item.id)):
        key = sla_key(item.kind, item.category)
        counted = []
        if claimed_at is not None:
            counted.append(("claim", "", claimed_at, claim_wait))
        if resolved_at is not None:
            counted.append(("resolve", "", resolved_at, resolve_wait))
        if key is not None and item.imported_at is None:
            spans[("sla", item.team, key, item.received_at.astimezone(UTC).date(), RECEIVED_SPAN)] += 1
            if claimed_at is not None:
                counted.append(("sla", key, item.received_at, claim_wait))
        for measure, key_of, at, wait in counted:
            bucket = wait_bucket(wait)
            day = at.astimezone(UTC).date()
            spans[(measure, item.team, key_of, day, wait_span(bucket))] += 1
            buckets[(measure, item.team, key_of, wait_span(bucket), day, bucket)] += 1
    return spans, buckets


def waits_in_rollups(session) -> tuple[Counter, Counter]:
    spans = Counter({(r.measure, r.team, r.key, r.day, r.span): r.items for r in session.scalars(select(WaitRollup))})
    buckets = Counter({(r.measure, r.team, r.key, r.span, r.day, r.minutes): r.items
                       for r in session.scalars(select(WaitMinuteRollup))})
    return +spans, +buckets  # unary +: drops the zeros left by removals


def work_history(factory, rng: random.Random) -> None:
    """What people do to follow-ups: claims, resolves (with and without a claim), reassignments, unclaims,
    reopenings, at moments before and after arrival, a day or weeks later."""
    with session_scope(factory) as session:
        rows = session.execute(select(FollowUp.item_id, FollowUp.status, Item.received_at)
                               .join(Item, Item.id == FollowUp.item_id).order_by(FollowUp.item_id)).all()
        for item_id, status, received_at in rng.sample(rows, 120):
            at = received_at + timedelta(minutes=rng.choice((0, 1, 59, 60, 61, 240, 241, 1440, 3000, 50_000)))
            if status == "open":
                action = rng.choice(("claim", "resolve", "reassign"))
            elif status == "claimed":
                action = rng.choice(("resolve", "reassign", "unclaim"))
            else:
                action = "reopen"
            if action == "claim":
                outcome = claim_followup(session, item_id=item_id, user_id="U0ANA", now=at)
            elif action == "resolve":
                outcome = resolve_followup(session, item_id=item_id, user_id="U0BEN", outcome="fixed", note=None,
                                           now=at)
            elif action == "reassign":
                outcome = reassign_followup(session, item_id=item_id, user_id="U0ANA", assignee="U0CARA", now=at)
            elif action == "unclaim":
                outcome = unclaim_followup(session, item_id=item_id, user_id="U0ADMIN", now=at)
            else:
                outcome = reopen_followup(session, item_id=item_id, user_id="U0ANA", now=at)
            assert outcome.outcome == "changed", (action, outcome)


def test_wait_rollups_equal_the_waits_through_claims_resolves_reassignments_edits_and_deletes(session_factory):
    rng = random.Random(31)
    seed_history(session_factory, rng)
    with session_scope(session_factory) as session:
        assert waits_in_rollups(session) == waits_from_rows(session)
        assert waits_in_rollups(session)[0]  # not trivially empty
    work_history(session_factory, rng)
    with session_scope(session_factory) as session:
        assert waits_in_rollups(session) == waits_from_rows(session)
    edit_history(session_factory, rng)  # team, kind, score, arrival edits; `cxloop forget` and a purge delete items
    with session_scope(session_factory) as session:
        assert waits_in_rollups(session) == waits_from_rows(session)
        first, second = session.scalars(select(Item.id).join(FollowUp, FollowUp.item_id == Item.id)
                                        .where(FollowUp.claimed_at.is_not(None)).order_by(Item.id).limit(2))
        session.delete(session.get(Item, first))
        session.execute(delete(FollowUp).where(FollowUp.item_id == second))
        session.get(Item, second).imported_at = NOW  # imported history has no SLA
    with session_scope(session_factory) as session:
        assert waits_in_rollups(session) == waits_from_rows(session)


def test_medians_and_sla_breaches_from_the_wait_rollups_match_the_items(session_factory, monkeypatch):
    """Read from the histograms (forced here: small ranges are read exactly), the medians are within half a
    minute of the exact ones and the breaches are the same count; the claimed / resolved counts match."""
    rng = random.Random(37)
    seed_history(session_factory, rng, count=600)
    work_history(session_factory, rng)
    edit_history(session_factory, rng)
    monkeypatch.setattr(rollups, "EXACT_WAITS_UP_TO", 0)
    for period in PERIODS:
        for filters in ({}, {"team": "success"}, {"team": "support"}):
            with session_scope(session_factory) as session:
                read = dashboard_data(session, config=CONFIG, now=NOW, **period, **filters)
            with monkeypatch.context() as patched:
                patched.setattr(dashboard, "_team_only", lambda filters: False)
                with session_scope(session_factory) as session:
                    exact = dashboard_data(session, config=CONFIG, now=NOW, **period, **filters)
            where = (period, filters)
            assert (read.claimed_count, read.resolved_count) == (exact.claimed_count, exact.resolved_count), where
            for got, want in ((read.median_claim_minutes, exact.median_claim_minutes),
                              (read.median_resolve_minutes, exact.median_resolve_minutes)):
                assert (got is None) == (want is None), where
                if want is not None:
                    assert abs(got - want) <= 0.5 + 1e-6, (where, got, want)
            assert [t.sla_breaches for t in read.teams] == [t.sla_breaches for t in exact.teams], where
            if not filters and period is PERIODS[0]:
                assert read.claimed_count > 100 and read.sla_breaches > 10


def test_an_sla_the_rollups_cannot_count_exactly_is_read_from_the_items(session_factory, monkeypatch):
    """The roll-ups count whole minutes: an SLA of 0.01 h (36 s) is counted from the items, and the
    dashboard's breaches are the same as with the roll-ups out of the way."""
    config = make_config({**SETTINGS, "schedule": {"sla_hours": {"escalation": 0.01, "detractor": 4}}})
    assert rollups.sla_minutes(config) is None
    assert rollups.sla_minutes(CONFIG) == {"escalation": 60, "detractor": 240}
    seed_history(session_factory, random.Random(41))
    with session_scope(session_factory) as session:
        read = dashboard_data(session, config=config, now=NOW, **PERIODS[0])
    monkeypatch.setattr(dashboard, "_team_only", lambda filters: False)
    with session_scope(session_factory) as session:
        exact = dashboard_data(session, config=config, now=NOW, **PERIODS[0])
    assert read.sla_breaches == exact.sla_breaches > 0
