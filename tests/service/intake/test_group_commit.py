"""Webhooks stored together (bot/intake/group_commit.py): one transaction for those waiting, yet each
webhook answered on its own — a bad one never costs the others their items."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import event, func, select

from bot.intake.group_commit import GroupCommitWriter
from bot.intake.ingest import ingest_item
from bot.intake.payload import parse_generic_payload
from models import Item, OutboxMessage
from models.base import utcnow
from tests.conftest import make_config


def _webhook(n: int) -> bytes:
    return json.dumps({"id": f"gc-{n}", "kind": "nps", "score": n % 11, "comment": f"comment {n}",
                       "customer": {"email": f"c{n}@example.com"}}).encode()


def _store(config, n: int):
    payload = parse_generic_payload(_webhook(n))

    def work(session):
        return ingest_item(session, source="generic", payload=payload, config=config, now=utcnow())
    return work


def _held_writer(session_factory):
    """A writer whose first work waits for `release`: everything submitted meanwhile queues up."""
    writer = GroupCommitWriter(session_factory)
    started, release = threading.Event(), threading.Event()

    def hold(_session):
        started.set()
        release.wait(10)
    writer.submit(hold)
    assert started.wait(10)
    return writer, release


def test_webhooks_waiting_together_share_one_commit_and_each_gets_its_item(session_factory):
    config = make_config()
    commits = []
    event.listen(session_factory.kw["bind"], "commit", lambda _conn: commits.append(1))
    writer, release = _held_writer(session_factory)
    futures = [writer.submit(_store(config, n)) for n in range(20)]
    release.set()
    results = [future.result(10) for future in futures]
    writer.stop()

    assert [r.status for r in results] == ["accepted"] * 20
    assert len({r.item_id for r in results}) == 20
    assert len(commits) == 1  # all twenty in one (the held work touched no table: no commit)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 20
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 20


def test_a_failing_webhook_in_a_batch_fails_alone(session_factory):
    config = make_config()
    writer, release = _held_writer(session_factory)

    def broken(session):
        _store(config, 99)(session)  # its item is flushed, then the work fails: nothing of it may stay
        raise ValueError("bad webhook")
    futures = [writer.submit(_store(config, 1)), writer.submit(broken), writer.submit(_store(config, 2))]
    release.set()
    assert futures[0].result(10).status == "accepted"
    with pytest.raises(ValueError, match="bad webhook"):
        futures[1].result(10)
    assert futures[2].result(10).status == "accepted"
    writer.stop()
    with session_factory() as session:
        assert sorted(session.scalars(select(Item.external_id))) == ["gc-1", "gc-2"]


def test_a_retry_in_the_same_batch_is_a_duplicate_not_a_second_item(session_factory):
    config = make_config()
    writer, release = _held_writer(session_factory)
    first, retry = writer.submit(_store(config, 5)), writer.submit(_store(config, 5))
    release.set()
    assert first.result(10).status == "accepted"
    assert retry.result(10).status == "duplicate"
    assert retry.result(10).item_id == first.result(10).item_id
    writer.stop()
