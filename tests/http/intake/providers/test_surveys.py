"""Survey providers end to end: Delighted, Typeform and Formbricks webhooks → stored → posted to the fake Slack.

Each test POSTs the provider's documented payload to /webhooks/<source> of the real app (uvicorn, SQLite
and Postgres, fake Slack), signed the way the provider signs it. The signers below are written from
each provider's documentation, independently of the adapters:
- Delighted (https://app.delighted.com/docs/api/webhooks): X-Delighted-Webhook-Signature:
  sha256=<hex HMAC-SHA256(API key, raw body)>.
- Typeform (https://www.typeform.com/developers/webhooks/secure-your-webhooks/): Typeform-Signature:
  sha256=<base64 HMAC-SHA256(secret, raw body)>.
- Formbricks (https://formbricks.com/docs/xm-and-surveys/core-features/integrations/webhooks, Standard
  Webhooks): webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256(base64-decoded
  whsec_ secret, "id.timestamp.body")>.

Fixtures (tests/fixtures/providers/) keep the structure of the documented example payloads, with ids and
values adapted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import ConfigError
from models import Item
from tests.conftest import make_config, wait_for

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers"

DELIGHTED_KEY = "delighted-api-key-0123456789abcdef"
TYPEFORM_SECRET = "6f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9"
FORMBRICKS_SECRET = "whsec_" + base64.b64encode(b"formbricks-test-signing-secret-32b").decode()

ENVIRON = {"DELIGHTED_API_KEY": DELIGHTED_KEY, "TYPEFORM_WEBHOOK_SECRET": TYPEFORM_SECRET,
           "FORMBRICKS_WEBHOOK_SECRET": FORMBRICKS_SECRET}


def config(**options: dict):
    """Detractors (any survey kind) go to #success (C0SUCCESS); everything else to #support (C0SUPPORT)."""
    return make_config({
        "teams": [
            {"name": "success", "channel": "C0SUCCESS", "timezone": "America/New_York"},
            {"name": "support", "channel": "C0SUPPORT", "timezone": "Europe/London"},
        ],
        "sources": [
            {"name": "delighted", "type": "delighted", "secret_env": "DELIGHTED_API_KEY",
             "options": options.get("delighted", {})},
            {"name": "typeform", "type": "typeform", "secret_env": "TYPEFORM_WEBHOOK_SECRET",
             "options": options.get("typeform", {})},
            {"name": "formbricks", "type": "formbricks", "secret_env": "FORMBRICKS_WEBHOOK_SECRET",
             "options": options.get("formbricks", {})},
        ],
        "routes": [{"name": "detractors to success", "when": {"category": "detractor"}, "team": "success"}],
        "default_team": "support",
    }, environ=ENVIRON)


def fixture(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / name).read_bytes()


def edited(body: bytes, change) -> bytes:
    data = json.loads(body)
    change(data)
    return json.dumps(data).encode()


# --- signing as each provider signs --------------------------------------------------------------

def delighted_headers(body: bytes, key: str = DELIGHTED_KEY) -> dict[str, str]:
    digest = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Delighted-Webhook-Signature": f"sha256={digest}"}


def typeform_headers(body: bytes, secret: str = TYPEFORM_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"Content-Type": "application/json", "Typeform-Signature": "sha256=" + base64.b64encode(digest).decode()}


