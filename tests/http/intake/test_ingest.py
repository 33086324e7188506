"""Older never overwrites newer, and an edit never loses what it did not mention (issue 13).

Every test POSTs signed webhooks to the real app (uvicorn, SQLite and Postgres, the fake Slack), the way
an outsider would reorder or replay them: providers redeliver out of order, and Delighted, Typeform,
Intercom, Wootric and SurveyMonkey sign no timestamp, so anyone who saw a delivery can send it again.
The pattern: an older event is stored and posted, a newer one edits the message, then the older one
arrives again. It must be answered 200 "stale", change nothing stored and edit nothing in Slack.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.intake.providers import surveymonkey
from bot.vip.book import AccountRecord, upsert_account
from models import Item, OutboxMessage
from tests.conftest import TEST_CONFIG, make_config
from tests.http.intake.providers import test_more as more
from tests.http.intake.providers import test_support as support
from tests.http.intake.providers import test_surveys as surveys

STALE = {"status": "duplicate", "updated": False, "stale": True}


# --- what was stored and what Slack was asked to do ---------------------------------------------------

def item_of(app, source: str, external_id: str) -> Item:
    with app.runtime.session() as session:
        item = session.scalar(select(Item).where(Item.source == source, Item.external_id == external_id))
        session.expunge_all()
        return item


def edits_queued(app, item_id: int) -> int:
    with app.runtime.session() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.item_id == item_id, OutboxMessage.kind == "update_item"))


def slack_edits(app, channel: str, ts: str) -> list[dict]:
    return [call for call in app.fake.calls("chat.update")
            if call["args"].get("channel") == channel and call["args"].get("ts") == ts]


def text_of(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message.get("text", "")


def assert_stale(response, item_id: int) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {"id": item_id, **STALE}


def assert_edited_once(app, item: Item, channel: str, ts: str, shown: str, not_shown: str | None = None) -> None:
    """One edit was queued and made, and the message in Slack shows the newer text, not the older one."""
    app.idle()
    assert edits_queued(app, item.id) == 1
    assert len(slack_edits(app, channel, ts)) == 1
    message = app.fake.message(channel, ts)
    assert shown in text_of(message)
    assert not_shown is None or not_shown not in text_of(message)
    assert len(app.posts(channel)) == 1


def edited(body: bytes, change) -> bytes:
    data = json.loads(body)
    change(data)
    return json.dumps(data).encode()


# --- Delighted: created / updated, no timestamp in the signature ---------------------------------------

def test_delighted_created_arriving_after_updated_changes_nothing(make_app):
    app = make_app(surveys.config())
    created = surveys.fixture("delighted", "survey_response_created.json")
    updated = surveys.fixture("delighted", "survey_response_updated.json")
    comment = "Support took four days to answer and the export keeps timing out."

    assert surveys.post(app, "delighted", created, surveys.delighted_headers(created)).status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")
    edit = surveys.post(app, "delighted", updated, surveys.delighted_headers(updated))
    assert edit.json()["updated"] is True
    surveys.updated_with(app, "C0SUCCESS", message["ts"], "export keeps timing out")

    # The .created delivered again (a late retry, or a replay: the signature has no timestamp).
    item = item_of(app, "delighted", "88121")
    assert_stale(surveys.post(app, "delighted", created, surveys.delighted_headers(created)), item.id)
    # An older edit with another comment is stale too, even though its content differs.
    older = edited(updated, lambda d: d["event_data"].update(comment="Everything is fine", score=10,
                                                             updated_at=1732187000))
    assert_stale(surveys.post(app, "delighted", older, surveys.delighted_headers(older)), item.id)

    assert item_of(app, "delighted", "88121").comment == comment
    assert item_of(app, "delighted", "88121").score == 3
    assert_edited_once(app, item, "C0SUCCESS", message["ts"], "export keeps timing out", "Everything is fine")


def test_delighted_updated_first_then_created_keeps_the_comment_and_edits_nothing(make_app):
    app = make_app(surveys.config())
    created = surveys.fixture("delighted", "survey_response_created.json")
    updated = surveys.fixture("delighted", "survey_response_updated.json")
    assert surveys.post(app, "delighted", updated, surveys.delighted_headers(updated)).status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")
    item = item_of(app, "delighted", "88121")
    assert_stale(surveys.post(app, "delighted", created, surveys.delighted_headers(created)), item.id)
    app.idle()
    assert item_of(app, "delighted", "88121").comment.endswith("the export keeps timing out.")
    assert edits_queued(app, item.id) == 0 and slack_edits(app, "C0SUCCESS", message["ts"]) == []


def test_delighted_update_in_the_same_second_as_the_create_still_wins(make_app):
    app = make_app(surveys.config())
    created = surveys.fixture("delighted", "survey_response_created.json")
    same_second = edited(surveys.fixture("delighted", "survey_response_updated.json"),
                         lambda d: d["event_data"].update(updated_at=1732186844))
    assert surveys.post(app, "delighted", created, surveys.delighted_headers(created)).status_code == 202
    edit = surveys.post(app, "delighted", same_second, surveys.delighted_headers(same_second))
    assert edit.json()["updated"] is True
    assert item_of(app, "delighted", "88121").comment.endswith("the export keeps timing out.")


# --- Formbricks: created < updated < finished ------------------------------------------------------------

def _formbricks(name: str, change=None) -> bytes:
    body = surveys.fixture("formbricks", name)
    # Some documented examples are a list of one event.
    return edited(body, lambda data: change(data[0] if isinstance(data, list) else data)) if change else body


def _response_id(body: bytes) -> str:
    data = json.loads(body)
    return (data[0] if isinstance(data, list) else data)["data"]["id"]


def test_formbricks_created_after_finished_changes_nothing(make_app):
    app = make_app(surveys.config())
    updated = _formbricks("response_updated.json")
    finished = _formbricks("response_finished.json")
    assert surveys.post(app, "formbricks", updated, surveys.formbricks_headers(updated)).status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")
    assert surveys.post(app, "formbricks", finished, surveys.formbricks_headers(finished)).json()["updated"] is True
    item = item_of(app, "formbricks", _response_id(finished))
    assert item.comment == "The dashboard is slow and exports fail every week."

    # Formbricks retrying the earlier events after the finish (re-signed: its window is 5 minutes).
    assert_stale(surveys.post(app, "formbricks", updated, surveys.formbricks_headers(updated)), item.id)
    assert item_of(app, "formbricks", item.external_id).comment == item.comment
    assert_edited_once(app, item, "C0SUCCESS", message["ts"], "exports fail every week")


def test_formbricks_a_later_stage_wins_at_an_equal_time_and_an_earlier_one_does_not(make_app):
    app = make_app(surveys.config())

    def at(name: str, when: str, comment: str) -> bytes:
        def change(data):
            data["data"]["updatedAt"] = when
            data["data"]["data"]["f5bm3ds0qymp5a1ag0kawm8z"] = comment
        return _formbricks(name, change)

    when = "2025-07-24T07:47:56.116Z"
    updated = at("response_updated.json", when, "Written while answering")
    finished = at("response_finished.json", when, "Final answer: exports fail")
    assert surveys.post(app, "formbricks", updated, surveys.formbricks_headers(updated)).status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")
    assert surveys.post(app, "formbricks", finished, surveys.formbricks_headers(finished)).json()["updated"] is True
    item = item_of(app, "formbricks", _response_id(finished))
    # responseUpdated with the same updatedAt, delivered after the finish: an earlier stage, stale.
    assert_stale(surveys.post(app, "formbricks", updated, surveys.formbricks_headers(updated)), item.id)
    assert item_of(app, "formbricks", item.external_id).comment == "Final answer: exports fail"
    assert_edited_once(app, item, "C0SUCCESS", message["ts"], "Final answer", "Written while answering")


# --- Typeform: one event per response, no timestamp in the signature -------------------------------------

def test_typeform_an_older_delivery_of_the_same_token_changes_nothing(make_app):
    app = make_app(surveys.config())
    body = surveys.fixture("typeform", "form_response.json")

    def older(data):
        data["form_response"]["submitted_at"] = "2024-11-21T10:12:02Z"
        for answer in data["form_response"]["answers"]:
            if answer["type"] == "text":
                answer["text"] = "An earlier, different answer"
    old = edited(body, older)
    assert surveys.post(app, "typeform", old, surveys.typeform_headers(old)).status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")
    assert surveys.post(app, "typeform", body, surveys.typeform_headers(body)).json()["updated"] is True
    item = item_of(app, "typeform", "a3a12ec67a1365927098a606107fac15")
    newer_comment = item.comment
    assert "earlier, different" not in newer_comment
    assert_stale(surveys.post(app, "typeform", old, surveys.typeform_headers(old)), item.id)
    assert item_of(app, "typeform", item.external_id).comment == newer_comment
    assert_edited_once(app, item, "C0SUCCESS", message["ts"], "support took four days", "earlier, different")


# --- Wootric: created / updated, no timestamp in the signature -----------------------------------------

def test_wootric_created_after_updated_changes_nothing(make_app):
    app = make_app(more.provider_config())
    created = more.fixture("wootric", "response_created.form")
    updated = (created.replace(b"event_name=created", b"event_name=updated")
               .replace(b"response[updated_at]=2024-05-14%2009%3A41%3A02", b"response[updated_at]=2024-05-14%2009%3A45%3A10")
               .replace(b"response[text]=Exports%20keep", b"response[text]=Update%3A%20exports%20keep"))
    assert updated.count(b"09%3A45%3A10") == 1 and b"Update%3A" in updated
    assert more.post(app, "wootric", created, more.wootric_headers(created)).status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")
    assert more.post(app, "wootric", updated, more.wootric_headers(updated)).json()["updated"] is True
    item = item_of(app, "wootric", "1128")
    assert_stale(more.post(app, "wootric", created, more.wootric_headers(created)), item.id)
    assert item_of(app, "wootric", "1128").comment.startswith("Update: exports keep")
    assert_edited_once(app, item, "C0SUCCESS", message["ts"], "Update: exports keep", "Exports keep")


# --- SurveyMonkey: the callback carries ids; the response is fetched -------------------------------------

@pytest.fixture
def sm_api():
    surveymonkey.clear_cache()
    api = more.FakeSurveyMonkeyAPI(more.SM_TOKEN, {
        more.RESPONSE_PATH: more.fixture("surveymonkey", "response_details.json"),
        more.SURVEY_PATH: more.fixture("surveymonkey", "survey_details.json"),
    }).start()
    yield api
    api.stop()
    surveymonkey.clear_cache()


def test_surveymonkey_an_older_copy_of_the_response_changes_nothing(make_app, sm_api):
    app = make_app(more.provider_config(sm_api.url))
    details = json.loads(more.fixture("surveymonkey", "response_details.json"))

    def version(modified: str, comment: str) -> bytes:
        data = json.loads(json.dumps(details))
        data["date_modified"] = modified
        data["pages"][0]["questions"][2]["answers"][0]["text"] = comment
        return json.dumps(data).encode()

    callback = more.fixture("surveymonkey", "response_completed.json")
    sm_api.documents[more.RESPONSE_PATH] = version("2024-05-14T16:41:05+00:00", "First answer")
    assert more.post(app, "surveymonkey", callback, more.surveymonkey_headers(callback)).status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")
    sm_api.documents[more.RESPONSE_PATH] = version("2024-05-14T16:50:00+00:00", "Edited answer")
    second = edited(callback, lambda d: d.update(event_id="10031456790"))
    assert more.post(app, "surveymonkey", second, more.surveymonkey_headers(second)).json()["updated"] is True
    item = item_of(app, "surveymonkey", more.RESPONSE_ID)
    # The first callback delivered again: the event was applied, so no API call and nothing changes.
    calls = len(sm_api.requests)
    again = more.post(app, "surveymonkey", callback, more.surveymonkey_headers(callback))
    assert (again.status_code, again.json()["status"], len(sm_api.requests)) == (200, "duplicate", calls)
    # A new callback answered from an older copy (a lagging API replica, a cached proxy).
    sm_api.documents[more.RESPONSE_PATH] = version("2024-05-14T16:41:05+00:00", "First answer")
    third = edited(callback, lambda d: d.update(event_id="10031456791"))
    assert_stale(more.post(app, "surveymonkey", third, more.surveymonkey_headers(third)), item.id)
    assert item_of(app, "surveymonkey", more.RESPONSE_ID).comment == "Edited answer"
    assert_edited_once(app, item, "C0SUCCESS", message["ts"], "Edited answer", "First answer")


# --- Intercom: notifications, no timestamp in the signature -------------------------------------------

def test_intercom_an_older_rating_notification_changes_nothing(make_app):
    app = make_app(support.support_config())
    newer = support.fixture("intercom", "conversation_rating_added.json")

    def older(data):
        data["created_at"] = data["data"]["item"]["updated_at"] = 1772449000
        data["data"]["item"]["conversation_rating"]["remark"] = "First remark, since replaced"
    old = edited(newer, older)
    assert support.post_intercom(app, old).status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")
    assert support.post_intercom(app, newer).json()["updated"] is True
    item = item_of(app, "intercom", "conversation-215472621202701-rating")
    assert_stale(support.post_intercom(app, old), item.id)
    assert item_of(app, "intercom", item.external_id).comment.startswith("Took forty minutes")
    assert_edited_once(app, item, "C0SUCCESS", message["ts"], "Took forty minutes", "since replaced")


# --- Zendesk: trigger times are to the minute; the signed timestamp orders the same minute --------------

def test_zendesk_an_older_satisfaction_delivery_changes_nothing(make_app):
    app = make_app(support.support_config())
    body = support.fixture("zendesk", "trigger_satisfaction_bad.json")

    def at(updated_at: str, comment: str) -> bytes:
        def change(data):
            data["ticket"]["updated_at"] = updated_at
            data["satisfaction"]["comment"] = comment
        return edited(body, change)

    now = datetime.now(UTC)
    rated = at("2026-03-02T17:48Z", "Rated bad, no comment yet")
    commented = at("2026-03-02T17:48Z", "Rated bad: the refund never arrived")
    later = at("2026-03-02T17:52Z", "Refund arrived but late")
    # Two deliveries in the same minute: the one signed later is newer.
    assert support.post_zendesk(app, rated, when=now - timedelta(seconds=40)).status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")
    assert support.post_zendesk(app, commented, when=now - timedelta(seconds=10)).json()["updated"] is True
    ticket = json.loads(body)["ticket"]["id"]
    item = item_of(app, "zendesk", f"ticket-{ticket}-csat")
    # The first delivery replayed as it was signed (still inside Zendesk's 5-minute window).
    assert_stale(support.post_zendesk(app, rated, when=now - timedelta(seconds=40)), item.id)
    assert item_of(app, "zendesk", item.external_id).comment == "Rated bad: the refund never arrived"
    assert_edited_once(app, item, "C0SUCCESS", message["ts"], "refund never arrived", "no comment yet")

    # A later ticket update wins; the older one re-signed now is still older.
    assert support.post_zendesk(app, later).json()["updated"] is True
    assert_stale(support.post_zendesk(app, commented), item.id)
    assert item_of(app, "zendesk", item.external_id).comment == "Refund arrived but late"


# --- the generic source: optional updated_at / version ---------------------------------------------------

def test_generic_updated_at_and_version_order_the_edits(make_app):
    app = make_app()
    first = app.post_webhook({"id": "g-1", "score": 3, "comment": "v2 comment", "version": 2})
    assert first.status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")
    assert_stale(app.post_webhook({"id": "g-1", "score": 9, "comment": "v1 comment", "version": 1}), first.json()["id"])
    assert_stale(app.post_webhook({"id": "g-1", "score": 9, "comment": "v2 again", "version": 2}), first.json()["id"])
    assert app.post_webhook({"id": "g-1", "score": 3, "comment": "v3 comment", "version": "3"}).json()["updated"]
    item = item_of(app, "generic", "g-1")
    assert (item.score, item.comment) == (3, "v3 comment")
    assert_edited_once(app, item, "C0SUCCESS", message["ts"], "v3 comment", "v1 comment")

    at = app.post_webhook({"id": "g-2", "score": 2, "comment": "ten past", "updated_at": "2026-12-01T10:10:00Z"})
    assert_stale(app.post_webhook({"id": "g-2", "score": 2, "comment": "five past",
                                   "updated_at": "2026-12-01T10:05:00Z"}), at.json()["id"])
    assert app.post_webhook({"id": "g-2", "score": 2, "comment": "quarter past",
                             "updated_at": 1796120100}).json()["updated"] is True
    assert item_of(app, "generic", "g-2").comment == "quarter past"

    # Without either, the later arrival wins, as before.
    app.post_webhook({"id": "g-3", "score": 2, "comment": "first"})
    assert app.post_webhook({"id": "g-3", "score": 2, "comment": "second"}).json()["updated"] is True
    assert item_of(app, "generic", "g-3").comment == "second"


def test_generic_version_must_be_a_whole_non_negative_number(make_app):
    app = make_app()
    for bad in (-1, 1.5, True, "v2", 2**63):
        response = app.post_webhook({"id": "g-bad", "score": 3, "version": bad})
        assert response.status_code == 422, bad
        assert response.json()["field"] == "version"
    response = app.post_webhook({"id": "g-bad", "score": 3, "updated_at": "yesterday"})
    assert response.status_code == 422 and response.json()["field"] == "updated_at"
    assert item_of(app, "generic", "g-bad") is None


# --- an edit never loses what it did not mention ---------------------------------------------------------

VIP_CONFIG = {**TEST_CONFIG,
              "routes": [{"name": "VIPs to success", "when": {"vip": True}, "team": "success"}, *TEST_CONFIG["routes"]]}


def test_an_edit_without_the_customer_keeps_the_vip_link_account_plan_and_badge(make_app):
    app = make_app(make_config(VIP_CONFIG))
    with app.runtime.session() as session:
        upsert_account(session, AccountRecord(name="Acme Corp", external_id="acct-acme", domains=("acme.example",),
                                              owner="U0ANA", plan="enterprise",
                                              contacts=(("maya@acme.example", "Maya Chen"),)),
                       now=datetime.now(UTC) - timedelta(days=3))
    first = app.post_webhook({"id": "vip-1", "kind": "csat", "score": 2, "tags": ["billing"],
                              "url": "https://survey.example/r/vip-1",
                              "customer": {"email": "maya@acme.example", "name": "Maya Chen", "segment": "mid-market"}})
    assert first.status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")
    assert "⭐ VIP" in text_of(message)
    linked = item_of(app, "generic", "vip-1")
    assert linked.account_id is not None and linked.vip

    # The comment arrives later, in an event that restates nothing else.
    edit = app.post_webhook({"id": "vip-1", "kind": "csat", "score": 2, "comment": "Invoices are wrong again"})
    assert edit.json()["updated"] is True
    edited_message = surveys.updated_with(app, "C0SUCCESS", message["ts"], "Invoices are wrong again")
    item = item_of(app, "generic", "vip-1")
    assert (item.account_id, item.vip, item.account_name, item.plan) == (linked.account_id, True, "Acme Corp", "enterprise")
    assert (item.customer_email, item.customer_name, item.segment) == ("maya@acme.example", "Maya Chen", "mid-market")
    assert (item.tags, item.url) == (["billing"], "https://survey.example/r/vip-1")
    text = text_of(edited_message)
    assert "⭐ VIP" in text and "Acme Corp" in text and "enterprise" in text and "Maya Chen" in text


def test_a_provider_edit_without_person_properties_keeps_the_account_plan_and_badge(make_app):
    app = make_app(surveys.config())

    def with_vip(data):
        data["event_data"]["person_properties"]["VIP"] = 1
    created = edited(surveys.fixture("delighted", "survey_response_created.json"), with_vip)

    def bare(data):
        del data["event_data"]["person_properties"]
        data["event_data"]["person"] = {"id": "40977"}
    updated = edited(surveys.fixture("delighted", "survey_response_updated.json"), bare)
    assert surveys.post(app, "delighted", created, surveys.delighted_headers(created)).status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")
    assert "⭐ VIP" in text_of(message)
    assert surveys.post(app, "delighted", updated, surveys.delighted_headers(updated)).json()["updated"] is True
    edited_message = surveys.updated_with(app, "C0SUCCESS", message["ts"], "export keeps timing out")
    item = item_of(app, "delighted", "88121")
    assert (item.vip, item.account_name, item.plan, item.account_external_id) == (True, "Acme Corp", "Enterprise", "acme-42")
    assert (item.customer_email, item.customer_name) == ("maya.chen@acme.example", "Maya Chen")
    assert item.properties["Delighted Source"] == "Email"
    text = text_of(edited_message)
    assert "⭐ VIP" in text and "Acme Corp" in text and "Enterprise" in text and "Maya Chen" in text
