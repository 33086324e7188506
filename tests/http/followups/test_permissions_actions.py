"""Every action that changes an item or speaks to its customer is authorised like claim/resolve:
reply, note, snooze and follow-up dates, when the modal opens and again at submission."""

from __future__ import annotations

import copy
import json

from sqlalchemy import func, select

from bot.slack.ids import ActionId, InputId, OverflowChoice, ViewId, item_value, overflow_value
from models import FollowUp, FollowUpEvent, OutboxMessage
from tests.conftest import TEST_CONFIG, make_config, wait_for
from tests.http.followups.test_reply import smtp  # noqa: F401 — the local SMTP server fixture

CUSTOMER = {"email": "li@acme.example", "name": "Li Wei"}


def _config(smtp_port: int, **permissions):
    data = copy.deepcopy(TEST_CONFIG)
    data["teams"][0].update(permissions=permissions)
    data["email"] = {"host": "127.0.0.1", "port": smtp_port, "sender": "cx@acme.example", "starttls": False}
    return make_config(data)


def _state(app, item_id: int) -> tuple:
    with app.runtime.session() as session:
        follow_up = session.scalar(select(FollowUp).where(FollowUp.item_id == item_id))
        events = session.scalar(select(func.count()).select_from(FollowUpEvent))
        calls = session.scalar(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.kind == "http_call"))
        return follow_up.snoozed_until, follow_up.follow_up_on, events, calls


def _views(app, callback_id: str) -> list[dict]:
    return [v for v in app.fake.views() if v.get("callback_id") == callback_id]


SUBMISSIONS = {
    ViewId.REPLY: (InputId.REPLY_TEXT, {"type": "plain_text_input", "value": "Hi Li, about your refund"}),
    ViewId.NOTE: (InputId.NOTE, {"type": "plain_text_input", "value": "called, no answer"}),
    ViewId.SNOOZE: (InputId.SNOOZE_FOR, {"type": "static_select", "selected_option": {"value": "7d"}}),
    ViewId.FOLLOW_UP: (InputId.FOLLOW_UP_ON, {"type": "datepicker", "selected_date": "2031-01-06"}),
}


def _submit(app, callback_id, item_id: int, user: str):
    input_id, state = SUBMISSIONS[callback_id]
    view = {"type": "modal", "callback_id": callback_id, "private_metadata": str(item_id)}
    return app.submit_view(view, {input_id: {input_id: state}}, user=user)


def test_a_user_refused_resolve_can_neither_reply_note_snooze_nor_move_follow_up_dates(make_app, fake_slack, smtp):  # noqa: F811
    controller, mailbox = smtp
    fake_slack.set_channel_members("C0SUCCESS", ["U0ANA"])
    app = make_app(_config(controller.port, resolve=["channel"]))
    item_id = app.post_webhook({"id": "az-1", "kind": "nps", "score": 2, "customer": CUSTOMER}).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")
    before = _state(app, item_id)

    clicks = [(ActionId.REPLY, item_value(item_id), None, "reply to the customers of"),
              (ActionId.MORE, "", OverflowChoice.NOTE, "add notes to"),
              (ActionId.MORE, "", OverflowChoice.SNOOZE, "can't snooze"),
              (ActionId.MORE, "", OverflowChoice.FOLLOW_UP, "follow-up dates"),
              (ActionId.FOLLOW_UP_PICK, item_value(item_id), None, "follow-up dates"),
              (ActionId.FOLLOW_UP_PUSH, item_value(item_id), None, "follow-up dates")]
    for count, (action_id, value, choice, needle) in enumerate(clicks, start=1):
        app.click(action_id, value, user="U0CARA", channel="C0SUCCESS", ts=post["ts"],
                  selected_option=overflow_value(choice, item_id) if choice else None)
        refusals = wait_for(lambda count=count: len([e for e in app.fake.ephemerals() if e.get("user") == "U0CARA"])
                            >= count and [e for e in app.fake.ephemerals() if e.get("user") == "U0CARA"],
                            what=f"refusal {count}")
        assert needle in json.dumps(refusals[-1]) and "<#C0SUCCESS>" in json.dumps(refusals[-1])
    assert not app.fake.views()

    # Hand-made submissions (no modal was opened for her) are refused inside the modal, naming who may.
    for callback_id, (input_id, _) in SUBMISSIONS.items():
        answer = _submit(app, callback_id, item_id, "U0CARA").json()
        assert answer["response_action"] == "errors"
        assert "only members of the success team's channel may" in answer["errors"][input_id]
    app.idle()
    assert _state(app, item_id) == before and mailbox.messages == []


def test_permission_withdrawn_between_opening_and_submitting_is_enforced_at_submission(make_app, fake_slack, smtp):  # noqa: F811
    controller, mailbox = smtp
    app = make_app(_config(controller.port, resolve=["U0ANA"]))
    item_id = app.post_webhook({"id": "az-2", "kind": "nps", "score": 2, "customer": CUSTOMER}).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")
    app.click(ActionId.REPLY, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    wait_for(lambda: _views(app, ViewId.REPLY), what="Ana's reply modal")
    before = _state(app, item_id)

    app.runtime.config = _config(controller.port, resolve=["U0ANA"], reply=["admins"], note=["admins"])
    for callback_id in (ViewId.REPLY, ViewId.NOTE):
        answer = _submit(app, callback_id, item_id, "U0ANA").json()
        assert answer["response_action"] == "errors", callback_id
    app.idle()
    assert _state(app, item_id) == before and mailbox.messages == []

    # Given back: the same submission goes through, and the e-mail goes to the one address.
    app.runtime.config = _config(controller.port, resolve=["anyone"], reply=["U0ANA"], note=["anyone"])
    assert _submit(app, ViewId.REPLY, item_id, "U0ANA").status_code == 200
    [mail] = wait_for(lambda: mailbox.messages, what="the e-mail")
    assert mail["to"] == ["li@acme.example"]


def test_note_and_reply_keys_set_apart_from_resolve(make_app, fake_slack, smtp):  # noqa: F811
    controller, _ = smtp
    app = make_app(_config(controller.port, resolve=["U0ANA"], note=["anyone"]))
    item_id = app.post_webhook({"id": "az-3", "kind": "nps", "score": 2, "customer": CUSTOMER}).json()["id"]
    app.wait_for_post("C0SUCCESS")
    events = _state(app, item_id)[2]
    assert _submit(app, ViewId.NOTE, item_id, "U0CARA").status_code == 200
    wait_for(lambda: _state(app, item_id)[2] > events, what="Cara's note")
    assert _submit(app, ViewId.REPLY, item_id, "U0CARA").json()["response_action"] == "errors"


def test_an_unknown_word_in_reply_or_note_is_a_config_error():
    data = copy.deepcopy(TEST_CONFIG)
    data["teams"][0]["permissions"] = {"reply": ["everyone"]}
    try:
        make_config(data)
    except Exception as exc:  # noqa: BLE001
        assert "teams[0].permissions.reply[0]" in str(exc)
    else:
        raise AssertionError("an unknown permission word was accepted")
