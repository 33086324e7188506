"""`seed_demo`: the demo workspace's size and shape, the same data for the same seed, and no doubling on re-run."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.config import load_config
from bot.db import make_engine, make_session_factory, session_scope, upgrade
from bot.sandbox.demo import DEMO_CONFIG_PATH, seed_demo
from models import Account, FollowUp, FollowUpEvent, Item, OutboxMessage, SlackMessage, Touch

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
CONFIG = load_config(DEMO_CONFIG_PATH, environ={}, sandbox=True)


def _count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_full_demo_has_the_promised_size_and_reseeding_adds_nothing(session_factory) -> None:
    with session_scope(session_factory) as session:
        report = seed_demo(session, config=CONFIG, now=NOW, rng=random.Random(7))
    assert report.seeded and (report.accounts, report.items) == (500, 2000)
    with session_scope(session_factory) as session:
        assert _count(session, Account, Account.vip.is_(True)) == 500
        assert _count(session, Item) == 2000
        first, last = session.execute(select(func.min(Item.received_at), func.max(Item.received_at))).one()
        assert NOW - timedelta(days=60) < first and last <= NOW
        teams = dict(session.execute(select(Item.team, func.count()).group_by(Item.team)).all())
        assert set(teams) == {"success", "support", "product"} and min(teams.values()) > 100
        kinds = dict(session.execute(select(Item.kind, func.count()).group_by(Item.kind)).all())
        assert {"nps", "csat", "ces", "escalation"} <= set(kinds)
        assert _count(session, Item, Item.account_id.is_not(None)) > 1000
        assert len(set(session.scalars(select(Item.comment).where(Item.comment.is_not(None))))) > 100
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
        assert _count(session, SlackMessage) == 2000

        again = seed_demo(session, config=CONFIG, now=NOW + timedelta(days=1), rng=random.Random(7))
    assert not again.seeded
    with session_scope(session_factory) as session:
        assert (_count(session, Item), _count(session, Account), _count(session, Touch)) == (
            2000, 500, report.touches)


def _snapshot(url: str) -> list[tuple]:
    factory = make_session_factory(make_engine(url))
    with session_scope(factory) as session:
        seed_demo(session, config=CONFIG, now=NOW, rng=random.Random(3), accounts=40, responses=150)
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
    assert len(first) == 190 and first == second
