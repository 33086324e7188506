"""Race safety on a real database: simultaneous clicks, retried webhooks, competing workers.

Threads with their own sessions stand in for separate processes; on Postgres they really run
concurrently, on SQLite the database serialises the writers. Either way exactly one may win.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.delivery.handlers import lease_row
from bot.followups import service as followups
from bot.followups.service import claim_followup, resolve_followup
from bot.intake.ingest import ingest_item
from bot.intake.payload import parse_generic_payload
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


def _event_count(factory, action: str) -> int:
    with session_scope(factory) as session:
        return session.scalar(select(func.count()).select_from(FollowUpEvent).where(FollowUpEvent.action == action))


# Each change, as a permission-checked click would make it, with the version that check read.
CHANGES = {
    "claim": lambda s, i, v: followups.claim_followup(s, item_id=i, user_id="U0ANA", now=NOW, expected_version=v),
    "unclaim": lambda s, i, v: followups.unclaim_followup(s, item_id=i, user_id="U0ANA", now=NOW,
                                                          expected_version=v),
    "resolve": lambda s, i, v: followups.resolve_followup(s, item_id=i, user_id="U0ANA", outcome="fixed", note=None,
                                                          now=NOW, expected_version=v),
    "reopen": lambda s, i, v: followups.reopen_followup(s, item_id=i, user_id="U0ANA", now=NOW, expected_version=v),
    "reassign": lambda s, i, v: followups.reassign_followup(s, item_id=i, user_id="U0ANA", assignee="U0CARA",
                                                            now=NOW, expected_version=v),
    "follow_up_on": lambda s, i, v: followups.set_follow_up_date(s, item_id=i, user_id="U0ANA", on=date(2026, 12, 1),
                                                                 now=NOW, expected_version=v),
    "snooze": lambda s, i, v: followups.snooze_followup(s, item_id=i, user_id="U0ANA", hours=24, now=NOW,
                                                        expected_version=v),
}
# The state each change starts from (so that, fresh, it would succeed), and what then changes under it.
START = {"claim": "open", "unclaim": "claimed", "resolve": "claimed", "reopen": "resolved", "reassign": "claimed",
         "follow_up_on": "claimed", "snooze": "claimed"}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_decided_on_a_version_that_is_gone_changes_nothing(session_factory, change):
    with session_scope(session_factory) as session:
        item_id = ingest_item(session, source="generic", config=make_config(), now=NOW - timedelta(hours=1),
                              payload=parse_generic_payload(BODY)).item_id
    with session_scope(session_factory) as session:
        if START[change] != "open":
            followups.claim_followup(session, item_id=item_id, user_id="U0ANA", now=NOW)
        if START[change] == "resolved":
            followups.resolve_followup(session, item_id=item_id, user_id="U0ANA", outcome="fixed", note=None, now=NOW)
    with session_scope(session_factory) as session:  # what Ana's permission check read
        seen = session.scalar(select(FollowUp.version).where(FollowUp.item_id == item_id))
    with session_scope(session_factory) as session:  # meanwhile, in another transaction
        # A change that leaves the status as it was, so only the version tells the two states apart.
        followups.snooze_followup(session, item_id=item_id, user_id="U0BEN", hours=72, now=NOW)
        if START[change] == "claimed":
            followups.reassign_followup(session, item_id=item_id, user_id="U0DAN", assignee="U0BEN", now=NOW)
    with session_scope(session_factory) as session:
        before = session.scalar(select(FollowUp).where(FollowUp.item_id == item_id))
        session.expunge(before)
    events = _event_count(session_factory, change)

    with session_scope(session_factory) as session:
        result = CHANGES[change](session, item_id, seen)

    assert result.outcome == "refused" and result.reason, result
    with session_scope(session_factory) as session:
        after = session.scalar(select(FollowUp).where(FollowUp.item_id == item_id))
        assert (after.version, after.status, after.claimed_by, after.follow_up_on, after.snoozed_until) == (
            before.version, before.status, before.claimed_by, before.follow_up_on, before.snoozed_until)
    assert _event_count(session_factory, change) == events

    # With the version it would read now, the same change goes through.
    with session_scope(session_factory) as session:
        assert CHANGES[change](session, item_id, before.version).outcome == "changed"
