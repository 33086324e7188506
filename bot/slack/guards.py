"""The edge of the Slack surface: the signature checked first, Slack's retries handled once, and payloads
of the wrong shape refused.

`unverified` (the signature) and then `malformed` / `refusal` run in bot/slack/app.py before Bolt reads
the request at all; RetryFilter is Bolt middleware (before any listener).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

log = logging.getLogger(__name__)

# Slack retries an event up to 3 times within about an hour; remembering this many deliveries covers
# that window for any realistic workspace, in bounded memory.
SEEN_DELIVERIES = 10_000
# Slack's documented window for a request's timestamp (Bolt uses the same).
SLACK_SIGNATURE_WINDOW_SECONDS = 300
# Set in a request's Bolt context once dispatch_to_bolt has checked its signature. Error handlers act
# only on such requests (or on Socket Mode's, which arrive over Slack's authenticated socket).
SIGNATURE_VERIFIED = "cxloop_signature_verified"
_SLACK_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SLACK_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
INTERACTIVE_TYPES = ("block_actions", "view_submission", "view_closed", "message_action", "shortcut")


class RetryFilter:
    """Acks a retried delivery whose first attempt this process already took, without running listeners.

    Bolt has no retry handling of its own. We ack events before the listener runs
    (process_before_response=False), so a retry (X-Slack-Retry-Num, e.g. reason http_timeout) almost
    always means the first attempt was slow, not lost: running the listener again would publish the
    App Home twice, or post a second ephemeral for one click. A retry we have not seen (the first
    attempt never reached this process) is handled normally. The answer carries X-Slack-No-Retry so
    Slack stops retrying. Keys: the event_id of an event, the trigger_id (or action_ts) of an interaction.
    """

    def __init__(self, size: int = SEEN_DELIVERIES):
        self.size = size
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def delivery_key(body: dict[str, Any]) -> str | None:
        if isinstance(body.get("event_id"), str):
            return "event:" + body["event_id"]
        if isinstance(body.get("trigger_id"), str):
            return "trigger:" + body["trigger_id"]
        actions = body.get("actions")
        if isinstance(actions, list) and actions and isinstance(actions[0], dict) and isinstance(
                actions[0].get("action_ts"), str):
            return "action:" + actions[0]["action_ts"]
        return None

    def first_time(self, key: str) -> bool:
        """True the first time `key` is seen (and remembers it)."""
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return False
            self._seen[key] = None
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)
            return True

    def middleware(self):
        # A plain function: Bolt injects arguments by the names in its signature.
        def skip_handled_retries(req: BoltRequest, body: dict, next) -> BoltResponse | None:  # noqa: A002
            return self.handle(req, body, next)
        return skip_handled_retries

    def handle(self, req: BoltRequest, body: dict, next) -> BoltResponse | None:  # noqa: A002 — Bolt's name
        key = self.delivery_key(body) if isinstance(body, dict) else None
        retried = bool((req.headers.get("x-slack-retry-num") or [""])[0])
        if key is not None and not self.first_time(key) and retried:
            reason = (req.headers.get("x-slack-retry-reason") or ["?"])[0]
            log.info("Slack retry of %s (%s) already handled; acknowledged without running it again",
                     key.partition(":")[0], reason[:40])
            return BoltResponse(status=200, body="", headers={"X-Slack-No-Retry": "1"})
        return next()


def _dict_or_absent(value: Any) -> bool:
    return value is None or isinstance(value, dict)


def _text_or_absent(value: Any) -> bool:
    return value is None or isinstance(value, str)


def malformed(body: Any) -> str | None:
    """The first part cxloop's listeners read that does not have the shape Slack documents, or None.

    Slack always sends these shapes; anything else is a broken or hand-made request, answered with a
    clear 400 instead of a listener failing after its ack (which leaves the user with no answer at all)."""
    if not isinstance(body, dict):
        return "(body)"
    kind = body.get("type")
    if kind in INTERACTIVE_TYPES:
        user = body.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
            return "user.id"
        for key in ("channel", "container", "message", "view", "team"):
            if not _dict_or_absent(body.get(key)):
                return key
        for key in ("trigger_id", "response_url"):
            if not _text_or_absent(body.get(key)):
                return key
        if kind in ("block_actions", "message_action", "shortcut") and not body.get("trigger_id"):
            return "trigger_id"  # modals open with it; Slack sends one with every such interaction
        channel, message = body.get("channel") or {}, body.get("message") or {}
        if not _text_or_absent(channel.get("id")):
            return "channel.id"
        if not (_text_or_absent(message.get("ts")) and _text_or_absent(message.get("text"))):
            return "message"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
            return "actions"
        for action in actions:
            option = action.get("selected_option")
            if not _text_or_absent(action.get("value")) or not _dict_or_absent(option) or (
                    option and not _text_or_absent(option.get("value"))):
                return "actions[].value"
    view = body.get("view")
    if isinstance(view, dict):
        if not isinstance(view.get("type"), str) and kind in ("view_submission", "view_closed"):
            return "view.type"  # Bolt itself reads it to tell workflow steps from modals
        if not _text_or_absent(view.get("private_metadata")) or not _dict_or_absent(view.get("state")):
            return "view"
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "event"
        if event["type"] == "app_home_opened" and not (isinstance(event.get("user"), str) and event["user"]):
            return "event.user"
    return None


def verified_request(request: BoltRequest | None) -> bool:
    return request is not None and (request.mode == "socket_mode" or bool(request.context.get(SIGNATURE_VERIFIED)))


def unverified(signing_secret: str | None, raw_body: bytes, headers: Mapping[str, str], now: float) -> str | None:
    """Why this request cannot be Slack's (a short reason for the log), or None when its signature holds.

    Every header is checked for shape before use: slack_sdk's verifier raises on a timestamp of "abc"
    or a non-ASCII signature, which Bolt turned into a 500 and then handed the *unverified* body to the
    error handler. Here any doubt is a plain "no"."""
    if not signing_secret:
        return "no signing secret configured"
    timestamp = (headers.get("x-slack-request-timestamp") or "").strip()
    signature = (headers.get("x-slack-signature") or "").strip()
    if not _SLACK_TIMESTAMP.fullmatch(timestamp):
        return "missing or malformed X-Slack-Request-Timestamp"
    if abs(now - int(timestamp)) > SLACK_SIGNATURE_WINDOW_SECONDS:
        return "X-Slack-Request-Timestamp outside the 5-minute window"
    if not _SLACK_SIGNATURE.fullmatch(signature):
        return "missing or malformed X-Slack-Signature"
    expected = "v0=" + hmac.new(signing_secret.encode(), b"v0:" + timestamp.encode() + b":" + raw_body,
                                hashlib.sha256).hexdigest()
    # compare_digest: the time taken must not reveal how many leading characters matched.
    if not hmac.compare_digest(expected, signature):
        return "X-Slack-Signature does not match"
    return None


def refusal(raw_body: bytes, problem: str) -> tuple[int, dict[str, str]]:
    """The answer to a *signed* payload `malformed` refused.

    This runs before Bolt sees the request: Bolt reads the payload (user, view type, actions) to build
    its context before any middleware runs, and fails with a 500 on shapes Slack never sends."""
    log.warning("refused a signed Slack request whose %s is malformed", problem)
    if raw_body.lstrip()[:1] == b"{":
        # The Events API posts JSON (interactions and commands are form-encoded). Slack retries an event
        # answered with an error and turns events off after many failures: it is acknowledged and dropped.
        return 200, {"ignored": f"malformed event: {problem}"}
    return 400, {"error": f"malformed Slack payload: {problem}"}
