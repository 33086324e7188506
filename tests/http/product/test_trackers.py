"""Linear and Jira Cloud in the product loop, through real HTTP: a local fake of each API (Linear's
GraphQL, Jira's REST v3) and webhooks signed as each documents them. Two detractors linked to one issue
(the Slack modal and `cxloop link`), the issue done → each owner asked, Send e-mails the customer once,
a redelivery changes nothing; a new issue created from the modal has the documented shape."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.slack.ids import ActionId, InputId
from bot.vip.book import AccountRecord, upsert_account
from tests.conftest import TEST_CONFIG, WEBHOOK_SECRET, make_config, wait_for
from tests.http.followups.test_reply import smtp as smtp  # the local SMTP server fixture
from tests.http.product.test_flows import _dm, _links, _open_link_modal, _text, _toml

SECRET = "tracker-webhook-secret"
TOKEN = "tracker-api-token"
ENVIRON = {"TRACKER_TOKEN": TOKEN, "TRACKER_SECRET": SECRET, "JIRA_EMAIL": "bot@acme.example"}


class FakeTrackerAPI:
    """Linear's GraphQL endpoint and Jira's REST v3 issue endpoints, recording every request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.next_number = 100
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeTrackerAPI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> dict:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = {"method": self.command, "path": urlsplit(self.path).path,
                           "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                fake.requests.append(request)
                return request

            def do_POST(self) -> None:  # noqa: N802
                request = self._record()
                if request["path"] == "/graphql":
                    query = json.loads(request["body"])
                    if "teams(" in query["query"]:
                        return self._answer(200, {"data": {"teams": {"nodes": [{"id": "team-uuid-eng"}]}}})
                    if "issueCreate" in query["query"]:
                        fake.next_number += 1
                        return self._answer(200, {"data": {"issueCreate": {"success": True, "issue": {
                            "identifier": f"ENG-{fake.next_number}", "title": query["variables"]["input"]["title"],
                            "url": f"https://linear.app/acme/issue/ENG-{fake.next_number}/x",
                            "state": {"type": "unstarted"}}}}})
                    identifier = query["variables"]["id"]
                    return self._answer(200, {"data": {"issue": {
                        "identifier": identifier, "title": "CSV export loses rows",
                        "url": f"https://linear.app/acme/issue/{identifier}/csv", "state": {"type": "started"}}}})
                if request["path"] == "/rest/api/3/issue":
                    fake.next_number += 1
                    return self._answer(201, {"id": "10100", "key": f"ACME-{fake.next_number}",
                                              "self": f"{fake.url}/rest/api/3/issue/10100"})
                self._answer(404, {"errorMessages": ["not found"]})

            def do_GET(self) -> None:  # noqa: N802
                request = self._record()
                key = request["path"].rpartition("/")[2]
                if request["path"].startswith("/rest/api/3/issue/"):
                    return self._answer(200, {"key": key, "fields": {
                        "summary": "CSV export loses rows", "resolution": None,
                        "status": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}}}})
                self._answer(404, {"errorMessages": ["not found"]})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"


@pytest.fixture
def api():
    server = FakeTrackerAPI().start()
    yield server
    server.stop()


TRACKERS = {
    "linear": {"repo": "ENG", "key": "ENG-7", "modal_ref": "https://linear.app/acme/issue/ENG-7/csv-export",
               "cli_ref": "ENG-7"},
    "jira": {"repo": "ACME", "key": "ACME-12", "modal_ref": "https://acme.atlassian.net/browse/ACME-12",
             "cli_ref": "ACME-12", "site": "https://acme.atlassian.net", "user_env": "JIRA_EMAIL"},
}


def _file_config(kind: str, api: FakeTrackerAPI, smtp_port: int) -> dict:
    spec = TRACKERS[kind]
    tracker = {"name": kind, "type": kind, "repo": spec["repo"], "token_env": "TRACKER_TOKEN",
               "secret_env": "TRACKER_SECRET", "api_url": api.url}
    tracker.update({k: spec[k] for k in ("site", "user_env") if k in spec})
    return {**TEST_CONFIG, "trackers": [tracker],
            "email": {"host": "127.0.0.1", "port": smtp_port, "sender": "Acme CX <cx@acme.example>",
                      "starttls": False}}