def formbricks_headers(body: bytes, secret: str = FORMBRICKS_SECRET, timestamp: int | None = None,
                       message_id: str | None = None) -> dict[str, str]:
    message_id = message_id or str(uuid.uuid4())
    ts = str(int(time.time()) if timestamp is None else timestamp)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {"content-type": "application/json", "webhook-id": message_id, "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(digest).decode()}


def post(app, source: str, body: bytes, headers: dict[str, str]):
    return app.http.post(f"{app.url}/webhooks/{source}", content=body, headers=headers)


# --- reading what was stored and posted ------------------------------------------------------------

def all_text(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False) + message.get("text", "")


def stored_items(app) -> list[Item]:
    with app.runtime.session() as session:
        items = session.scalars(select(Item).order_by(Item.id)).all()
        session.expunge_all()
        return list(items)


def item_count(app) -> int:
    with app.runtime.session() as session:
        return session.scalar(select(func.count()).select_from(Item))


def assert_nothing_happened(app) -> None:
    app.idle()
    time.sleep(0.2)
    assert item_count(app) == 0
    assert app.fake.calls("chat.postMessage") == []


def updated_with(app, channel: str, ts: str, text: str) -> dict:
    def check():
        message = app.fake.message(channel, ts)
        return message if message and text in all_text(message) else None
    return wait_for(check, what=f"the message to be updated with {text!r}")


# --- Delighted -------------------------------------------------------------------------------------

def test_delighted_created_then_updated_posts_once_and_edits_in_the_comment(make_app):
    app = make_app(config())
    created = fixture("delighted", "survey_response_created.json")
    response = post(app, "delighted", created, delighted_headers(created))
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"

    [message] = app.wait_for_post("C0SUCCESS")
    text = all_text(message)
    assert "NPS 3 · Detractor" in text
    assert "Maya Chen" in text and "Acme Corp" in text
    [item] = stored_items(app)
    assert (item.external_id, item.kind, item.score, item.category) == ("88121", "nps", 3, "detractor")
    assert item.comment is None and item.plan == "Enterprise" and item.account_external_id == "acme-42"
    assert item.customer_email == "maya.chen@acme.example"
    assert item.url == "https://app.delighted.com/r/Qm9vQ2x0bXlIZWxsb1dvcmxkVGVzdEFiYw"
    assert item.source_ref["delighted_response_id"] == "88121"
    assert item.properties["Delighted Source"] == "Email"

    # The comment arrives in survey_response.updated for the same response id.
    updated = fixture("delighted", "survey_response_updated.json")
    again = post(app, "delighted", updated, delighted_headers(updated))
    assert again.status_code == 200, again.text
    assert again.json() == {"id": item.id, "status": "duplicate", "updated": True}
    updated_with(app, "C0SUCCESS", message["ts"], "export keeps timing out")
    assert any(call["args"].get("ts") == message["ts"] for call in app.fake.calls("chat.update"))

    # A retry of the same delivery changes nothing.
    retry = post(app, "delighted", updated, delighted_headers(updated))
    assert retry.json() == {"id": item.id, "status": "duplicate", "updated": False}
    app.idle()
    time.sleep(0.2)
    assert len(app.posts("C0SUCCESS")) == 1
    assert app.fake.messages("C0SUPPORT") == []
    [item] = stored_items(app)
    assert item.comment == "Support took four days to answer and the export keeps timing out."


def test_delighted_wrong_signature_is_refused_and_nothing_is_stored(make_app):
    app = make_app(config())
    body = fixture("delighted", "survey_response_updated.json")
    wrong_key = post(app, "delighted", body, delighted_headers(body, key="not-the-api-key"))
    assert wrong_key.status_code == 401
    tampered = post(app, "delighted", body.replace(b'"score": 3', b'"score": 9'), delighted_headers(body))
    assert tampered.status_code == 401
    unsigned = post(app, "delighted", body, {"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert "X-Delighted-Webhook-Signature" in unsigned.json()["error"]
    assert_nothing_happened(app)


def test_delighted_unsubscribe_and_unscored_survey_types_are_ignored_with_a_reason(make_app):
    app = make_app(config())
    unsubscribe = fixture("delighted", "unsubscribe_created.json")
    response = post(app, "delighted", unsubscribe, delighted_headers(unsubscribe))
    assert response.status_code == 202
    assert response.json() == {"status": "ignored",
                               "reason": "Delighted event 'unsubscribe.created' is not a survey response"}

    thumbs = fixture("delighted", "survey_response_thumbs.json")
    response = post(app, "delighted", thumbs, delighted_headers(thumbs))
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert response.json()["reason"].startswith("Delighted survey type 'thumbs' is not scored")
    assert_nothing_happened(app)


def test_delighted_csat_and_five_point_ces(make_app):
    app = make_app(config(delighted={"ces_scale": 5}))
    base = fixture("delighted", "survey_response_updated.json")

    def as_type(response_id: str, survey_type: str, score: int):
        def change(data):
            data["event_data"].update(id=response_id, survey_type=survey_type, score=score, comment="ok")
        return edited(base, change)

    csat = as_type("90001", "csat", 5)
    assert post(app, "delighted", csat, delighted_headers(csat)).status_code == 202
    ces = as_type("90002", "ces", 2)
    assert post(app, "delighted", ces, delighted_headers(ces)).status_code == 202
    [promoter] = app.wait_for_post("C0SUPPORT")
    [detractor] = app.wait_for_post("C0SUCCESS")
    assert "CSAT 5 · Promoter" in all_text(promoter)
    assert "CES 2 · Detractor" in all_text(detractor)
    ces_item = next(i for i in stored_items(app) if i.external_id == "90002")
    assert ces_item.source_ref["delighted_score"] == 2 and ces_item.source_ref["delighted_scale"] == "1-5"


def test_delighted_bad_bodies_are_400_and_422(make_app):
    app = make_app(config())
    not_json = b"event_type=survey_response.created"
    response = post(app, "delighted", not_json, delighted_headers(not_json))
    assert response.status_code == 400
    no_score = edited(fixture("delighted", "survey_response_created.json"),
                      lambda d: d["event_data"].pop("score"))
    response = post(app, "delighted", no_score, delighted_headers(no_score))
    assert response.status_code == 422
    assert response.json()["field"] == "event_data.score"
    no_data = edited(fixture("delighted", "survey_response_created.json"), lambda d: d.pop("event_data"))
    response = post(app, "delighted", no_data, delighted_headers(no_data))
    assert response.status_code == 422 and response.json()["field"] == "event_data"
    assert_nothing_happened(app)


# --- Typeform --------------------------------------------------------------------------------------

def test_typeform_documented_payload_is_posted_to_its_route(make_app):
    app = make_app(config())
    body = fixture("typeform", "form_response.json")
    response = post(app, "typeform", body, typeform_headers(body))
    assert response.status_code == 202, response.text
    [message] = app.wait_for_post("C0SUCCESS")
    assert "NPS 2 · Detractor" in all_text(message)
    assert "support took four days" in all_text(message)
    [item] = stored_items(app)
    assert item.external_id == "a3a12ec67a1365927098a606107fac15"
    assert (item.kind, item.score, item.category) == ("nps", 2, "detractor")
    assert item.customer_email == "laura@example.com" and item.plan == "business"
    assert item.source_ref == {"typeform_form_id": "lT4Z3j", "typeform_token": "a3a12ec67a1365927098a606107fac15"}
    assert item.url.startswith("https://admin.typeform.com/form/lT4Z3j/results")
    assert item.source_created_at.isoformat().startswith("2024-11-21T10:17:02")
    assert item.properties == {"user_id": "abc123456", "plan": "business"}

    # Typeform retries deliver the same token: a duplicate, not a second post.
    again = post(app, "typeform", body, typeform_headers(body))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    app.idle()
    assert len(app.posts("C0SUCCESS")) == 1 and app.fake.messages("C0SUPPORT") == []


def test_typeform_score_ref_comment_ref_and_kind_options_are_respected(make_app):
    app = make_app(config(typeform={"score_ref": "readable_ref_rating", "comment_ref": "readable_ref_multiple_choice",
                                    "kind": "csat"}))
    body = fixture("typeform", "form_response.json")
    response = post(app, "typeform", body, typeform_headers(body))
    assert response.status_code == 202, response.text
    [message] = app.wait_for_post("C0SUPPORT")
    assert "CSAT 3 · Passive" in all_text(message)
    [item] = stored_items(app)
    assert (item.kind, item.score, item.category, item.comment) == ("csat", 3, "passive", "Business")
    assert app.fake.messages("C0SUCCESS") == []


def test_typeform_rating_score_defaults_to_csat(make_app):
    app = make_app(config(typeform={"score_ref": "readable_ref_rating"}))
    body = fixture("typeform", "form_response.json")
    assert post(app, "typeform", body, typeform_headers(body)).status_code == 202
    [message] = app.wait_for_post("C0SUPPORT")
    assert "CSAT 3 · Passive" in all_text(message)
    [item] = stored_items(app)
    assert item.comment == "Setup was painful and support took four days to answer my ticket."


def test_typeform_wrong_signature_and_unknown_ref(make_app):
    app = make_app(config(typeform={"score_ref": "no_such_question"}))
    body = fixture("typeform", "form_response.json")
    assert post(app, "typeform", body, typeform_headers(body, secret="wrong-secret")).status_code == 401
    hex_signed = {"Typeform-Signature": "sha256=" + hmac.new(TYPEFORM_SECRET.encode(), body, "sha256").hexdigest()}
    assert post(app, "typeform", body, hex_signed).status_code == 401
    response = post(app, "typeform", body, typeform_headers(body))
    assert response.status_code == 422 and response.json()["field"] == "options.score_ref"
    assert_nothing_happened(app)


def test_typeform_other_events_and_skipped_scores_are_ignored(make_app):
    app = make_app(config())
    partial = fixture("typeform", "form_response_partial.json")
    response = post(app, "typeform", partial, typeform_headers(partial))
    assert response.status_code == 202
    assert response.json() == {"status": "ignored",
                               "reason": "Typeform event 'form_response_partial' is not a completed form response"}
    no_score = edited(fixture("typeform", "form_response.json"), lambda d: d["form_response"].update(
        answers=[a for a in d["form_response"]["answers"] if a["type"] != "number"]))
    response = post(app, "typeform", no_score, typeform_headers(no_score))
    assert response.status_code == 202 and "no answer to the score question" in response.json()["reason"]
    no_token = edited(fixture("typeform", "form_response.json"), lambda d: d["form_response"].pop("token"))
    response = post(app, "typeform", no_token, typeform_headers(no_token))
    assert response.status_code == 422 and response.json()["field"] == "form_response.token"
    not_json = b"<html>not json</html>"
    assert post(app, "typeform", not_json, typeform_headers(not_json)).status_code == 400
    assert_nothing_happened(app)


# --- Formbricks ------------------------------------------------------------------------------------

def test_formbricks_response_is_posted_at_its_score_and_updated_with_the_comment(make_app):
    app = make_app(config())
    created = fixture("formbricks", "response_created.json")  # only the call-to-action answered yet
    response = post(app, "formbricks", created, formbricks_headers(created))
    assert response.status_code == 202
    assert response.json() == {"status": "ignored",
                               "reason": "Formbricks response 'cm4b3a5wz000bl20hx8s1n4tq' has no score answer yet"}

    updated = fixture("formbricks", "response_updated.json")  # the NPS answer
    response = post(app, "formbricks", updated, formbricks_headers(updated))
    assert response.status_code == 202, response.text
    [message] = app.wait_for_post("C0SUCCESS")
    assert "NPS 3 · Detractor" in all_text(message) and "Sam Ortiz" in all_text(message)
    [item] = stored_items(app)
    assert (item.external_id, item.kind, item.score, item.comment) == ("cm4b3a5wz000bl20hx8s1n4tq", "nps", 3, None)
    assert item.customer_email == "sam.ortiz@globex.example" and item.plan == "growth"
    assert item.account_name == "Globex"

    finished = fixture("formbricks", "response_finished.json")  # the documented array form, with the comment
    response = post(app, "formbricks", finished, formbricks_headers(finished))
    assert response.status_code == 200, response.text
    assert response.json() == {"id": item.id, "status": "duplicate", "updated": True}
    updated_with(app, "C0SUCCESS", message["ts"], "exports fail every week")
    app.idle()
    assert len(app.posts("C0SUCCESS")) == 1 and app.fake.messages("C0SUPPORT") == []
    [item] = stored_items(app)
    assert item.comment == "The dashboard is slow and exports fail every week."


def test_formbricks_question_options(make_app):
    app = make_app(config(formbricks={"score_question": "ycqnewnrkiqdhd0jxlbhf6b0", "kind": "csat",
                                      "comment_question": "kp3mtw2vk6rdhn5r0qhwbz1s"}))
    body = fixture("formbricks", "response_finished.json")
    assert post(app, "formbricks", body, formbricks_headers(body)).status_code == 202
    [message] = app.wait_for_post("C0SUPPORT")
    assert "CSAT 3 · Passive" in all_text(message)
    [item] = stored_items(app)
    assert item.comment == "clicked"


def test_formbricks_signatures_are_checked(make_app):
    app = make_app(config())
    body = fixture("formbricks", "response_updated.json")
    other_secret = "whsec_" + base64.b64encode(b"some-other-secret").decode()
    assert post(app, "formbricks", body, formbricks_headers(body, secret=other_secret)).status_code == 401
    stale = post(app, "formbricks", body, formbricks_headers(body, timestamp=int(time.time()) - 3600))
    assert stale.status_code == 401 and "webhook-timestamp" in stale.json()["error"]
    headers = formbricks_headers(body)
    headers["webhook-id"] = "another-message-id"  # the id is signed too
    assert post(app, "formbricks", body, headers).status_code == 401
    unsigned = {k: v for k, v in formbricks_headers(body).items() if k != "webhook-signature"}
    assert post(app, "formbricks", body, unsigned).status_code == 401
    # A rotated secret: the old signature first, the current one second (space-separated).
    rotated = formbricks_headers(body, message_id="msg_rotate")
    old = formbricks_headers(body, secret=other_secret, message_id="msg_rotate",
                             timestamp=int(rotated["webhook-timestamp"]))
    rotated["webhook-signature"] = f"{old['webhook-signature']} {rotated['webhook-signature']}"
    assert post(app, "formbricks", body, rotated).status_code == 202
    app.wait_for_post("C0SUCCESS")
    assert item_count(app) == 1


def test_formbricks_test_endpoint_request_and_bad_bodies(make_app):
    app = make_app(config())
    # What Formbricks sends when a webhook is added, signed with a secret cxloop cannot know yet.
    test_body = json.dumps({"event": "testEndpoint"}).encode()
    not_yet_known = "whsec_" + base64.b64encode(b"generated-before-saving").decode()
    response = post(app, "formbricks", test_body, formbricks_headers(test_body, secret=not_yet_known))
    assert response.status_code == 202
    assert response.json() == {"status": "ignored", "reason": "Formbricks test request"}
    # Anything else still needs a valid signature.
    other = json.dumps({"event": "testEndpoint", "data": {"id": "x"}}).encode()
    assert post(app, "formbricks", other, formbricks_headers(other, secret=not_yet_known)).status_code == 401

    not_json = b"\xff\xfe not json"
    assert post(app, "formbricks", not_json, formbricks_headers(not_json)).status_code == 400
    no_id = edited(fixture("formbricks", "response_updated.json"), lambda d: d["data"].pop("id"))
    response = post(app, "formbricks", no_id, formbricks_headers(no_id))
    assert response.status_code == 422 and response.json()["field"] == "data.id"
    unknown = edited(fixture("formbricks", "response_updated.json"), lambda d: d.update(event="surveyClosed"))
    response = post(app, "formbricks", unknown, formbricks_headers(unknown))
    assert response.status_code == 202
    assert response.json()["reason"] == "Formbricks event 'surveyClosed' is not a survey response"
    assert_nothing_happened(app)


def test_misconfigured_provider_options_are_refused_at_start_up():
    """Bad options fail when the configuration loads (cxloop check-config / serve), naming each key."""
    with pytest.raises(ConfigError) as caught:
        config(typeform={"kind": "stars"}, delighted={"survey_types": {"thumbs": "thumbs"}},
               formbricks={"score_question": 7})
    keys = [problem.split(":")[0] for problem in caught.value.problems]
    assert keys == ["sources[0].options.survey_types.thumbs", "sources[1].options.kind",
                    "sources[2].options.score_question"], caught.value.problems
