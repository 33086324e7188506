"""Reply to the customer from Slack: by e-mail over SMTP (a local aiosmtpd server) or through the
source (a Zendesk public comment on a local HTTP server); logged in the thread and as a touch."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from slack_sdk.models.blocks import Block

from bot.intake.ingest import ingest_item
from bot.intake.payload import validate_payload
from bot.sandbox.fake_slack import validate_blocks
from bot.slack.ids import ActionId, InputId, ViewId, item_value
from bot.vip.accounts import last_touch
from bot.vip.book import AccountRecord, upsert_account
from models import Item
from tests.conftest import TEST_CONFIG, _free_port, make_config, wait_for
from tests.http.followups.test_close_loop import Target


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        self.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                              "message": message_from_bytes(envelope.content, policy=policy.default)})
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def target():
    server = Target().start()
    yield server
    server.stop()


def _config(smtp_port: int, target: Target):
    return make_config({
        **TEST_CONFIG,
        "sources": [*TEST_CONFIG["sources"],
                    {"name": "zendesk", "type": "zendesk", "secret_env": "ZENDESK_SECRET", "api_url": target.url,
                     "api_user_env": "ZENDESK_EMAIL", "api_token_env": "ZENDESK_TOKEN"}],
        "email": {"host": "127.0.0.1", "port": smtp_port, "sender": "Acme CX <cx@acme.example>", "starttls": False},
    }, environ={"ZENDESK_SECRET": "s", "ZENDESK_EMAIL": "agent@example.com", "ZENDESK_TOKEN": "t"})


def _reply(app, item_id: int, channel: str, text: str, user: str = "U0ANA") -> dict:
    posts = app.wait_for_post(channel)
    [post] = [p for p in posts if p["metadata"]["event_payload"]["item_id"] == item_id]
    actions = [e["action_id"] for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ActionId.REPLY in actions
    app.click(ActionId.REPLY, item_value(item_id), user=user, channel=channel, ts=post["ts"])
    view = wait_for(lambda: [v for v in app.fake.views() if v.get("callback_id") == ViewId.REPLY],
                    what="the reply modal")[-1]["view"]
    empty = app.submit_view(view, {InputId.REPLY_TEXT: {InputId.REPLY_TEXT: {"type": "plain_text_input",
                                                                              "value": " "}}}, user=user)
    assert empty.json()["response_action"] == "errors"
    values = {InputId.REPLY_TEXT: {InputId.REPLY_TEXT: {"type": "plain_text_input", "value": text}}}
    assert app.submit_view(view, values, user=user).status_code == 200
    return post


def test_a_reply_by_email_reaches_the_customer_and_is_logged_as_a_touch(make_app, smtp, target):
    controller, mailbox = smtp
    app = make_app(_config(controller.port, target))
    with app.runtime.session() as session:
        upsert_account(session, AccountRecord(name="Acme Corp", domains=("acme.example",), owner="U0BEN"),
                       now=datetime.now(UTC))
    item_id = app.post_webhook({"id": "r-1", "kind": "nps", "score": 4, "comment": "Exports are slow",
                                "customer": {"email": "maya@acme.example", "name": "Maya Chen"}}).json()["id"]
    post = _reply(app, item_id, "C0SUCCESS", "Hi Maya, we shipped a fix for exports today.")
    [mail] = wait_for(lambda: mailbox.messages, what="the e-mail")
    assert mail["to"] == ["maya@acme.example"]
    assert mail["message"]["From"] == "Acme CX <cx@acme.example>"
    assert "shipped a fix" in mail["message"].get_content()
    wait_for(lambda: any("replied to the customer via e-mail" in json.dumps(m)
                         for m in app.fake.thread("C0SUCCESS", post["ts"])), what="the reply in the thread")
    with app.runtime.session() as session:
        touch = last_touch(session, session.get(Item, item_id).account_id)
        assert touch.actor == "U0ANA" and touch.channel == "email" and "shipped a fix" in touch.note
    app.idle()
    assert len(mailbox.messages) == 1
    # The note reached the strict fake once, with the sender escaped (a raw <cx@…> is no mrkdwn token).
    [note] = [m for m in app.fake.thread("C0SUCCESS", post["ts"]) if "replied to the customer" in json.dumps(m)]
    assert "e-mail from Acme CX &lt;cx@acme.example&gt;" in json.dumps(note["blocks"])
    assert validate_blocks(note["blocks"]) == []
    for block in note["blocks"]:  # and valid for slack_sdk's models, an independent check
        Block.parse(block).validate_json()
    assert [c for c in app.fake.calls("chat.postMessage") if c["error"]] == []


def test_a_zendesk_item_is_answered_with_a_public_comment(make_app, smtp, target):
    controller, _ = smtp
    app = make_app(_config(controller.port, target))
    with app.runtime.session() as session:
        item_id = ingest_item(session, source="zendesk", config=app.runtime.config, now=app.runtime.now(),
                              payload=validate_payload({
                                  "id": "ticket-77", "kind": "escalation", "subject": "Login loop", "priority": "high",
                                  "source_ref": {"zendesk_ticket_id": 77}, "customer": {"email": "it@globex.example"}})
                              ).item_id
    app.runtime.queued()
    _reply(app, item_id, "C0SUPPORT", "We found the cause; please clear cookies once.")
    [call] = wait_for(lambda: [r for r in target.requests if r["path"] == "/api/v2/tickets/77.json"],
                      what="the public comment")
    comment = json.loads(call["body"])["ticket"]["comment"]
    assert comment == {"body": "We found the cause; please clear cookies once.", "public": True}


def test_no_reply_button_without_a_way_to_reach_the_customer(make_app, smtp, target):
    app = make_app()  # no [email] configured
    app.post_webhook({"id": "r-2", "kind": "nps", "score": 4, "customer": {"email": "x@y.example"}})
    [post] = app.wait_for_post("C0SUCCESS")
    actions = [e["action_id"] for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ActionId.REPLY not in actions


def test_an_intercom_conversation_is_answered_as_the_configured_admin(make_app, target):
    app = make_app(make_config({
        **TEST_CONFIG,
        "sources": [*TEST_CONFIG["sources"],
                    {"name": "intercom", "type": "intercom", "secret_env": "INTERCOM_SECRET", "api_url": target.url,
                     "api_token_env": "INTERCOM_TOKEN", "options": {"admin_id": "814860"}}],
    }, environ={"INTERCOM_SECRET": "s", "INTERCOM_TOKEN": "tok"}))
    with app.runtime.session() as session:
        item_id = ingest_item(session, source="intercom", config=app.runtime.config, now=app.runtime.now(),
                              payload=validate_payload({
                                  "id": "conversation-55-rating", "kind": "csat", "score": 1, "comment": "No help",
                                  "source_ref": {"intercom_conversation_id": "55"},
                                  "customer": {"email": "kim@initech.example"}})).item_id
    app.runtime.queued()
    _reply(app, item_id, "C0SUCCESS", "Sorry Kim, a specialist will call you today.")
    [call] = wait_for(lambda: [r for r in target.requests if r["path"] == "/conversations/55/reply"],
                      what="the Intercom reply")
    assert call["headers"]["authorization"] == "Bearer tok"
    assert json.loads(call["body"]) == {"message_type": "comment", "type": "admin", "admin_id": "814860",
                                        "body": "Sorry Kim, a specialist will call you today."}
