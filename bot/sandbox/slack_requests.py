"""Requests as Slack sends them to an app: the payload shapes and the signed form body.

Shared by the tests, the chaos suite and the benchmarks, so every client that pretends to be Slack
sends the same documented shape (api.slack.com/reference/interaction-payloads/block-actions-payload).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from bot.common.signing import sign_slack_request

TEAM = {"id": "T0SANDBOX", "domain": "sandbox"}
API_APP_ID = "A0CXLOOP"
FORM = "application/x-www-form-urlencoded"


def slack_user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM["id"]}


def button_action(action_id: str, value: str, *, block_id: str = "cx_actions") -> dict[str, Any]:
    return {"action_id": action_id, "block_id": block_id, "type": "button", "value": value,
            "action_ts": f"{time.time():.6f}"}


def message_block_actions(action: dict[str, Any], *, user: str, channel: str, ts: str, response_url: str,
                          trigger_id: str) -> dict[str, Any]:
    """A click on a message's interactive element."""
    return {
        "type": "block_actions", "api_app_id": API_APP_ID, "token": "legacy", "team": TEAM,
        "user": slack_user(user),
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": trigger_id, "channel": {"id": channel, "name": "cx"},
        "message": {"ts": ts, "type": "message", "text": "item"},
        "response_url": response_url, "actions": [action],
    }


def signed_form(secret: str, form: dict[str, str], timestamp: int | None = None) -> tuple[str, dict[str, str]]:
    """The urlencoded body and the headers (signature, timestamp, content type) Slack would send."""
    body = urlencode(form)
    return body, {**sign_slack_request(secret, body, timestamp), "Content-Type": FORM}


def signed_payload(secret: str, payload: dict[str, Any]) -> tuple[str, dict[str, str]]:
    return signed_form(secret, {"payload": json.dumps(payload)})
