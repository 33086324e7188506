"""Closing the loop at the source: a Zendesk internal note on resolve, the resolved webhook, and the
promoter hand-off — real HTTP calls to a local server, through the outbox, surviving an outage."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from bot.common.signing import verify_webhook
from bot.intake.ingest import ingest_item
from bot.intake.payload import validate_payload
from bot.slack.ids import ActionId, InputId, ViewId, item_value
from tests.conftest import TEST_CONFIG, WEBHOOK_SECRET, make_config, wait_for


class Target:
    """A local HTTP server that records requests; stop() makes it unreachable, start() brings it back."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Target:
        target = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _record(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target.requests.append({"method": self.command, "path": urlsplit(self.path).path,
                                        "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            do_POST = do_PUT = _record

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def target():
    server = Target().start()
    yield server
    server.stop()


def _config(target: Target):
    return make_config({
        **TEST_CONFIG,
        "sources": [
            {"name": "generic", "type": "generic", "secret_env": "GENERIC_WEBHOOK_SECRET",
             "resolved_url": f"{target.url}/hooks/resolved", "promoter_url": f"{target.url}/hooks/promoter"},
            {"name": "zendesk", "type": "zendesk", "secret_env": "ZENDESK_SECRET", "api_url": target.url,
             "api_user_env": "ZENDESK_EMAIL", "api_token_env": "ZENDESK_TOKEN"},
        ],
    }, environ={"ZENDESK_SECRET": "zd-secret", "ZENDESK_EMAIL": "agent@example.com", "ZENDESK_TOKEN": "zd-token"})


def _resolve(app, item_id: int, *, channel: str = "C0SUCCESS", user: str = "U0ANA", outcome: str = "fixed",
             note: str = "Refunded") -> None:
    [post] = [p for p in app.wait_for_post(channel) if p["metadata"]["event_payload"]["item_id"] == item_id]
    opened_before = len(app.fake.views())
    app.click(ActionId.RESOLVE, item_value(item_id), user=user, channel=channel, ts=post["ts"])
    view = wait_for(lambda: [v for v in app.fake.views()[opened_before:] if v.get("callback_id") == ViewId.RESOLVE],
                    what="the resolve modal")[-1]["view"]
    values = {InputId.OUTCOME: {InputId.OUTCOME: {"type": "static_select", "selected_option": {
                  "text": {"type": "plain_text", "text": outcome}, "value": outcome}}},
              InputId.NOTE: {InputId.NOTE: {"type": "plain_text_input", "value": note}}}
    assert app.submit_view(view, values, user=user).status_code == 200


def test_resolving_a_zendesk_item_adds_one_internal_note_to_the_ticket(make_app, target):
    app = make_app(_config(target))
    with app.runtime.session() as session:
        item_id = ingest_item(session, source="zendesk", config=app.runtime.config, now=app.runtime.now(),
                              payload=validate_payload({
                                  "id": "ticket-4242", "kind": "escalation", "subject": "Refund not received",
                                  "priority": "urgent", "source_ref": {"zendesk_ticket_id": 4242},
                                  "customer": {"email": "ann@acme.example"}})).item_id
    app.runtime.queued()
    _resolve(app, item_id, channel="C0SUPPORT", note="Refund re-issued; confirmed by phone.")
    [note] = wait_for(lambda: [r for r in target.requests if r["path"] == "/api/v2/tickets/4242.json"],
                      what="the Zendesk note")
    assert note["method"] == "PUT"
    assert note["headers"]["authorization"] == "Basic " + base64.b64encode(b"agent@example.com/token:zd-token").decode()
    comment = json.loads(note["body"])["ticket"]["comment"]
    assert comment["public"] is False
    assert "U0ANA" in comment["body"] and "Fixed" in comment["body"] and "Refund re-issued" in comment["body"]
    app.idle()
    assert len([r for r in target.requests if r["path"].startswith("/api/v2/tickets/")]) == 1


def test_a_promoter_triggers_one_signed_promoter_post(make_app, target):
    app = make_app(_config(target))
    body = {"id": "p-1", "kind": "nps", "score": 10, "comment": "Love it", "customer": {"email": "fan@acme.example"}}
    assert app.post_webhook(body).status_code == 202
    for _ in range(3):
        app.post_webhook(body)                                   # retries of the same webhook
    app.post_webhook({**body, "comment": "Love it, truly"})       # an edit
    app.post_webhook({"id": "p-2", "kind": "nps", "score": 8})    # a passive: no hand-off
    [call] = wait_for(lambda: [r for r in target.requests if r["path"] == "/hooks/promoter"], what="the promoter POST")
    verify_webhook(WEBHOOK_SECRET, call["body"], call["headers"]["x-cxloop-timestamp"],
                   call["headers"]["x-cxloop-signature"])
    payload = json.loads(call["body"])
    assert payload["event"] == "promoter" and payload["item"]["external_id"] == "p-1" and payload["item"]["score"] == 10
    app.idle()
    assert len([r for r in target.requests if r["path"] == "/hooks/promoter"]) == 1


def test_calls_survive_the_target_being_down_for_a_while(make_app, target):
    app = make_app(_config(target))
    target.stop()
    item_id = app.post_webhook({"id": "d-1", "kind": "nps", "score": 3, "comment": "Slow"}).json()["id"]
    app.post_webhook({"id": "d-2", "kind": "nps", "score": 9, "comment": "Great"})
    with app.runtime.session() as session:
        ticket_item = ingest_item(session, source="zendesk", config=app.runtime.config, now=app.runtime.now(),
                                  payload=validate_payload({"id": "ticket-9", "kind": "escalation", "subject": "Down",
                                                            "source_ref": {"zendesk_ticket_id": 9}})).item_id
    app.runtime.queued()
    _resolve(app, item_id)
    _resolve(app, ticket_item, channel="C0SUPPORT")
    # All three calls fail while the target is down, and stay queued.
    wait_for(lambda: _failures(app) >= 3, timeout=20, what="the calls to fail while the target is down")
    target.start()
    expected = ["/api/v2/tickets/9.json", "/hooks/promoter", "/hooks/resolved"]
    wait_for(lambda: sorted({r["path"] for r in target.requests}) == expected, timeout=40,
             what="every call once the target is back")
    app.idle(timeout=30)
    assert sorted(r["path"] for r in target.requests) == expected  # each exactly once
    resolved = json.loads(next(r["body"] for r in target.requests if r["path"] == "/hooks/resolved"))
    assert resolved["item"]["outcome"] == "fixed" and resolved["item"]["resolved_by"] == "U0ANA"


def _failures(app) -> int:
    from sqlalchemy import func, select

    from models import OutboxMessage

    with app.runtime.session() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "http_call", OutboxMessage.failures > 0)) or 0
