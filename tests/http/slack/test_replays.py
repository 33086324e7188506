"""A signed Slack request replayed inside the signature window is acknowledged and does nothing.

The same signed bytes sent again (an attacker who saw one request, a proxy that resends) pass Slack's
signature check for five minutes. Before: each copy added a note, a snooze, a touch, sent the customer
another e-mail. The record of taken requests is a database table, so it holds across processes.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from bot.sandbox.slack_requests import signed_form
from bot.slack.ids import ActionId, InputId, OverflowChoice, ViewId, item_value, overflow_value
from bot.slack.replays import KEEP_SECONDS, ReplayGuard
from bot.vip.book import AccountRecord, upsert_account
from models import FollowUpEvent, SlackRequestSeen, Touch
from tests.conftest import SIGNING_SECRET, TEST_CONFIG, _free_port, make_config, wait_for
from tests.http.followups.test_reply import Mailbox

NPS_2 = {"id": "replay-1", "kind": "nps", "score": 2, "comment": "Nobody called back.",
         "customer": {"email": "li@acme.example", "name": "Li Wei", "account": "Acme Corp"}}


def _send_twice(app, form: dict[str, str]) -> tuple[httpx.Response, httpx.Response]:
    """The same signed request, byte for byte, sent twice."""
    body, headers = signed_form(SIGNING_SECRET, form)
    first = app.http.post(f"{app.url}/slack/events", content=body, headers=headers)
    second = app.http.post(f"{app.url}/slack/events", content=body, headers=headers)
    return first, second


def _submission(view: dict, values: dict, *, user: str, trigger: str) -> dict[str, str]:
    return {"payload": json.dumps({
        "type": "view_submission", "api_app_id": "A0CXLOOP", "token": "legacy",
        "team": {"id": "T0SANDBOX", "domain": "sandbox"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0SANDBOX"},
        "trigger_id": trigger, "view": {**view, "id": view.get("id", "V0TEST"), "state": {"values": values}}})}


def _modal(app, item_id: int, post: dict, choice: OverflowChoice, view_id: ViewId) -> dict:
    before = len([v for v in app.fake.views() if v.get("callback_id") == view_id])
    app.click(ActionId.MORE, "", user="U0ANA", channel="C0SUCCESS", ts=post["ts"],
              selected_option=overflow_value(choice, item_id))
    return wait_for(lambda: [v for v in app.fake.views() if v.get("callback_id") == view_id][before:],
                    what=f"the {view_id} modal")[-1]["view"]


def _events(app, action: str) -> list[FollowUpEvent]:
    with app.runtime.session() as session:
        return list(session.scalars(select(FollowUpEvent).where(FollowUpEvent.action == action)))


def _settled(app, item_id: int, post: dict) -> None:
    """A genuine note sent after the replay, waited for: whatever the replay would have done is done."""
    view = _modal(app, item_id, post, OverflowChoice.NOTE, ViewId.NOTE)
    app.submit_view(view, {InputId.NOTE: {InputId.NOTE: {"type": "plain_text_input", "value": "barrier"}}},
                    user="U0ANA")
    wait_for(lambda: any("barrier" in json.dumps(m) for m in app.fake.thread("C0SUCCESS", post["ts"])),
             what="the barrier note")
    app.idle()


def test_a_replayed_note_and_snooze_apply_once(make_app, caplog):
    caplog.set_level(logging.WARNING, logger="bot.slack.replays")
    app = make_app()
    item_id = app.post_webhook(NPS_2).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")

    view = _modal(app, item_id, post, OverflowChoice.NOTE, ViewId.NOTE)
    note = {InputId.NOTE: {InputId.NOTE: {"type": "plain_text_input", "value": "Called, left a voicemail."}}}
    answers = _send_twice(app, _submission(view, note, user="U0ANA", trigger="trigger-note-1"))
    assert [a.status_code for a in answers] == [200, 200]  # the replay gets a plain ack: nothing to retry

    view = _modal(app, item_id, post, OverflowChoice.SNOOZE, ViewId.SNOOZE)
    snooze = {InputId.SNOOZE_FOR: {InputId.SNOOZE_FOR: {"type": "static_select",
                                                        "selected_option": {"value": "1d"}}}}
    answers = _send_twice(app, _submission(view, snooze, user="U0ANA", trigger="trigger-snooze-1"))
    assert [a.status_code for a in answers] == [200, 200]

    _settled(app, item_id, post)
    notes = [e.detail["note"] for e in _events(app, "note")]
    assert notes.count("Called, left a voicemail.") == 1
    assert len(_events(app, "snooze")) == 1
    thread = [json.dumps(m) for m in app.fake.thread("C0SUCCESS", post["ts"])]
    assert sum("left a voicemail" in m for m in thread) == 1
    assert sum("snoozed reminders" in m for m in thread) == 1
    assert len([r for r in caplog.records if "replayed Slack view_submission" in r.getMessage()]) == 2


def test_a_replayed_vip_touch_command_logs_one_touch(make_app):
    app = make_app(make_config({**TEST_CONFIG, "teams": [{**TEST_CONFIG["teams"][0], "members": ["U0ANA"]},
                                                         TEST_CONFIG["teams"][1]]}))
    with app.runtime.session() as session:
        upsert_account(session, AccountRecord(name="Acme Corp", domains=("acme.example",), owner="U0ANA"),
                       now=datetime.now(UTC) - timedelta(days=20))
    first, second = _send_twice(app, {
        "token": "legacy", "team_id": "T0SANDBOX", "team_domain": "sandbox", "channel_id": "C0SUCCESS",
        "channel_name": "cx", "user_id": "U0ANA", "user_name": "u0ana", "command": "/vip",
        "text": "touch acme called about renewal", "api_app_id": "A0CXLOOP",
        "response_url": app.fake.response_url("vip"), "trigger_id": "trigger-vip-touch"})
    assert "Logged a call" in first.json()["text"]
    assert second.status_code == 200 and not second.content
    with app.runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(Touch)) == 1


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


def test_a_replayed_reply_emails_the_customer_once(make_app, smtp):
    controller, mailbox = smtp
    app = make_app(make_config({**TEST_CONFIG, "email": {"host": "127.0.0.1", "port": controller.port,
                                                         "sender": "Acme CX <cx@acme.example>", "starttls": False}}))
    item_id = app.post_webhook(NPS_2).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")
    app.click(ActionId.REPLY, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    view = wait_for(lambda: [v for v in app.fake.views() if v.get("callback_id") == ViewId.REPLY],
                    what="the reply modal")[-1]["view"]
    reply = {InputId.REPLY_TEXT: {InputId.REPLY_TEXT: {"type": "plain_text_input", "value": "Hi Li, sorry."}}}
    answers = _send_twice(app, _submission(view, reply, user="U0ANA", trigger="trigger-reply-1"))
    assert [a.status_code for a in answers] == [200, 200]
    wait_for(lambda: mailbox.messages, what="the e-mail")
    _settled(app, item_id, post)
    assert len(mailbox.messages) == 1
    thread = [json.dumps(m) for m in app.fake.thread("C0SUCCESS", post["ts"])]
    assert sum("replied to the customer" in m for m in thread) == 1


def test_the_record_is_shared_by_processes_and_pruned_after_the_window(session_factory):
    now = datetime.now(UTC)
    clock = [now]
    one, other = ReplayGuard(session_factory, lambda: clock[0]), ReplayGuard(session_factory, lambda: clock[0])
    request = {"timestamp": "1765000000", "raw_body": b"payload=%7B%7D", "kind": "block_actions"}
    assert one.first_time(**request) is True
    assert other.first_time(**request) is False  # another process (its own guard) sees the first one's key
    assert other.first_time(**{**request, "raw_body": b"payload=%7B+%7D"}) is True
    clock[0] = now + timedelta(seconds=KEEP_SECONDS + 1)
    other._next_prune = 0.0
    assert other.first_time(**{**request, "timestamp": "1765000001"}) is True
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SlackRequestSeen)) == 1  # the old two pruned
