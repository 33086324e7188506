"""Zendesk and Intercom native webhooks end to end: POST /webhooks/<source> on the real app (fake Slack,
SQLite and Postgres), each documented sample signed exactly as the provider signs it.

Zendesk: X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret, timestamp + raw body)) with the ISO 8601
X-Zendesk-Webhook-Signature-Timestamp. Intercom: X-Hub-Signature = sha1=<hex HMAC-SHA1(client secret, raw
body)>. Fixtures: tests/fixtures/providers/{zendesk,intercom}/.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.common.signing import SignatureError
from bot.config import ConfigError
from bot.intake.providers import adapter_for
from models import Item
from tests.conftest import TEST_CONFIG, make_config

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers"
ZENDESK_SECRET = "zd-signing-secret-1f9c2b7e"
INTERCOM_SECRET = "ic-client-secret-8a41d0"
ZENDESK_ENV = {"ZENDESK_WEBHOOK_SECRET": ZENDESK_SECRET, "INTERCOM_CLIENT_SECRET": INTERCOM_SECRET}


def fixture(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / name).read_bytes()


def fixture_json(provider: str, name: str) -> dict:
    return json.loads(fixture(provider, name))


def support_config(extra_sources: list[dict] | None = None, environ: dict[str, str] | None = None):
    data = copy.deepcopy(TEST_CONFIG)
    data["sources"] += [
        {"name": "zendesk", "type": "zendesk", "secret_env": "ZENDESK_WEBHOOK_SECRET",
         "options": {"subdomain": "acme"}},
        {"name": "intercom", "type": "intercom", "secret_env": "INTERCOM_CLIENT_SECRET"},
        *(extra_sources or []),
    ]
    data["routes"] = [
        {"name": "escalations to support", "when": {"kind": "escalation"}, "team": "support"},
        {"name": "csat detractors to success", "when": {"kind": "csat", "category": "detractor"},
         "team": "success"},
    ]
    return make_config(data, environ={**ZENDESK_ENV, **(environ or {})})


# --- signing as the providers sign ---------------------------------------------------------------------

def zendesk_headers(body: bytes, *, secret: str = ZENDESK_SECRET, when: datetime | None = None) -> dict[str, str]:
    timestamp = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return {"X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
            "X-Zendesk-Webhook-Id": "01GK8E6BKWMJZD2T8Y5AXJQMG5", "User-Agent": "Zendesk Webhook",
            "Content-Type": "application/json"}


def intercom_headers(body: bytes, *, secret: str = INTERCOM_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {"X-Hub-Signature": f"sha1={digest}", "User-Agent": "intercom-parrot-service-client/1.0",
            "Accept": "application/json", "Content-Type": "application/json"}


def post(app, source: str, body: bytes, headers: dict[str, str]):
    return app.http.post(f"{app.url}/webhooks/{source}", content=body, headers=headers)


def post_zendesk(app, body: bytes, source: str = "zendesk", **kwargs):
    return post(app, source, body, zendesk_headers(body, **kwargs))


def post_intercom(app, body: bytes, source: str = "intercom", **kwargs):
    return post(app, source, body, intercom_headers(body, **kwargs))


def stored(app, source: str) -> list[dict]:
    with app.runtime.session() as session:
        return [{
            "external_id": i.external_id, "kind": i.kind, "score": i.score, "category": i.category,
            "priority": i.priority, "subject": i.subject, "comment": i.comment, "tags": list(i.tags),
            "customer_email": i.customer_email, "customer_name": i.customer_name,
            "account_name": i.account_name, "account_external_id": i.account_external_id,
            "url": i.url, "source_ref": dict(i.source_ref), "channel": i.channel,
            "properties": dict(i.properties), "revision": i.revision,
        } for i in session.scalars(select(Item).where(Item.source == source).order_by(Item.id))]


def text_of(message: dict) -> str:
    return json.dumps(message.get("blocks", [])) + message.get("text", "")


def settle(app) -> None:
    app.idle()
    time.sleep(0.3)


# --- Zendesk --------------------------------------------------------------------------------------------

def test_zendesk_ticket_created_event_is_one_escalation_in_support(make_app):
    app = make_app(support_config())
    body = fixture("zendesk", "ticket_created.json")
    response = post_zendesk(app, body)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"

    [message] = app.wait_for_post("C0SUPPORT")
    assert "Escalation · high" in text_of(message)
    assert "Checkout fails with error 500" in text_of(message)
    [item] = stored(app, "zendesk")
    assert item["external_id"] == "ticket-35436" and item["kind"] == "escalation"
    assert item["priority"] == "high" and item["score"] is None and item["category"] is None
    assert item["url"] == "https://acme.zendesk.com/agent/tickets/35436"
    assert item["source_ref"] == {"zendesk_ticket_id": 35436}
    assert item["account_external_id"] == "8447346622462"
    assert item["tags"] == ["checkout", "enterprise"]
    assert "losing orders" in item["comment"]

    # Zendesk retries (or a second delivery of the same event): no second post.
    again = post_zendesk(app, body)
    assert again.status_code == 200
    assert again.json() == {"id": response.json()["id"], "status": "duplicate", "updated": False}
    settle(app)
    assert len(app.posts("C0SUPPORT")) == 1
    assert app.posts("C0SUCCESS") == []


def test_zendesk_priority_changed_event_in_upper_case(make_app):
    app = make_app(support_config())
    assert post_zendesk(app, fixture("zendesk", "ticket_priority_changed.json")).status_code == 202
    [message] = app.wait_for_post("C0SUPPORT")
    assert "Escalation · urgent" in text_of(message)
    [item] = stored(app, "zendesk")
    assert item["priority"] == "urgent" and item["external_id"] == "ticket-35440"


@pytest.mark.parametrize("priority", ["Urgent", "URGENT", "urgent", " uRgEnT "])
def test_zendesk_trigger_priority_in_any_case(make_app, priority):
    app = make_app(support_config())
    data = fixture_json("zendesk", "trigger_escalation.json")
    data["ticket"]["priority"] = priority
    data["ticket"]["tags"] = "billing vat"  # no escalation tag: the priority alone escalates
    body = json.dumps(data).encode()
    assert post_zendesk(app, body).status_code == 202
    [message] = app.wait_for_post("C0SUPPORT")
    assert "Escalation · urgent" in text_of(message)
    [item] = stored(app, "zendesk")
    assert item["priority"] == "urgent"


def test_zendesk_trigger_escalation_carries_the_customer(make_app):
    app = make_app(support_config())
    body = fixture("zendesk", "trigger_escalation.json")
    response = post_zendesk(app, body)
    assert response.status_code == 202, response.text
    [message] = app.wait_for_post("C0SUPPORT")
    assert "Invoices show the wrong VAT rate" in text_of(message)
    assert "Maya Chen" in text_of(message) and "Globex Corporation" in text_of(message)
    [item] = stored(app, "zendesk")
    assert item == {**item, "external_id": "ticket-35501", "kind": "escalation", "priority": "urgent",
                    "customer_email": "maya.chen@globex.example", "customer_name": "Maya Chen",
                    "account_name": "Globex Corporation", "account_external_id": "crm-0042",
                    "tags": ["billing", "escalation", "vat"],
                    "url": "https://acme.zendesk.com/agent/tickets/35501",
                    "source_ref": {"zendesk_ticket_id": 35501}}
    assert post_zendesk(app, body).status_code == 200
    settle(app)
    assert len(app.posts("C0SUPPORT")) == 1


def test_zendesk_escalation_tag_alone_escalates_a_normal_ticket(make_app):
    app = make_app(support_config())
    data = fixture_json("zendesk", "trigger_escalation.json")
    data["ticket"]["priority"] = "Normal"
    data["ticket"]["tags"] = "billing Escalated"
    assert post_zendesk(app, json.dumps(data).encode()).status_code == 202
    app.wait_for_post("C0SUPPORT")
    [item] = stored(app, "zendesk")
    assert item["priority"] == "normal" and "escalated" in item["tags"]


def test_zendesk_bad_satisfaction_is_a_csat_detractor(make_app):
    app = make_app(support_config())
    body = fixture("zendesk", "trigger_satisfaction_bad.json")
    response = post_zendesk(app, body)
    assert response.status_code == 202, response.text
    [message] = app.wait_for_post("C0SUCCESS")
    assert "CSAT 1" in text_of(message) and "Detractor" in text_of(message)
    assert "csat detractors to success" in text_of(message)
    [item] = stored(app, "zendesk")
    assert item["external_id"] == "ticket-35377-csat"
    assert (item["kind"], item["score"], item["category"]) == ("csat", 1, "detractor")
    assert item["comment"].startswith("It took five days")
    assert item["customer_email"] == "olu.adeyemi@initech.example" and item["account_name"] == "Initech"
    assert item["source_ref"] == {"zendesk_ticket_id": 35377}
    assert item["url"] == "https://acme.zendesk.com/agent/tickets/35377"

    assert post_zendesk(app, body).status_code == 200
    settle(app)
    assert len(app.posts("C0SUCCESS")) == 1
    assert app.posts("C0SUPPORT") == []


def test_zendesk_good_satisfaction_is_a_csat_5(make_app):
    app = make_app(support_config())
    assert post_zendesk(app, fixture("zendesk", "trigger_satisfaction_good.json")).status_code == 202
    [message] = app.wait_for_post("C0SUCCESS")  # the default team
    assert "CSAT 5" in text_of(message) and "Promoter" in text_of(message)
    [item] = stored(app, "zendesk")
    assert (item["kind"], item["score"], item["category"]) == ("csat", 5, "promoter")


def test_zendesk_urgent_ticket_rated_bad_gives_both_items_once(make_app):
    app = make_app(support_config())
    data = fixture_json("zendesk", "trigger_escalation.json")
    data["satisfaction"] = {"rating": "bad", "comment": "Still wrong on the new invoice."}
    body = json.dumps(data).encode()
    response = post_zendesk(app, body)
    assert response.status_code == 202 and response.json()["status"] == "accepted"
    assert len(response.json()["items"]) == 2
    app.wait_for_post("C0SUPPORT")
    app.wait_for_post("C0SUCCESS")
    assert sorted(i["external_id"] for i in stored(app, "zendesk")) == ["ticket-35501", "ticket-35501-csat"]
    assert post_zendesk(app, body).json()["status"] == "duplicate"
    settle(app)
    assert len(app.posts("C0SUPPORT")) == 1 and len(app.posts("C0SUCCESS")) == 1


def test_zendesk_irrelevant_events_are_ignored(make_app):
    app = make_app(support_config())
    normal = fixture_json("zendesk", "ticket_created.json")
    normal["detail"]["priority"] = "NORMAL"
    unrated = fixture_json("zendesk", "trigger_satisfaction_good.json")
    unrated["satisfaction"] = {"rating": "Offered", "comment": ""}
    bodies = {
        "user event": fixture("zendesk", "user_active_changed.json"),
        "status change": fixture("zendesk", "ticket_status_changed.json"),
        "normal ticket": json.dumps(normal).encode(),
        "unrated low ticket": json.dumps(unrated).encode(),
    }
    reasons = {}
    for what, body in bodies.items():
        response = post_zendesk(app, body)
        assert response.status_code == 202, (what, response.text)
        assert response.json()["status"] == "ignored", what
        reasons[what] = response.json()["reason"]
    assert "not a ticket event" in reasons["user event"]
    assert "ticket.status_changed" in reasons["status change"]
    assert "priority normal" in reasons["normal ticket"]
    assert "no good/bad satisfaction rating" in reasons["unrated low ticket"]
    settle(app)
    assert stored(app, "zendesk") == []
    assert app.posts("C0SUPPORT") == [] and app.posts("C0SUCCESS") == []


def test_zendesk_refuses_bad_signatures_and_stores_nothing(make_app):
    app = make_app(support_config())
    body = fixture("zendesk", "ticket_created.json")
    wrong_secret = post(app, "zendesk", body, zendesk_headers(body, secret="not-the-secret"))
    stale = post(app, "zendesk", body, zendesk_headers(body, when=datetime.now(UTC) - timedelta(minutes=10)))
    tampered = post(app, "zendesk", body.replace(b"HIGH", b"URGENT"), zendesk_headers(body))
    unsigned = post(app, "zendesk", body, {"Content-Type": "application/json"})
    garbled_time = zendesk_headers(body)
    garbled_time["X-Zendesk-Webhook-Signature-Timestamp"] = "yesterday"
    for response in (wrong_secret, stale, tampered, unsigned, post(app, "zendesk", body, garbled_time)):
        assert response.status_code == 401, response.text
    assert "more than 300 seconds" in stale.json()["error"]
    # The cxloop generic scheme is not accepted on a Zendesk source.
    assert app.post_webhook(body, source="zendesk", secret=ZENDESK_SECRET).status_code == 401
    settle(app)
    assert stored(app, "zendesk") == []
    assert app.posts("C0SUPPORT") == []


def test_zendesk_malformed_bodies(make_app):
    app = make_app(support_config())
    not_json = post_zendesk(app, b"ticket=35436&priority=urgent")
    assert not_json.status_code == 400
    unknown = post_zendesk(app, json.dumps({"hello": "world"}).encode())
    assert unknown.status_code == 422 and unknown.json()["field"] == "ticket"
    bad_id = fixture_json("zendesk", "trigger_escalation.json")
    bad_id["ticket"]["id"] = "{{ticket.id}}"  # a placeholder that was not rendered
    response = post_zendesk(app, json.dumps(bad_id).encode())
    assert response.status_code == 422 and response.json()["field"] == "ticket.id"
    no_detail = fixture_json("zendesk", "ticket_created.json")
    del no_detail["detail"]
    response = post_zendesk(app, json.dumps(no_detail).encode())
    assert response.status_code == 422 and response.json()["field"] == "detail"
    assert stored(app, "zendesk") == []


class _FakeZendeskApi(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []
    responses = {
        "/api/v2/users/8447388091187.json": {"user": {"id": 8447388091187, "name": "Ana Souza",
                                                      "email": "ana.souza@acme-retail.example"}},
        "/api/v2/organizations/8447346622462.json": {"organization": {"id": 8447346622462,
                                                                      "name": "Acme Retail",
                                                                      "external_id": "crm-0007"}},
    }

    def do_GET(self):  # noqa: N802 — http.server's naming
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        found = self.responses.get(self.path)
        payload = json.dumps(found or {"error": "RecordNotFound"}).encode()
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_zendesk_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeZendeskApi)
    _FakeZendeskApi.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_zendesk_event_requester_and_organization_are_looked_up(make_app, fake_zendesk_api):
    source = {"name": "zendesk-api", "type": "zendesk", "secret_env": "ZENDESK_WEBHOOK_SECRET",
              "api_url": fake_zendesk_api, "api_user_env": "ZENDESK_AGENT", "api_token_env": "ZENDESK_TOKEN"}
    app = make_app(support_config([source], {"ZENDESK_AGENT": "bot@acme.example", "ZENDESK_TOKEN": "tok"}))
    response = post_zendesk(app, fixture("zendesk", "ticket_created.json"), source="zendesk-api")
    assert response.status_code == 202, response.text
    [message] = app.wait_for_post("C0SUPPORT")
    assert "Ana Souza" in text_of(message) and "Acme Retail" in text_of(message)
    [item] = stored(app, "zendesk-api")
    assert item["customer_email"] == "ana.souza@acme-retail.example"
    assert (item["account_name"], item["account_external_id"]) == ("Acme Retail", "crm-0007")
    # No subdomain option: the link is built from api_url.
    assert item["url"] == f"{fake_zendesk_api}/agent/tickets/35436"
    expected_auth = "Basic " + base64.b64encode(b"bot@acme.example/token:tok").decode()
    assert [auth for _, auth in _FakeZendeskApi.seen] == [expected_auth, expected_auth]


def test_zendesk_lookup_failure_does_not_hold_the_escalation(make_app, fake_zendesk_api):
    source = {"name": "zendesk-api", "type": "zendesk", "secret_env": "ZENDESK_WEBHOOK_SECRET",
              "api_url": fake_zendesk_api}
    app = make_app(support_config([source]))
    data = fixture_json("zendesk", "ticket_created.json")
    data["detail"]["requester_id"] = "1"  # 404 at the API
    response = post_zendesk(app, json.dumps(data).encode(), source="zendesk-api")
    assert response.status_code == 202, response.text
    app.wait_for_post("C0SUPPORT")
    [item] = stored(app, "zendesk-api")
    assert item["customer_email"] is None and item["account_name"] == "Acme Retail"


def test_zendesk_verify_accepts_its_iso_timestamp_only_when_fresh():
    adapter = adapter_for("zendesk")
    source = support_config().source("zendesk")
    body = b'{"say": "hello"}'
    timestamp = "2021-07-25T10:00:00Z"
    now = datetime(2021, 7, 25, 10, 1, tzinfo=UTC).timestamp()
    signature = base64.b64encode(hmac.new(b"secret", timestamp.encode() + body, hashlib.sha256).digest()).decode()
    headers = {"x-zendesk-webhook-signature": signature, "x-zendesk-webhook-signature-timestamp": timestamp}
    adapter.verify(source, "secret", body, headers, now)
    with pytest.raises(SignatureError):
        adapter.verify(source, "secret", body, headers, now + 600)
    with pytest.raises(SignatureError):  # body + timestamp is not the order Zendesk signs
        reversed_sig = base64.b64encode(hmac.new(b"secret", body + timestamp.encode(), hashlib.sha256).digest())
        adapter.verify(source, "secret", body, {**headers, "x-zendesk-webhook-signature": reversed_sig.decode()},
                       now)


# --- Intercom -------------------------------------------------------------------------------------------

def test_intercom_rating_is_a_csat_item(make_app):
    app = make_app(support_config())
    body = fixture("intercom", "conversation_rating_added.json")
    response = post_intercom(app, body)
    assert response.status_code == 202, response.text
    [message] = app.wait_for_post("C0SUCCESS")
    assert "CSAT 2" in text_of(message) and "Detractor" in text_of(message)
    assert "Priya Raman" in text_of(message)
    [item] = stored(app, "intercom")
    assert item["external_id"] == "conversation-215472621202701-rating"
    assert (item["kind"], item["score"], item["category"]) == ("csat", 2, "detractor")
    assert item["comment"].startswith("Took forty minutes")
    assert item["customer_email"] == "priya.raman@umbrella.example"
    assert item["url"] == "https://app.intercom.com/a/inbox/abc123def/inbox/conversation/215472621202701"
    assert item["source_ref"] == {"intercom_conversation_id": "215472621202701"}
    assert item["tags"] == ["export"]

    again = post_intercom(app, body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    settle(app)
    assert len(app.posts("C0SUCCESS")) == 1
    assert app.posts("C0SUPPORT") == []


def test_intercom_escalation_tag_is_an_escalation(make_app):
    app = make_app(support_config())
    body = fixture("intercom", "conversation_part_tag_created.json")
    response = post_intercom(app, body)
    assert response.status_code == 202, response.text
    [message] = app.wait_for_post("C0SUPPORT")
    assert "Escalation" in text_of(message) and "Lena Fischer" in text_of(message)
    [item] = stored(app, "intercom")
    assert item["external_id"] == "conversation-21330067382" and item["kind"] == "escalation"
    assert item["subject"] == "Intercom conversation 21330067382"
    assert item["comment"] == "We were charged twice for March & our card is now blocked."
    assert item["customer_email"] == "lena.fischer@wayne.example"
    assert item["url"] == "https://app.intercom.com/a/inbox/i6wc9ipe/inbox/conversation/21330067382"
    assert item["source_ref"] == {"intercom_conversation_id": "21330067382"}
    assert post_intercom(app, body).status_code == 200
    settle(app)
    assert len(app.posts("C0SUPPORT")) == 1


def test_intercom_priority_is_an_escalation(make_app):
    app = make_app(support_config())
    response = post_intercom(app, fixture("intercom", "conversation_priority_updated.json"))
    assert response.status_code == 202, response.text
    [message] = app.wait_for_post("C0SUPPORT")
    assert "Escalation · high" in text_of(message)
    [item] = stored(app, "intercom")
    assert item["external_id"] == "conversation-215472621202693" and item["priority"] == "high"
    assert item["comment"] == "Our whole team is locked out after the SSO change.\nNobody can log in."
    assert item["customer_email"] == "tomas.novak@stark.example"


def test_intercom_options_pick_the_tags_and_the_workspace(make_app):
    custom = {"name": "intercom-eu", "type": "intercom", "secret_env": "INTERCOM_CLIENT_SECRET",
              "options": {"escalate_tags": ["billing"], "app_id": "eu9ws"}}
    app = make_app(support_config([custom]))
    data = fixture_json("intercom", "conversation_part_tag_created.json")
    data["data"]["item"]["tags_added"]["tags"] = [{"type": "tag", "id": "2525085", "name": "billing"}]
    body = json.dumps(data).encode()
    assert post_intercom(app, body).json()["status"] == "ignored"  # "billing" does not escalate by default
    assert post_intercom(app, body, source="intercom-eu").status_code == 202
    app.wait_for_post("C0SUPPORT")
    [item] = stored(app, "intercom-eu")
    assert item["url"] == "https://app.intercom.com/a/inbox/eu9ws/inbox/conversation/21330067382"


def test_intercom_ping_and_other_topics_are_ignored(make_app):
    app = make_app(support_config())
    replied = fixture_json("intercom", "conversation_priority_updated.json")
    replied["topic"] = "conversation.admin.replied"
    not_priority = fixture_json("intercom", "conversation_priority_updated.json")
    not_priority["data"]["item"]["priority"] = "not_priority"
    other_tag = fixture_json("intercom", "conversation_part_tag_created.json")
    other_tag["data"]["item"]["tags_added"]["tags"] = [{"type": "tag", "id": "1", "name": "feedback"}]
    bodies = {
        "ping": fixture("intercom", "ping.json"),
        "reply": json.dumps(replied).encode(),
        "not priority": json.dumps(not_priority).encode(),
        "other tag": json.dumps(other_tag).encode(),
    }
    reasons = {}
    for what, body in bodies.items():
        response = post_intercom(app, body)
        assert response.status_code == 202, (what, response.text)
        assert response.json()["status"] == "ignored", what
        reasons[what] = response.json()["reason"]
    assert reasons["ping"].startswith("ping")
    assert "conversation.admin.replied" in reasons["reply"]
    assert "not_priority" in reasons["not priority"]
    assert "feedback" in reasons["other tag"]
    settle(app)
    assert stored(app, "intercom") == []
    assert app.posts("C0SUPPORT") == [] and app.posts("C0SUCCESS") == []


def test_intercom_refuses_bad_signatures_and_stores_nothing(make_app):
    app = make_app(support_config())
    body = fixture("intercom", "conversation_rating_added.json")
    sha256 = "sha256=" + hmac.new(INTERCOM_SECRET.encode(), body, hashlib.sha256).hexdigest()
    responses = [
        post(app, "intercom", body, intercom_headers(body, secret="not-the-secret")),
        post(app, "intercom", body.replace(b'"rating": 2', b'"rating": 5'), intercom_headers(body)),
        post(app, "intercom", body, {"Content-Type": "application/json"}),
        post(app, "intercom", body, {"X-Hub-Signature": sha256, "Content-Type": "application/json"}),
    ]
    for response in responses:
        assert response.status_code == 401, response.text
    settle(app)
    assert stored(app, "intercom") == []
    assert app.posts("C0SUCCESS") == []


def test_intercom_malformed_bodies(make_app):
    app = make_app(support_config())
    assert post_intercom(app, b"<xml/>").status_code == 400
    no_topic = post_intercom(app, json.dumps({"type": "notification_event"}).encode())
    assert no_topic.status_code == 422 and no_topic.json()["field"] == "topic"
    no_rating = fixture_json("intercom", "conversation_rating_added.json")
    no_rating["data"]["item"]["conversation_rating"]["rating"] = None
    response = post_intercom(app, json.dumps(no_rating).encode())
    assert response.status_code == 422
    assert response.json()["field"] == "data.item.conversation_rating.rating"
    no_item = fixture_json("intercom", "conversation_rating_added.json")
    del no_item["data"]["item"]
    response = post_intercom(app, json.dumps(no_item).encode())
    assert response.status_code == 422 and response.json()["field"] == "data.item"
    assert stored(app, "intercom") == []


# --- options ----------------------------------------------------------------------------------------------

def test_misconfigured_options_fail_at_start_up():
    with pytest.raises(ConfigError) as raised:
        support_config([
            {"name": "zd-typo", "type": "zendesk", "secret_env": "ZENDESK_WEBHOOK_SECRET",
             "options": {"subdomian": "acme", "escalate_tags": [1], "subdomain": "acme corp"}},
            {"name": "ic-typo", "type": "intercom", "secret_env": "INTERCOM_CLIENT_SECRET",
             "options": {"app_id": "not an id", "escalate_priorities": {"urgent": True}}},
        ])
    problems = str(raised.value).splitlines()

    def reported(index: int, text: str) -> bool:
        return any(line.startswith(f"sources[{index}].options") and text in line for line in problems)
    assert reported(3, "unknown key(s) subdomian")
    assert reported(3, "options.escalate_tags: must be a list of strings")
    assert reported(3, "options.subdomain: must be your Zendesk subdomain")
    assert reported(4, "options.app_id: must be your Intercom workspace (app) id")
    assert reported(4, "options.escalate_priorities: must be a list of strings")
