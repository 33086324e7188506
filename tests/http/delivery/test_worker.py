"""A row whose delivery raises something nobody expected is a failed attempt: backoff, then parked
dead after the usual limit with the reason in `cxloop outbox`; the worker goes on with other rows."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import update

from bot.cli import main
from bot.delivery.handlers import MAX_FAILURES
from models import OutboxMessage
from models.base import utcnow
from models.delivery import HTTP_CALL
from tests.conftest import wait_for


def _row(app, row_id: int) -> OutboxMessage:
    with app.runtime.session() as session:
        row = session.get(OutboxMessage, row_id)
        session.expunge(row)
        return row


def test_a_row_that_makes_its_handler_raise_is_parked_dead_with_its_reason(make_app, database_url, tmp_path):
    app = make_app()
    item_id = app.post_webhook({"id": "ob-1", "kind": "nps", "score": 2,
                                "customer": {"email": "li@acme.example"}}).json()["id"]
    app.wait_for_post("C0SUCCESS")
    now = utcnow()
    with app.runtime.session() as session:
        # A Zendesk note for an item with no ticket id: the handler raises KeyError reading it.
        row = OutboxMessage(kind=HTTP_CALL, item_id=item_id, channel="http:generic", available_at=now,
                            created_at=now, payload={"purpose": "zendesk_note", "source": "generic"})
        session.add(row)
        session.flush()
        row_id = row.id
    app.runtime.queued()

    seen = 0
    while _row(app, row_id).status != "dead":
        wait_for(lambda seen=seen: _row(app, row_id).failures > seen or _row(app, row_id).status == "dead",
                 what=f"failure {seen + 1}")
        seen = _row(app, row_id).failures
        assert seen <= MAX_FAILURES
        with app.runtime.session() as session:  # skip the backoff, not the counting
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
                            .values(available_at=utcnow()))
        app.runtime.queued()
    dead = _row(app, row_id)
    assert dead.failures == MAX_FAILURES and dead.attempts >= MAX_FAILURES
    assert dead.last_error.startswith("unexpected KeyError")

    # The worker still delivers everything else.
    app.post_webhook({"id": "ob-2", "kind": "nps", "score": 1, "customer": {"email": "kim@acme.example"}})
    app.wait_for_post("C0SUCCESS", count=2)

    config = tmp_path / "cxloop.toml"
    config.write_text('[[teams]]\nname = "success"\nchannel = "C0SUCCESS"\n\n[[sources]]\nname = "generic"\n'
                      'type = "generic"\nsecret_env = "GENERIC_WEBHOOK_SECRET"\n', encoding="utf-8")
    listed = CliRunner().invoke(main, ["outbox", "--status", "dead"], catch_exceptions=False,
                                env={"DATABASE_URL": database_url, "CXLOOP_CONFIG": str(config),
                                     "GENERIC_WEBHOOK_SECRET": "x"})
    assert f"#{row_id}" in listed.output and "unexpected KeyError" in listed.output
    assert "li@acme.example" not in listed.output
