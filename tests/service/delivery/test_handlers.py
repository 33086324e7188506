"""Rows written through bot/delivery/outbox.py, delivered by the worker on SQLite and Postgres: a row of a
kind this version does not know is parked dead at once with its kind shown, and the worker leases and
records by the `now` it is given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import update

from bot.cli import main
from bot.db import session_scope
from bot.delivery.outbox import PostMessage, enqueue
from bot.delivery.worker import DeliveryWorker
from bot.slack.client import make_client
from models import OutboxMessage
from tests.conftest import BOT_TOKEN, make_config, wait_for

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _row(factory, row_id: int) -> OutboxMessage:
    with session_scope(factory) as session:
        row = session.get(OutboxMessage, row_id)
        session.expunge(row)
        return row


def _worker(factory, fake_slack, now) -> DeliveryWorker:
    return DeliveryWorker(factory, make_client(BOT_TOKEN, fake_slack.base_url), config=make_config(),
                          channel_interval=0.0, now=lambda: now)


def test_an_unknown_kind_is_parked_dead_and_shown(session_factory, fake_slack, database_url, tmp_path):
    with session_scope(session_factory) as session:
        row = enqueue(session, PostMessage(text="hello"), channel="C0SUCCESS", now=T0)
        session.flush()
        row_id = row.id
        # A row written by a newer version (or by hand) with a kind this one does not know.
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(kind="fax"))
    worker = _worker(session_factory, fake_slack, T0)
    try:
        assert worker.run_once() == 1
        wait_for(lambda: _row(session_factory, row_id).status != "pending", what="the row's outcome")
    finally:
        worker.stop()
    dead = _row(session_factory, row_id)
    assert dead.status == "dead" and dead.failures == 0 and dead.last_error == "unknown outbox kind 'fax'"
    assert fake_slack.calls("chat.postMessage") == []

    config = tmp_path / "cxloop.toml"
    config.write_text('[[teams]]\nname = "success"\nchannel = "C0SUCCESS"\n\n[[sources]]\nname = "generic"\n'
                      'type = "generic"\nsecret_env = "GENERIC_WEBHOOK_SECRET"\n', encoding="utf-8")
    listed = CliRunner().invoke(main, ["outbox", "--status", "dead"], catch_exceptions=False,
                                env={"DATABASE_URL": database_url, "CXLOOP_CONFIG": str(config),
                                     "GENERIC_WEBHOOK_SECRET": "x"})
    assert f"#{row_id}" in listed.output and "unknown outbox kind 'fax'" in listed.output


def test_the_worker_leases_and_records_at_the_now_it_is_given(session_factory, fake_slack):
    later = T0 + timedelta(hours=1)
    with session_scope(session_factory) as session:
        row = enqueue(session, PostMessage(text="at ten", blocks=[]), channel="C0SUCCESS", now=T0, available_at=later)
        session.flush()
        row_id = row.id
    early = _worker(session_factory, fake_slack, T0)
    try:
        assert early.run_once() == 0  # not due at its `now`, whatever the wall clock says
    finally:
        early.stop()
    on_time = _worker(session_factory, fake_slack, later)
    try:
        assert on_time.run_once() == 1
        wait_for(lambda: _row(session_factory, row_id).status == "sent", what="delivery")
    finally:
        on_time.stop()
    sent = _row(session_factory, row_id)
    assert sent.sent_at == later
    assert [m["text"] for m in fake_slack.messages("C0SUCCESS")] == ["at ten"]
    assert sent.payload["posted"]["ts"] == fake_slack.messages("C0SUCCESS")[0]["ts"]