def _done_event(app, kind: str, key: str, *, delivery: str | None = None, state: str = "done",
                secret: str = SECRET, sent_at: float | None = None):
    """The issue moved to done (completed), signed as the tracker signs it."""
    delivery = delivery or str(uuid.uuid4())
    if kind == "linear":
        state_type = {"done": "completed", "canceled": "canceled", "open": "started"}[state]
        body = json.dumps({"action": "update", "type": "Issue", "createdAt": "2026-12-06T02:00:00.000Z",
                           "data": {"id": "uuid-7", "identifier": key, "title": "CSV export loses rows",
                                    "url": f"https://linear.app/acme/issue/{key}/csv",
                                    "state": {"id": "s2", "name": state, "type": state_type},
                                    "team": {"key": "ENG"}},
                           "updatedFrom": {"stateId": "s1"}, "url": f"https://linear.app/acme/issue/{key}/csv",
                           "webhookTimestamp": int((sent_at or time.time()) * 1000), "webhookId": "wh-1"}).encode()
        headers = {"Linear-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
                   "Linear-Delivery": delivery, "Linear-Event": "Issue"}
    else:
        category = {"done": "done", "canceled": "done", "open": "indeterminate"}[state]
        resolution = {"done": {"name": "Done"}, "canceled": {"name": "Won't Do"}, "open": None}[state]
        body = json.dumps({"timestamp": int(time.time() * 1000), "webhookEvent": "jira:issue_updated",
                           "issue_event_type_name": "issue_generic",
                           "issue": {"id": "10012", "key": key, "fields": {
                               "summary": "CSV export loses rows", "resolution": resolution,
                               "status": {"name": state, "statusCategory": {"key": category}}}},
                           "changelog": {"id": "1", "items": [{"field": "status", "fromString": "In Progress",
                                                               "toString": state}]}}).encode()
        headers = {"X-Hub-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
                   "X-Atlassian-Webhook-Identifier": delivery}
    return app.http.post(f"{app.url}/webhooks/{kind}", content=body,
                         headers={"Content-Type": "application/json", **headers})


def _button(dm: dict, action_id: str) -> dict:
    return next(e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id)


