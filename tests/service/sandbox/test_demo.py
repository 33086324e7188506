"""`seed_demo`: the demo workspace's size and shape (on a small seed), the same data for the same seed, and no doubling on re-run."""

from __future__ import annotations

import inspect
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.config import load_config
from bot.db import make_engine, make_session_factory, session_scope, upgrade
from bot.sandbox.demo import (
    DEFAULT_ACCOUNTS,
    DEFAULT_DAYS,
    DEFAULT_RESPONSES,
    DEMO_CONFIG_PATH,
    _account_records,
    seed_demo,
)
from bot.vip.accounts import search_key
from models import Account, FollowUp, FollowUpEvent, Item, OutboxMessage, SlackMessage, TopicRun, Touch
from models.topic import ALL_TEAMS

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
CONFIG = load_config(DEMO_CONFIG_PATH, environ={}, sandbox=True)


def _count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


# The shape of the workspace on a small seed: what `cxloop demo` builds at 500 accounts and 2 000 responses
# (its size is asserted below without seeding it; `python -m bench demo_seed` seeds it in full).
SMALL_ACCOUNTS, SMALL_RESPONSES = 60, 240


def test_demo_has_the_asked_size_and_shape_and_reseeding_adds_nothing(session_factory) -> None:
    with session_scope(session_factory) as session:
        report = seed_demo(session, config=CONFIG, now=NOW, rng=random.Random(7), accounts=SMALL_ACCOUNTS,
                           responses=SMALL_RESPONSES)
    assert report.seeded and (report.accounts, report.items) == (SMALL_ACCOUNTS, SMALL_RESPONSES)
    with session_scope(session_factory) as session:
        assert _count(session, Account, Account.vip.is_(True)) == SMALL_ACCOUNTS
        assert _count(session, Item) == SMALL_RESPONSES
        first, last = session.execute(select(func.min(Item.received_at), func.max(Item.received_at))).one()
        assert NOW - timedelta(days=60) < first and last <= NOW
        teams = dict(session.execute(select(Item.team, func.count()).group_by(Item.team)).all())
        assert set(teams) == {"success", "support", "product"} and min(teams.values()) > SMALL_RESPONSES // 8
        kinds = dict(session.execute(select(Item.kind, func.count()).group_by(Item.kind)).all())
        assert {"nps", "csat", "ces", "escalation"} <= set(kinds)
        assert _count(session, Item, Item.account_id.is_not(None)) > SMALL_RESPONSES // 2
        assert len(set(session.scalars(select(Item.comment).where(Item.comment.is_not(None))))) > SMALL_RESPONSES // 4
        sentiments = set(session.scalars(select(Item.sentiment_label).distinct()))
        assert {"negative", "neutral", "positive"} <= sentiments
        statuses = dict(session.execute(select(FollowUp.status, func.count()).group_by(FollowUp.status)).all())
        assert statuses["resolved"] == report.resolved and statuses["claimed"] == report.claimed - report.resolved
        assert statuses["open"] > 0
        # Each claim and resolution is an audit event with its own time, after the item arrived.
        assert _count(session, FollowUpEvent, FollowUpEvent.action == "claim") == report.claimed
        late = session.scalar(select(func.count()).select_from(FollowUp).join(Item, Item.id == FollowUp.item_id)
                              .where(FollowUp.claimed_at < Item.received_at))
        assert late == 0
        assert _count(session, Touch) == report.touches > 0
        # History is delivered: nothing waits in the outbox, and every item has its Slack message.
        assert _count(session, OutboxMessage, OutboxMessage.status != "sent") == 0
        assert _count(session, SlackMessage) == SMALL_RESPONSES
        # Last week's topics are discovered, as the weekly job would have: for all teams and for each team.
        scopes = set(session.scalars(select(TopicRun.scope)))
        assert scopes == {ALL_TEAMS, "success", "support", "product"}

        again = seed_demo(session, config=CONFIG, now=NOW + timedelta(days=1), rng=random.Random(7))
    assert not again.seeded
    with session_scope(session_factory) as session:
        assert (_count(session, Item), _count(session, Account), _count(session, Touch)) == (
            SMALL_RESPONSES, SMALL_ACCOUNTS, report.touches)


def test_the_full_demo_is_500_distinct_accounts_and_2000_responses() -> None:
    """The promised size without seeding it: `cxloop demo` seeds the defaults, and at 500 the book's finite
    name pool still gives 500 different accounts (names, ids, domains and contacts), none merged into another."""
    parameters = inspect.signature(seed_demo).parameters
    assert (parameters["accounts"].default, parameters["responses"].default) == (500, 2000)
    assert (DEFAULT_ACCOUNTS, DEFAULT_RESPONSES, DEFAULT_DAYS) == (500, 2000, 60)
    records = _account_records(random.Random(7), DEFAULT_ACCOUNTS, NOW)
    assert len(records) == 500
    for key in (lambda r: search_key(r.name), lambda r: r.external_id, lambda r: r.domains[0]):
        assert len({key(record) for record in records}) == 500
    emails = [email for record in records for email, _name in record.contacts]
    assert len(set(emails)) == len(emails)


def _snapshot(url: str) -> list[tuple]:
    factory = make_session_factory(make_engine(url))
    with session_scope(factory) as session:
        seed_demo(session, config=CONFIG, now=NOW, rng=random.Random(3), accounts=30, responses=90)
    with session_scope(factory) as session:
        items = session.execute(select(Item.external_id, Item.kind, Item.score, Item.comment, Item.customer_email,
                                       Item.team, Item.received_at, FollowUp.status, FollowUp.claimed_by,
                                       FollowUp.resolved_at, FollowUp.outcome)
                                .join(FollowUp, FollowUp.item_id == Item.id).order_by(Item.external_id)).all()
        accounts = session.execute(select(Account.name, Account.owner, Account.tier, Account.renewal_on,
                                          Account.next_due_at).order_by(Account.external_id)).all()
    return [tuple(row) for row in items + accounts]


def test_same_seed_and_time_give_the_same_workspace(database_url, tmp_path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other)
    first, second = _snapshot(database_url), _snapshot(other)
    assert len(first) == 120 and first == second
