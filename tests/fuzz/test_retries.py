"""Slack retries (X-Slack-Retry-Num: 1, X-Slack-Retry-Reason: http_timeout) of an interaction and of an
event are handled once: no second audit event, message edit, ephemeral or App Home publish."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from sqlalchemy import func, select

from bot.common.signing import sign_slack_request
from models import FollowUpEvent, OutboxMessage
from models.delivery import UPDATE_ITEM
from tests.conftest import SIGNING_SECRET, wait_for

RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


def send(app, body: str, content_type: str, headers: dict | None = None):
    signed = sign_slack_request(SIGNING_SECRET, body)
    return app.http.post(f"{app.url}/slack/events", content=body,
                         headers={**signed, "Content-Type": content_type, **(headers or {})})


def claim_body(app, trigger_id: str) -> str:
    payload = {
        "type": "block_actions", "api_app_id": "A0CXLOOP", "team": {"id": "T0SANDBOX"},
        "user": {"id": "U0ANA", "username": "ana", "team_id": "T0SANDBOX"},
        "container": {"type": "message", "message_ts": "1.000001", "channel_id": "C0SUCCESS"},
        "trigger_id": trigger_id, "channel": {"id": "C0SUCCESS", "name": "cx"},
        "message": {"ts": "1.000001", "type": "message", "text": "item"},
        "response_url": app.fake.response_url("C0SUCCESS:1.000001"),
        "actions": [{"action_id": "cx_claim", "block_id": "cx_actions", "type": "button", "value": "item:1",
                     "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def home_body(event_id: str) -> str:
    return json.dumps({"token": "legacy", "team_id": "T0SANDBOX", "api_app_id": "A0CXLOOP", "type": "event_callback",
                       "event_id": event_id, "event_time": int(time.time()),
                       "event": {"type": "app_home_opened", "user": "U0ANA", "channel": "D0HOME", "tab": "home"}})


def claim_effects(app) -> tuple[int, int, int]:
    with app.runtime.session() as session:
        events = session.scalar(select(func.count()).select_from(FollowUpEvent).where(FollowUpEvent.action == "claim"))
        edits = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == UPDATE_ITEM))
    told = len([c for c in app.fake.calls() if c["method"] in ("chat.postEphemeral", "response_url")])
    return events, edits, told


def test_a_retried_claim_is_handled_once(make_app):
    app = make_app(worker=False)
    assert app.post_webhook({"id": "r-1", "kind": "nps", "score": 2, "comment": "slow"}).status_code == 202
    body = claim_body(app, "trigger-retry-1")
    first = send(app, body, "application/x-www-form-urlencoded")
    assert first.status_code == 200
    wait_for(lambda: claim_effects(app)[0] == 1, 5, what="the claim")
    time.sleep(0.3)
    after_first = claim_effects(app)
    assert after_first[:2] == (1, 1)

    retry = send(app, body, "application/x-www-form-urlencoded", RETRY)
    assert retry.status_code == 200
    assert retry.headers.get("x-slack-no-retry") == "1"
    time.sleep(0.5)
    # Without the retry filter the listener runs again: "You have already claimed this one." (an ephemeral).
    assert claim_effects(app) == after_first


def test_a_retried_app_home_opened_publishes_once(make_app):
    app = make_app(worker=False)
    body = home_body("EvRETRY1")
    assert send(app, body, "application/json").status_code == 200
    wait_for(lambda: app.fake.calls("views.publish"), 5, what="the App Home")
    retry = send(app, body, "application/json", RETRY)
    assert retry.status_code == 200
    time.sleep(0.5)
    assert len(app.fake.calls("views.publish")) == 1


def test_a_retry_whose_first_attempt_never_arrived_is_handled(make_app):
    """Only deliveries this process took are skipped: a lost first attempt still gets its App Home."""
    app = make_app(worker=False)
    assert send(app, home_body("EvLOST1"), "application/json", RETRY).status_code == 200
    wait_for(lambda: app.fake.calls("views.publish"), 5, what="the App Home")
