"""Race safety on a real database: simultaneous clicks, retried webhooks, competing workers.

Threads with their own sessions stand in for separate processes; on Postgres they really run
concurrently, on SQLite the database serialises the writers. Either way exactly one may win.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.db import session_scope
from bot.delivery import lease_row
from bot.followups import claim_followup, resolve_followup
from bot.intake import ingest_item, parse_generic_payload
from models import FollowUp, FollowUpEvent, Item, OutboxMessage
from tests.conftest import make_config

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
BODY = b'{"id": "r-1", "kind": "nps", "score": 2, "comment": "Slow and buggy"}'


def _ingest(factory, body: bytes = BODY):
    with session_scope(factory) as session:
        return ingest_item(session, source="generic", payload=parse_generic_payload(body), config=make_config(),
                           now=NOW)


def _together(count: int, work):
    """Run `work(i)` in `count` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def run(index: int):
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_simultaneous_claims_leave_exactly_one_owner(session_factory):
    item_id = _ingest(session_factory).item_id
    users = [f"U0USER{n}" for n in range(8)]

    def claim(index: int):
        with session_scope(session_factory) as session:
            return claim_followup(session, item_id=item_id, user_id=users[index], now=NOW)

    results = _together(len(users), claim)
    winners = [r for r in results if r.changed]
    assert len(winners) == 1
    winner = winners[0].claimed_by
    assert all(r.claimed_by == winner for r in results if not r.changed)
    with session_scope(session_factory) as session:
        assert session.scalar(select(FollowUp.claimed_by).where(FollowUp.item_id == item_id)) == winner
        claims = session.scalar(select(func.count()).select_from(FollowUpEvent).where(FollowUpEvent.action == "claim"))
        assert claims == 1


def test_a_double_clicked_claim_is_idempotent_for_the_same_user(session_factory):
    item_id = _ingest(session_factory).item_id
    with session_scope(session_factory) as session:
        first = claim_followup(session, item_id=item_id, user_id="U0ANA", now=NOW)
    with session_scope(session_factory) as session:
        second = claim_followup(session, item_id=item_id, user_id="U0ANA", now=NOW)
    assert first.changed and second.outcome == "unchanged" and second.claimed_by == "U0ANA"


def test_resolving_twice_resolves_once(session_factory):
    item_id = _ingest(session_factory).item_id

    def resolve(index: int):
        with session_scope(session_factory) as session:
            return resolve_followup(session, item_id=item_id, user_id=f"U0R{index}", outcome="fixed", note=None,
                                    now=NOW)

    results = _together(4, resolve)
    assert sum(r.changed for r in results) == 1
    with session_scope(session_factory) as session:
        follow_up = session.scalar(select(FollowUp).where(FollowUp.item_id == item_id))
        assert follow_up.status == "resolved" and follow_up.claimed_by == follow_up.resolved_by


def test_the_same_webhook_arriving_concurrently_is_stored_once(session_factory):
    results = _together(6, lambda _i: _ingest(session_factory))
    assert sorted(r.status for r in results).count("accepted") == 1
    assert len({r.item_id for r in results}) == 1
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 1
        posts = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "post_item"))
        assert posts == 1


def test_two_workers_cannot_lease_the_same_outbox_row(session_factory):
    _ingest(session_factory)
    with session_scope(session_factory) as session:
        row_id = session.scalar(select(OutboxMessage.id))

    def lease(index: int):
        with session_scope(session_factory) as session:
            return lease_row(session, row_id, worker_id=f"worker-{index}", now=NOW)

    assert sum(_together(6, lease)) == 1


def test_refused_and_edited_webhooks(session_factory):
    first = _ingest(session_factory)
    assert first.status == "accepted"
    assert _ingest(session_factory).status == "duplicate"
    edited = _ingest(session_factory, b'{"id": "r-1", "kind": "nps", "score": 9, "comment": "Fixed now, great"}')
    assert edited.status == "duplicate" and edited.updated
    with session_scope(session_factory) as session:
        item = session.get(Item, first.item_id)
        # Rescored on edit; still in the channel it was posted to.
        assert (item.score, item.category, item.sentiment_label, item.revision) == (9, "promoter", "positive", 2)
        assert item.channel == "C0SUCCESS"
        kinds = session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
        assert kinds == ["post_item", "update_item"]
