"""InMoment/Wootric and SurveyMonkey webhooks end to end: POST /webhooks/<source> on the real app.

The request bodies are the providers' documented samples (tests/fixtures/providers/…, values adapted),
signed here the way each provider documents it — independently of the adapters' own code:
- Wootric: X-Wootric-Signature: sha1=<hex HMAC-SHA1(raw body, account secret token)>.
- SurveyMonkey: Sm-Apikey: <API key / Client ID>, Sm-Signature: base64(HMAC-SHA1(raw body,
  "<API key>&<API secret>")).
SurveyMonkey callbacks carry ids only, so a local HTTP server plays the SurveyMonkey API (response and
survey details at the documented paths, Bearer token checked).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.intake.providers import surveymonkey
from models import Item
from tests.conftest import TEST_CONFIG, make_config

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers"
WOOTRIC_SECRET = "09dfb1b73af998743fb011f8bfda8912"
SM_API_KEY = "dTSp2PmT9OTNmehKtQ8Q"
SM_API_SECRET = "1907680626215297341105345025137349"
SM_TOKEN = "sm-access-token-for-tests"
SURVEY_ID, RESPONSE_ID = "405220117", "118052219061"
RESPONSE_PATH = f"/v3/surveys/{SURVEY_ID}/responses/{RESPONSE_ID}/details"
SURVEY_PATH = f"/v3/surveys/{SURVEY_ID}/details"


def fixture(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / name).read_bytes()


# --- signing, as the providers document it ---------------------------------------------------------

def wootric_headers(body: bytes, *, secret: str = WOOTRIC_SECRET, json_body: bool = False) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    content_type = "application/json" if json_body else "application/x-www-form-urlencoded"
    return {"X-Wootric-Signature": f"sha1={digest}", "Content-Type": content_type}


def surveymonkey_headers(body: bytes, *, api_key: str = SM_API_KEY, api_secret: str = SM_API_SECRET
                         ) -> dict[str, str]:
    digest = hmac.new(f"{api_key}&{api_secret}".encode("ascii"), body, hashlib.sha1).digest()
    return {"Sm-Apikey": api_key, "Sm-Signature": base64.b64encode(digest).decode(),
            "Content-Type": "application/json"}


# --- a local SurveyMonkey API ------------------------------------------------------------------------

class FakeSurveyMonkeyAPI:
    """Serves the documented response-details and survey-details JSON; records each request."""

    def __init__(self, token: str, documents: dict[str, bytes]):
        self.token, self.documents = token, documents
        self.requests: list[tuple[str, str | None]] = []
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeSurveyMonkeyAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 — http.server's naming
                auth = self.headers.get("Authorization")
                api.requests.append((self.path, auth))
                if auth != f"Bearer {api.token}":
                    return self._send(401, {"error": {"id": "1010", "name": "Authorization Error"}})
                document = api.documents.get(self.path)
                if document is None:
                    return self._send(404, {"error": {"id": "1020", "name": "Resource Not Found"}})
                return self._send(200, document)

            def _send(self, status: int, body: dict | bytes):
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        # Restarting binds the same port again, so the configured api_url stays right.
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def sm_api():
    surveymonkey.clear_cache()
    api = FakeSurveyMonkeyAPI(SM_TOKEN, {
        RESPONSE_PATH: fixture("surveymonkey", "response_details.json"),
        SURVEY_PATH: fixture("surveymonkey", "survey_details.json"),
    }).start()
    yield api
    api.stop()
    surveymonkey.clear_cache()


def provider_config(sm_url: str = "http://127.0.0.1:9", sm_options: dict | None = None):
    data = copy.deepcopy(TEST_CONFIG)
    data["sources"] += [
        {"name": "wootric", "type": "wootric", "secret_env": "WOOTRIC_WEBHOOK_SECRET"},
        {"name": "surveymonkey", "type": "surveymonkey", "secret_env": "SURVEYMONKEY_WEBHOOK_SECRET",
         "api_url": sm_url, "api_token_env": "SURVEYMONKEY_ACCESS_TOKEN", "options": sm_options or {}},
    ]
    return make_config(data, environ={
        "WOOTRIC_WEBHOOK_SECRET": WOOTRIC_SECRET,
        "SURVEYMONKEY_WEBHOOK_SECRET": f"{SM_API_KEY}&{SM_API_SECRET}",
        "SURVEYMONKEY_ACCESS_TOKEN": SM_TOKEN,
    })


def stored(app) -> list[dict]:
    with app.runtime.session() as session:
        return [{"source": i.source, "external_id": i.external_id, "kind": i.kind, "score": i.score,
                 "category": i.category, "comment": i.comment, "customer_email": i.customer_email,
                 "customer_name": i.customer_name, "account_name": i.account_name,
                 "account_external_id": i.account_external_id, "plan": i.plan, "properties": i.properties,
                 "url": i.url, "source_ref": i.source_ref, "source_created_at": i.source_created_at,
                 "channel": i.channel}
                for i in session.scalars(select(Item).order_by(Item.id))]


def item_count(app) -> int:
    with app.runtime.session() as session:
        return session.scalar(select(func.count()).select_from(Item))


def post(app, source: str, body: bytes, headers: dict[str, str]):
    return app.http.post(f"{app.url}/webhooks/{source}", content=body, headers=headers)


# --- InMoment / Wootric --------------------------------------------------------------------------------

def test_wootric_form_encoded_response_is_posted_once_with_its_score(make_app):
    app = make_app(provider_config())
    body = fixture("wootric", "response_created.form")
    response = post(app, "wootric", body, wootric_headers(body))
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"

    [message] = app.wait_for_post("C0SUCCESS")
    assert "NPS 3 · Detractor" in message["text"]
    [item] = stored(app)
    assert item["external_id"] == "1128" and item["kind"] == "nps" and item["score"] == 3
    assert item["category"] == "detractor" and item["channel"] == "C0SUCCESS"
    assert item["comment"].startswith("Exports keep timing out")
    assert item["customer_email"] == "maya@acme.example" and item["plan"] == "Enterprise"
    assert item["properties"] == {"pricing_plan": "Enterprise", "product_plan": "Web App", "external_id": "usr_4821"}
    assert item["source_ref"] == {"wootric_response_id": 1128, "wootric_end_user_id": 30, "wootric_survey_id": 1146}
    assert item["source_created_at"].isoformat() == "2024-05-14T16:41:02+00:00"

    # Wootric retrying the same delivery is a duplicate; "response updated" edits the stored item.
    again = post(app, "wootric", body, wootric_headers(body))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    updated = body.replace(b"response[score]=3", b"response[score]=6").replace(b"event_name=created",
                                                                                b"event_name=updated")
    edit = post(app, "wootric", updated, wootric_headers(updated))
    assert edit.status_code == 200 and edit.json()["updated"] is True
    app.idle()
    assert len(app.posts("C0SUCCESS")) == 1
    assert [i["score"] for i in stored(app)] == [6]


def test_wootric_json_response_is_accepted(make_app):
    app = make_app(provider_config())
    body = fixture("wootric", "response_created.json")
    response = post(app, "wootric", body, wootric_headers(body, json_body=True))
    assert response.status_code == 202, response.text
    [message] = app.wait_for_post("C0SUCCESS")  # no route for promoters: the default team
    assert "NPS 10 · Promoter" in message["text"]
    [item] = stored(app)
    assert (item["external_id"], item["score"], item["category"]) == ("1131", 10, "promoter")
    assert item["customer_email"] == "lee@initech.example" and item["plan"] == "Growth"


@pytest.mark.parametrize("headers", [
    wootric_headers(fixture("wootric", "response_created.form"), secret="not-the-account-token"),
    {"Content-Type": "application/x-www-form-urlencoded"},
    {"Content-Type": "application/x-www-form-urlencoded", "X-Wootric-Signature": "sha1="},
], ids=["wrong secret", "no signature", "empty signature"])
def test_wootric_without_the_account_signature_is_refused(make_app, headers):
    app = make_app(provider_config())
    response = post(app, "wootric", fixture("wootric", "response_created.form"), headers)
    assert response.status_code == 401
    assert item_count(app) == 0
    assert app.fake.messages("C0SUCCESS") == []


def test_wootric_decline_is_acknowledged_and_ignored(make_app):
    app = make_app(provider_config())
    body = fixture("wootric", "decline_created.form")
    response = post(app, "wootric", body, wootric_headers(body))
    assert response.status_code == 202
    assert response.json()["status"] == "ignored" and "decline 19" in response.json()["reason"]
    assert item_count(app) == 0


def test_wootric_malformed_bodies_are_rejected_with_the_field(make_app):
    app = make_app(provider_config())
    no_id = b"response[score]=7&event_name=created&survey_mode=NPS"
    response = post(app, "wootric", no_id, wootric_headers(no_id))
    assert response.status_code == 422 and response.json()["field"] == "response[id]"
    bad_score = b"response[id]=5&response[score]=42&event_name=created&survey_mode=NPS"
    response = post(app, "wootric", bad_score, wootric_headers(bad_score))
    assert response.status_code == 422 and response.json()["field"] == "score"
    clash = b"response[id]=5&response[id][x]=1"
    response = post(app, "wootric", clash, wootric_headers(clash))
    assert response.status_code == 400
    assert item_count(app) == 0


# --- SurveyMonkey ----------------------------------------------------------------------------------------

def test_surveymonkey_completed_response_is_fetched_scored_and_posted(make_app, sm_api):
    app = make_app(provider_config(sm_api.url))
    body = fixture("surveymonkey", "response_completed.json")
    response = post(app, "surveymonkey", body, surveymonkey_headers(body))
    assert response.status_code == 202, response.text

    [message] = app.wait_for_post("C0SUCCESS")
    assert "NPS 3 · Detractor" in message["text"]
    [item] = stored(app)
    # The NPS question (choices "0 - Not at all likely" … "10 - Extremely likely") wins over the
    # earlier "How many people on your team use Acme?" answer "2".
    assert (item["external_id"], item["kind"], item["score"], item["category"]) == (RESPONSE_ID, "nps", 3,
                                                                                     "detractor")
    assert item["comment"] == "Exports keep timing out and support took four days to answer."
    assert item["customer_email"] == "maya@acme.example" and item["customer_name"] == "Maya Chen"
    assert item["account_name"] == "Acme Corp" and item["account_external_id"] == "acct_831"
    assert item["plan"] == "enterprise"
    assert item["url"].startswith("https://www.surveymonkey.com/analyze/browse/")
    assert item["source_ref"] == {"surveymonkey_survey_id": SURVEY_ID, "surveymonkey_response_id": RESPONSE_ID,
                                  "surveymonkey_collector_id": "446111201"}
    assert item["source_created_at"].isoformat() == "2024-05-14T16:41:05+00:00"
    assert sm_api.requests == [(RESPONSE_PATH, f"Bearer {SM_TOKEN}"), (SURVEY_PATH, f"Bearer {SM_TOKEN}")]

    # SurveyMonkey sending it again is a duplicate, and the survey's questions come from the cache.
    again = post(app, "surveymonkey", body, surveymonkey_headers(body))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert [path for path, _ in sm_api.requests].count(SURVEY_PATH) == 1
    app.idle()
    assert len(app.posts("C0SUCCESS")) == 1


def test_surveymonkey_configured_questions_are_used(make_app, sm_api):
    # The team-size question as the score (a CSAT-like 1–5 reading of "2"), no comment question answered.
    app = make_app(provider_config(sm_api.url, {"kind": "csat", "score_question_id": "73575701",
                                                "comment_question_id": "73575799"}))
    body = fixture("surveymonkey", "response_completed.json")
    response = post(app, "surveymonkey", body, surveymonkey_headers(body))
    assert response.status_code == 202, response.text
    [item] = stored(app)
    assert (item["kind"], item["score"], item["category"], item["comment"]) == ("csat", 2, "detractor", None)


def test_surveymonkey_api_down_answers_503_and_the_retry_is_accepted_once(make_app, sm_api):
    app = make_app(provider_config(sm_api.url))
    body = fixture("surveymonkey", "response_completed.json")
    sm_api.stop()

    down = post(app, "surveymonkey", body, surveymonkey_headers(body))
    assert down.status_code == 503
    assert down.headers.get("retry-after")
    assert item_count(app) == 0

    sm_api.start()
    retried = post(app, "surveymonkey", body, surveymonkey_headers(body))
    assert retried.status_code == 202, retried.text
    again = post(app, "surveymonkey", body, surveymonkey_headers(body))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    app.wait_for_post("C0SUCCESS")
    app.idle()
    assert len(app.posts("C0SUCCESS")) == 1
    assert item_count(app) == 1


def test_surveymonkey_bad_token_answers_503_and_stores_nothing(make_app, sm_api):
    sm_api.token = "a-different-token"
    app = make_app(provider_config(sm_api.url))
    body = fixture("surveymonkey", "response_completed.json")
    response = post(app, "surveymonkey", body, surveymonkey_headers(body))
    assert response.status_code == 503 and "401" in response.json()["error"]
    assert item_count(app) == 0


@pytest.mark.parametrize("headers", [
    surveymonkey_headers(fixture("surveymonkey", "response_completed.json"), api_secret="wrong-secret"),
    {**surveymonkey_headers(fixture("surveymonkey", "response_completed.json")), "Sm-Apikey": "someone-else"},
    {"Content-Type": "application/json", "Sm-Apikey": SM_API_KEY},
], ids=["wrong signature", "wrong api key", "no signature"])
def test_surveymonkey_bad_signature_is_refused_before_any_fetch(make_app, sm_api, headers):
    app = make_app(provider_config(sm_api.url))
    response = post(app, "surveymonkey", fixture("surveymonkey", "response_completed.json"), headers)
    assert response.status_code == 401
    assert sm_api.requests == []
    assert item_count(app) == 0


@pytest.mark.parametrize("event_type", ["response_created", "response_updated", "collector_created"])
def test_surveymonkey_other_events_are_ignored_without_a_fetch(make_app, sm_api, event_type):
    app = make_app(provider_config(sm_api.url))
    event = json.loads(fixture("surveymonkey", "response_completed.json"))
    event["event_type"] = event_type
    body = json.dumps(event).encode()
    response = post(app, "surveymonkey", body, surveymonkey_headers(body))
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert sm_api.requests == [] and item_count(app) == 0


def test_surveymonkey_ids_must_be_digits(make_app, sm_api):
    app = make_app(provider_config(sm_api.url))
    event = json.loads(fixture("surveymonkey", "response_completed.json"))
    event["resources"]["survey_id"] = "405220117/../../v3/users/me"
    body = json.dumps(event).encode()
    response = post(app, "surveymonkey", body, surveymonkey_headers(body))
    assert response.status_code == 422 and response.json()["field"] == "resources.survey_id"
    response = post(app, "surveymonkey", b"{not json", surveymonkey_headers(b"{not json"))
    assert response.status_code == 400
    assert sm_api.requests == [] and item_count(app) == 0


def test_the_webhook_url_answers_head_as_surveymonkey_requires_before_subscribing(make_app):
    app = make_app()
    assert app.http.head(f"{app.url}/webhooks/generic").status_code == 200
    assert app.http.head(f"{app.url}/webhooks/nope").status_code == 404


def test_json_nested_too_deep_is_a_400_not_a_crash():
    """Wootric and SurveyMonkey decode bodies with the shared decoder, like every adapter."""
    from bot.intake.payload import PayloadError
    from bot.intake.providers.base import decode_json_object

    with pytest.raises(PayloadError) as caught:
        decode_json_object(b"[" * 100_000 + b"]" * 100_000)
    assert caught.value.status == 400
