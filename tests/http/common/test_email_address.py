"""`customer.email` is exactly one mailbox, checked by one function (bot/common/email_address.py) everywhere.

Attacks: a list of addresses (the reply went to both), an address with a line break (the worker
raised on its row forever). Through the real endpoint, database and fake Slack.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.slack.ids import ActionId, InputId, ViewId, item_value
from models import Item, OutboxMessage
from tests.conftest import wait_for
from tests.http.intake.providers.test_surveys import config as provider_config
from tests.http.intake.providers.test_surveys import delighted_headers, edited, fixture, post

LISTS_AND_BREAKS = ["carl@acme.example,attacker@evil.example", "carl@acme.example\nBcc: attacker@evil.example",
                    "carl@acme\r\n.example", "Carl <carl@acme.example>", "carl@acme.example; eve@evil.example"]


def _items(app) -> int:
    with app.runtime.session() as session:
        return session.scalar(select(func.count()).select_from(Item))


@pytest.mark.parametrize("address", LISTS_AND_BREAKS)
def test_the_generic_webhook_refuses_anything_but_one_mailbox_naming_the_field(make_app, address):
    app = make_app()
    response = app.post_webhook({"id": "e-1", "kind": "nps", "score": 3, "customer": {"email": address}})
    assert response.status_code == 422
    assert "customer.email" in response.text and "e-mail" in response.text
    assert _items(app) == 0
    with app.runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_one_address_is_accepted_and_stored_lower_case(make_app):
    app = make_app()
    response = app.post_webhook({"id": "e-2", "kind": "nps", "score": 3, "customer": {"email": " Carl@Acme.Example "}})
    assert response.status_code == 202
    with app.runtime.session() as session:
        assert session.get(Item, response.json()["id"]).customer_email == "carl@acme.example"


def test_a_provider_payload_with_a_list_of_addresses_keeps_the_response_without_the_address(make_app):
    app = make_app(provider_config())
    body = edited(fixture("delighted", "survey_response_created.json"),
                  lambda data: data["event_data"]["person"].update(email="carl@acme.example,attacker@evil.example"))
    response = post(app, "delighted", body, delighted_headers(body))
    assert response.status_code == 202, response.text
    with app.runtime.session() as session:
        [item] = session.scalars(select(Item)).all()
        assert item.customer_email is None and item.score is not None


def test_the_escalate_modal_refuses_a_list_of_addresses_in_the_modal(make_app):
    app = make_app()
    view = {"type": "modal", "callback_id": ViewId.ESCALATE,
            "private_metadata": json.dumps({"channel": "C0SUPPORT", "ts": "1700000000.000100"})}
    values = {
        InputId.CUSTOMER: {InputId.CUSTOMER: {"type": "plain_text_input",
                                              "value": "carl@acme.example,attacker@evil.example"}},
        InputId.SEVERITY: {InputId.SEVERITY: {"type": "static_select", "selected_option": {"value": "high"}}},
        InputId.TEAM: {InputId.TEAM: {"type": "static_select", "selected_option": {"value": "support"}}},
    }
    answer = app.submit_view(view, values, user="U0ANA").json()
    assert answer["response_action"] == "errors" and "one e-mail address" in answer["errors"][InputId.CUSTOMER]
    assert _items(app) == 0


def test_an_address_stored_before_the_check_is_never_offered_a_reply(make_app):
    """Rows written before addresses were checked: no Reply by e-mail, and a queued reply is parked."""
    from tests.conftest import TEST_CONFIG, make_config

    app = make_app(make_config({**TEST_CONFIG, "email": {"host": "127.0.0.1", "port": 1, "sender": "cx@acme.example",
                                                         "starttls": False}}))
    item_id = app.post_webhook({"id": "e-3", "kind": "nps", "score": 3,
                                "customer": {"email": "carl@acme.example"}}).json()["id"]
    [post_] = app.wait_for_post("C0SUCCESS")
    with app.runtime.session() as session:
        session.get(Item, item_id).customer_email = "carl@acme.example,attacker@evil.example"
    app.click(ActionId.REPLY, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post_["ts"])
    wait_for(lambda: [e for e in app.fake.ephemerals() if "cannot be reached" in json.dumps(e)],
             what="the 'cannot be reached' ephemeral")
    assert not [v for v in app.fake.views() if v.get("callback_id") == ViewId.REPLY]
    # A reply modal opened before the address went bad: the submission is refused inside the modal.
    view = {"type": "modal", "callback_id": ViewId.REPLY, "private_metadata": str(item_id)}
    values = {InputId.REPLY_TEXT: {InputId.REPLY_TEXT: {"type": "plain_text_input", "value": "Hello"}}}
    answer = app.submit_view(view, values, user="U0ANA").json()
    assert answer["response_action"] == "errors" and "cannot be reached" in answer["errors"][InputId.REPLY_TEXT]
    with app.runtime.session() as session:
        assert not session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "http_call")).all()
