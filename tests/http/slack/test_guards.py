"""A Slack request whose signature cannot be verified is a 401, and nothing at all is done for it.

Before: a timestamp of "abc" (or a non-ASCII signature) raised inside Bolt's verifier, the answer was a
500, and the error handler posted an ephemeral to the user and channel the *unverified* body named.
"""

from __future__ import annotations

import json
import time

import pytest

from bot.common.signing import sign_slack_request
from bot.sandbox.slack_requests import button_action, message_block_actions, signed_form
from bot.slack.ids import ActionId, item_value
from tests.conftest import SIGNING_SECRET

NPS_2 = {"id": "sig-1", "kind": "nps", "score": 2, "comment": "Nobody called back.",
         "customer": {"email": "li@acme.example", "name": "Li Wei"}}


def _malformed_headers(body: str) -> list[tuple[str, dict[str, bytes]]]:
    now = int(time.time())
    good = {k: v.encode() for k, v in sign_slack_request(SIGNING_SECRET, body, now).items()}
    ts, sig = good["X-Slack-Request-Timestamp"], good["X-Slack-Signature"]

    def signed_at(timestamp: int) -> dict[str, bytes]:
        return {k: v.encode() for k, v in sign_slack_request(SIGNING_SECRET, body, timestamp).items()}

    return [
        ("no headers", {}),
        ("timestamp only", {"X-Slack-Request-Timestamp": ts}),
        ("signature only", {"X-Slack-Signature": sig}),
        ("timestamp abc", {"X-Slack-Request-Timestamp": b"abc", "X-Slack-Signature": sig}),
        ("timestamp empty", {"X-Slack-Request-Timestamp": b"", "X-Slack-Signature": sig}),
        ("timestamp 1e9", {"X-Slack-Request-Timestamp": b"1e9", "X-Slack-Signature": sig}),
        ("timestamp negative", {"X-Slack-Request-Timestamp": b"-5", "X-Slack-Signature": sig}),
        ("timestamp fullwidth digits", {"X-Slack-Request-Timestamp": "１７６５".encode(), "X-Slack-Signature": sig}),
        ("timestamp huge", {"X-Slack-Request-Timestamp": b"9" * 4000, "X-Slack-Signature": sig}),
        ("timestamp 400 s old", signed_at(now - 400)),
        ("timestamp 400 s ahead", signed_at(now + 400)),
        ("signature not hex", {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": b"v0=" + b"zz" * 32}),
        ("signature not ASCII", {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": b"v0=" + "é".encode() * 32}),
        ("signature huge", {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": b"v0=" + b"a" * 8000}),
        ("signature other scheme", {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": b"v1=" + sig[3:]}),
        ("signature upper case", {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig.upper()}),
        ("signature with a tail", {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig + b"00"}),
        ("signature truncated", {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig[:-1]}),
        ("signature of another secret",
         {k: v.encode() for k, v in sign_slack_request("not-the-secret", body, now).items()}),
        ("signature of another timestamp", {"X-Slack-Request-Timestamp": str(now - 1).encode(),
                                            "X-Slack-Signature": sig}),
    ]


def test_every_unverifiable_slack_request_is_a_401_and_slack_hears_nothing(make_app):
    app = make_app()
    item_id = app.post_webhook(NPS_2).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")
    app.idle()
    payload = message_block_actions(button_action(ActionId.CLAIM, item_value(item_id)), user="U0ANA",
                                    channel="C0SUCCESS", ts=post["ts"], trigger_id="trigger-forged",
                                    response_url=app.fake.response_url(f"C0SUCCESS:{post['ts']}"))
    # A body Bolt cannot even read ("user": true) must not change the answer either.
    broken = {**payload, "user": True}
    before = len([c for c in app.fake.calls() if c["method"] != "auth.test"])
    answers = {}
    for body_payload in (payload, broken):
        body, _ = signed_form(SIGNING_SECRET, {"payload": json.dumps(body_payload)})
        for name, headers in _malformed_headers(body):
            response = app.http.post(f"{app.url}/slack/events", content=body,
                                     headers={"Content-Type": "application/x-www-form-urlencoded", **headers})
            answers[name] = response.status_code
        assert answers == dict.fromkeys(answers, 401), answers
    time.sleep(0.5)  # a listener or error handler would have called the fake Slack by now
    after = [c for c in app.fake.calls() if c["method"] != "auth.test"]
    assert len(after) == before, after[before:]
    assert app.fake.ephemerals() == []
    assert "Claimed by" not in json.dumps(app.fake.message("C0SUCCESS", post["ts"]))


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_an_unsigned_body_of_any_shape_is_a_401(make_app, content_type):
    app = make_app()
    for body in (b"", b"payload=%7B", b"payload=" + b"%FF" * 10, b"{", b"[]", b"\xff\xfe", b"command=/cxloop&user_id=U0ANA"):
        response = app.http.post(f"{app.url}/slack/events", content=body, headers={"Content-Type": content_type})
        assert response.status_code == 401, (body, response.status_code)
