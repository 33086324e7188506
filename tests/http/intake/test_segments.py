"""Segments at intake (issue 19): agent, plan, segment, role and customer-since land in their columns,
and a rating stays with the agent who handled the conversation when it was rated.

Through the real webhook endpoint, on SQLite and Postgres, with the fake Slack.
"""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest
from sqlalchemy import select

from bot.config import ConfigError
from models import Item
from tests.conftest import TEST_CONFIG, make_config
from tests.http.intake.providers import test_support as support
from tests.http.intake.providers import test_surveys as surveys


def item_of(app, source: str, external_id: str) -> Item:
    with app.runtime.session() as session:
        item = session.scalar(select(Item).where(Item.source == source, Item.external_id == external_id))
        session.expunge_all()
        return item


def test_generic_payload_segments_land_in_their_columns(make_app):
    app = make_app()
    response = app.post_webhook({
        "id": "seg-1", "kind": "nps", "score": 4, "comment": "Export keeps failing",
        "agent": "ann@acme.example",
        "customer": {"email": "bo@initech.example", "plan": "Enterprise", "segment": "mid-market",
                     "role": "admin", "since": "2024-03-01"},
    })
    assert response.status_code == 202, response.text
    item = item_of(app, "generic", "seg-1")
    assert (item.agent, item.plan, item.segment, item.role) == ("ann@acme.example", "Enterprise", "mid-market",
                                                               "admin")
    assert item.customer_since == date(2024, 3, 1)
    assert item.imported_at is None


def test_a_bad_since_is_refused_naming_the_field_and_nothing_is_stored(make_app):
    app = make_app()
    response = app.post_webhook({"id": "seg-bad", "kind": "nps", "score": 4, "customer": {"since": "last spring"}})
    assert response.status_code == 422
    assert response.json()["field"] == "customer.since"
    assert item_of(app, "generic", "seg-bad") is None


def test_configured_property_names_fill_the_segments(make_app):
    data = copy.deepcopy(TEST_CONFIG)
    data["segments"] = {"plan_property": "Pricing Tier", "since_property": "signup_at", "role_property": "Persona"}
    app = make_app(make_config(data))
    response = app.post_webhook({
        "id": "seg-2", "kind": "nps", "score": 9,
        "customer": {"properties": {"pricing_tier": "Growth", "Signup-At": "2021-06-30T10:00:00Z",
                                    "persona": "billing owner", "segment": "smb"}},
    })
    assert response.status_code == 202, response.text
    item = item_of(app, "generic", "seg-2")
    assert (item.plan, item.role, item.segment) == ("Growth", "billing owner", "smb")
    assert item.customer_since == date(2021, 6, 30)


def test_segments_config_is_validated():
    data = copy.deepcopy(TEST_CONFIG)
    data["segments"] = {"plan_property": "", "tenure": "since"}
    with pytest.raises(ConfigError) as raised:
        make_config(data)
    text = "\n".join(raised.value.problems)
    assert "segments.plan_property" in text and "segments.tenure: unknown key" in text


# --- attribution: the agent who handled it, not whoever holds the ticket later ------------------------

def test_zendesk_rating_stays_with_the_assignee_at_the_time_of_rating(make_app):
    app = make_app(support.support_config())
    rated = support.fixture_json("zendesk", "trigger_satisfaction_bad.json")
    rated["satisfaction"]["assignee"] = {"email": "ann@acme.example", "name": "Ann Agent"}
    assert support.post_zendesk(app, json.dumps(rated).encode()).status_code == 202
    assert item_of(app, "zendesk", "ticket-35377-csat").agent == "ann@acme.example"

    # The ticket is reassigned to Bob; the customer then adds to their comment: a newer delivery.
    later = copy.deepcopy(rated)
    later["ticket"]["updated_at"] = "2026-03-03T09:00Z"
    later["ticket"]["assignee"] = {"email": "bob@acme.example"}
    later["satisfaction"]["assignee"] = {"email": "bob@acme.example", "name": "Bob Later"}
    later["satisfaction"]["comment"] += " Still broken today."
    response = support.post_zendesk(app, json.dumps(later).encode())
    assert response.status_code == 200 and response.json()["updated"] is True, response.text
    item = item_of(app, "zendesk", "ticket-35377-csat")
    assert item.comment.endswith("Still broken today.")
    assert item.agent == "ann@acme.example"


def test_zendesk_rating_assignee_id_is_the_agent_when_no_name_is_rendered(make_app):
    app = make_app(support.support_config())
    rated = support.fixture_json("zendesk", "trigger_satisfaction_good.json")
    rated["satisfaction"]["assignee_id"] = "400123"
    rated["satisfaction"]["assignee"] = {"email": "{{ticket.assignee.email}}"}  # left unrendered
    assert support.post_zendesk(app, json.dumps(rated).encode()).status_code == 202
    [item] = [i for i in support.stored(app, "zendesk") if i["kind"] == "csat"]
    assert item_of(app, "zendesk", item["external_id"]).agent == "zendesk:400123"


def test_intercom_rating_is_the_rated_teammates_not_the_later_assignees(make_app):
    app = make_app(support.support_config())
    body = support.fixture_json("intercom", "conversation_rating_added.json")
    assert support.post_intercom(app, json.dumps(body).encode()).status_code == 202
    item = item_of(app, "intercom", "conversation-215472621202701-rating")
    assert item.agent == "intercom:9608799"

    later = copy.deepcopy(body)
    conversation = later["data"]["item"]
    conversation["updated_at"] += 3600
    later["created_at"] += 3600
    conversation["admin_assignee_id"] = 5550001
    conversation["conversation_rating"]["teammate"] = {"type": "admin", "id": "5550001"}
    conversation["conversation_rating"]["remark"] += " Update: a new person took over."
    response = support.post_intercom(app, json.dumps(later).encode())
    assert response.status_code == 200 and response.json()["updated"] is True, response.text
    item = item_of(app, "intercom", "conversation-215472621202701-rating")
    assert item.comment.endswith("a new person took over.")
    assert item.agent == "intercom:9608799"


def test_delighted_person_properties_and_typeform_hidden_fields_fill_the_segments(make_app):
    app = make_app(surveys.config())
    created = json.loads(surveys.fixture("delighted", "survey_response_created.json"))
    created["event_data"]["person_properties"].update({"Role": "Admin", "Customer Since": "2022-05-01",
                                                       "Segment": "Mid-market"})
    body = json.dumps(created).encode()
    assert surveys.post(app, "delighted", body, surveys.delighted_headers(body)).status_code == 202
    item = item_of(app, "delighted", created["event_data"]["id"])
    assert (item.plan, item.segment, item.role) == ("Enterprise", "Mid-market", "Admin")
    assert item.customer_since == date(2022, 5, 1)

    response = json.loads(surveys.fixture("typeform", "form_response.json"))
    response["form_response"]["hidden"] = {**response["form_response"].get("hidden", {}),
                                           "plan": "Growth", "role": "billing", "signup_date": "2024-12-31"}
    body = json.dumps(response).encode()
    assert surveys.post(app, "typeform", body, surveys.typeform_headers(body)).status_code == 202
    [item] = [i for i in surveys.stored_items(app) if i.source == "typeform"]
    assert (item.plan, item.role, item.customer_since) == ("Growth", "billing", date(2024, 12, 31))