@pytest.mark.parametrize("kind", ["linear", "jira"])
def test_two_detractors_told_once_when_the_issue_is_done(kind, make_app, api, smtp, tmp_path, database_url):
    controller, mailbox = smtp
    spec = TRACKERS[kind]
    app = make_app(make_config(_file_config(kind, api, controller.port), environ=ENVIRON))
    with app.runtime.session() as session:
        upsert_account(session, AccountRecord(name="Globex", domains=("globex.example",), owner="U0BEN", arr=50000),
                       now=datetime.now(UTC))
    maya = app.post_webhook({"id": "d-1", "kind": "nps", "score": 2, "comment": "The CSV export loses rows",
                             "customer": {"email": "maya@acme.example", "name": "Maya Chen"}}).json()["id"]
    sam = app.post_webhook({"id": "d-2", "kind": "nps", "score": 3, "comment": "Exports drop data",
                            "customer": {"email": "sam@globex.example", "name": "Sam Ortiz"}}).json()["id"]
    app.wait_for_post("C0SUCCESS", 2)
    post = next(p for p in app.posts("C0SUCCESS") if p["metadata"]["event_payload"]["item_id"] == maya)
    app.click(ActionId.CLAIM, f"item:{maya}", user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    view = _open_link_modal(app, maya, "C0SUCCESS")
    assert app.submit_view(view, _text(view, InputId.ISSUE_REF, spec["modal_ref"]), user="U0ANA").status_code == 200
    _links(app, 1)
    config_file = tmp_path / "cxloop.toml"
    config_file.write_text(_toml(_file_config(kind, api, controller.port)))
    env = {"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": None, "CXLOOP_CONFIG": str(config_file),
           "GENERIC_WEBHOOK_SECRET": WEBHOOK_SECRET, **ENVIRON}
    result = CliRunner().invoke(main, ["link", str(sam), spec["cli_ref"]], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    app.runtime.queued()
    app.idle()
    # The issue was read from the tracker's API with the configured credential.
    [read] = api.requests
    if kind == "linear":
        assert read["path"] == "/graphql" and read["headers"]["authorization"] == TOKEN
        assert json.loads(read["body"])["variables"] == {"id": spec["key"]}
    else:
        assert read["path"] == f"/rest/api/3/issue/{spec['key']}"
        assert read["headers"]["authorization"] == "Basic " + base64.b64encode(
            f"bot@acme.example:{TOKEN}".encode()).decode()

    assert _done_event(app, kind, spec["key"], secret="forged").status_code == 401
    if kind == "linear":  # a captured delivery replayed later is refused by its webhookTimestamp
        assert _done_event(app, kind, spec["key"], sent_at=time.time() - 120).status_code == 401
    delivery = str(uuid.uuid4())
    answer = _done_event(app, kind, spec["key"], delivery=delivery)
    assert answer.status_code == 200 and answer.json() == {"status": "applied", "asked": 2, "reported": 0}
    assert _done_event(app, kind, spec["key"], delivery=delivery).json()["status"] == "duplicate"
    assert _done_event(app, kind, spec["key"]).json()["status"] == "unchanged"
    app.idle()
    [ana_dm], [ben_dm] = _dm(app, "U0ANA"), _dm(app, "U0BEN")
    assert spec["key"] in json.dumps(ana_dm["blocks"]) and "Maya Chen" in json.dumps(ana_dm["blocks"])
    assert "Sam Ortiz" in json.dumps(ben_dm["blocks"])
    send = _button(ana_dm, ActionId.SHIP_SEND)
    app.click(ActionId.SHIP_SEND, send["value"], user="U0ANA", channel="DU0ANA", ts=ana_dm["ts"])
    [mail] = wait_for(lambda: mailbox.messages, what="the e-mail to Maya")
    assert mail["to"] == ["maya@acme.example"] and "CSV export loses rows has just shipped" in mail["message"].get_content()
    app.click(ActionId.SHIP_SEND, send["value"], user="U0ANA", channel="DU0ANA", ts=ana_dm["ts"])
    app.idle()
    assert len(mailbox.messages) == 1 and len(_dm(app, "U0ANA")) == 1
    demand = app.slash("demand", user="U0ANA", channel="C0SUCCESS").json()["text"]
    assert spec["key"] in demand and "2 customers" in demand and "$50,000 ARR" in demand


@pytest.mark.parametrize("kind", ["linear", "jira"])
def test_a_new_issue_is_created_in_the_documented_shape(kind, make_app, api, smtp):
    controller, _ = smtp
    app = make_app(make_config(_file_config(kind, api, controller.port), environ=ENVIRON))
    item_id = app.post_webhook({"id": "n-1", "kind": "nps", "score": 0, "comment": "SSO login fails",
                                "customer": {"email": "lee@umbrella.example", "name": "Lee Park"}}).json()["id"]
    view = _open_link_modal(app, item_id, "C0SUCCESS")
    assert app.submit_view(view, {**_text(view, InputId.ISSUE_TITLE, "SSO fails"),
                                  **_text(view, InputId.ISSUE_BODY, "Lee Park: SSO login fails\nsecond line")},
                           user="U0ANA").status_code == 200
    _links(app, 1)
    wait_for(lambda: len(api.requests) >= (2 if kind == "linear" else 1), what="the create call")
    app.idle()
    if kind == "linear":
        team, create = api.requests
        assert json.loads(team["body"])["variables"] == {"key": "ENG"}
        assert json.loads(create["body"])["variables"]["input"] == {
            "teamId": "team-uuid-eng", "title": "SSO fails", "description": "Lee Park: SSO login fails\nsecond line"}
        key = "ENG-101"
    else:
        [create] = api.requests
        fields = json.loads(create["body"])["fields"]
        assert fields["project"] == {"key": "ACME"} and fields["summary"] == "SSO fails"
        assert fields["issuetype"] == {"name": "Task"} and fields["description"]["type"] == "doc"
        assert [p["content"][0]["text"] for p in fields["description"]["content"]] == [
            "Lee Park: SSO login fails", "second line"]
        key = "ACME-101"
    thread = app.fake.thread("C0SUCCESS", next(p for p in app.posts("C0SUCCESS")
                                               if p["metadata"]["event_payload"]["item_id"] == item_id)["ts"])
    assert any(key in json.dumps(m["blocks"]) for m in thread)


@pytest.mark.parametrize("kind", ["linear", "jira"])
def test_canceled_then_reopened_is_reported_without_asking(kind, make_app, api, smtp):
    controller, mailbox = smtp
    spec = TRACKERS[kind]
    app = make_app(make_config(_file_config(kind, api, controller.port), environ=ENVIRON))
    item_id = app.post_webhook({"id": "p-1", "kind": "nps", "score": 4, "comment": "Dark mode please",
                                "customer": {"email": "kim@initech.example"}}).json()["id"]
    view = _open_link_modal(app, item_id, "C0SUCCESS")
    app.submit_view(view, _text(view, InputId.ISSUE_REF, spec["key"]), user="U0ANA")
    _links(app, 1)
    assert _done_event(app, kind, spec["key"], state="canceled").json() == {"status": "applied", "asked": 0,
                                                                           "reported": 1}
    assert _done_event(app, kind, spec["key"], state="open").json()["reported"] == 1
    app.idle()
    post = next(p for p in app.posts("C0SUCCESS") if p["metadata"]["event_payload"]["item_id"] == item_id)
    texts = [m["text"] for m in app.fake.thread("C0SUCCESS", post["ts"])]
    assert any("closed as not planned" in t for t in texts) and any("was reopened" in t for t in texts)
    assert _dm(app, "U0ANA") == [] and mailbox.messages == []


MALFORMED = {
    "github": [b"not json", b"[1, 2]", b'{"action": "closed", "issue": {"number": "42"}}',
               b'{"action": "closed", "issue": null}', b'{"action": "closed", "issue": {"number": 1e99}}'],
    "linear": [b'{"type": "Issue", "action": "update", "data": [], "webhookTimestamp": %d}',
               b'{"type": "Issue", "action": "update", "data": {"identifier": 7}, "webhookTimestamp": %d}',
               b'{"type": "Issue", "action": "update", "data": {"identifier": "ENG-7", "state": "done"}, '
               b'"updatedFrom": [], "webhookTimestamp": %d}'],
    "jira": [b"not json", b'{"webhookEvent": "jira:issue_updated", "issue": []}',
             b'{"webhookEvent": "jira:issue_updated", "issue": {"key": "ACME-1", "fields": {"status": 3}}, '
             b'"changelog": {"items": "x"}}'],
}


@pytest.mark.parametrize("kind", ["github", "linear", "jira"])
def test_signed_but_malformed_events_are_refused_clearly_and_change_nothing(kind, make_app, api, smtp):
    controller, _ = smtp
    config = _file_config("jira" if kind == "jira" else "linear", api, controller.port)
    if kind == "github":
        config["trackers"] = [{"name": "github", "type": "github", "repo": "acme/app", "token_env": "TRACKER_TOKEN",
                               "secret_env": "TRACKER_SECRET", "api_url": api.url}]
    app = make_app(make_config(config, environ=ENVIRON))
    for raw in MALFORMED[kind]:
        body = raw % int(time.time() * 1000) if b"%d" in raw else raw
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {"github": {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "issues",
                              "X-GitHub-Delivery": str(uuid.uuid4())},
                   "linear": {"Linear-Signature": digest, "Linear-Delivery": str(uuid.uuid4())},
                   "jira": {"X-Hub-Signature": f"sha256={digest}",
                            "X-Atlassian-Webhook-Identifier": str(uuid.uuid4())}}[kind]
        response = app.http.post(f"{app.url}/webhooks/{kind}", content=body, headers=headers)
        assert response.status_code in (400, 202), (body, response.status_code, response.text)
        assert response.json().get("error") or response.json().get("status") == "ignored"
    # No signature at all: 401.
    assert app.http.post(f"{app.url}/webhooks/{kind}", content=b"{}").status_code == 401
