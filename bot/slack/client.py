"""The one place a Slack WebClient is made, and where Slack errors are classified once.

slack_sdk's own retry handlers are left off on purpose: the outbox owns retries, because only it
knows Retry-After per channel, how often a row has failed, and when to park it as dead.
"""

from __future__ import annotations

import socket
import urllib.error
from dataclasses import dataclass
from typing import Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

SLACK_TIMEOUT_SECONDS = 10
DEFAULT_RETRY_AFTER_SECONDS = 5

# Errors no retry can fix: the payload itself is wrong.
PERMANENT_ERRORS = frozenset({
    "invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text", "invalid_arguments",
    "invalid_metadata_format", "invalid_metadata_schema", "too_many_attachments", "message_not_found",
    "cant_update_message", "edit_window_closed", "is_archived", "invalid_auth", "account_inactive",
    "token_revoked", "not_authed",
})


def make_client(token: str, base_url: str) -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=SLACK_TIMEOUT_SECONDS, retry_handlers=[])


@dataclass(frozen=True)
class SlackFailure:
    """kind: 'rate_limited' (wait retry_after), 'unreachable' (Slack itself is down: pause all
    delivery), 'transient' (retry this call with backoff), 'permanent' (retrying cannot help)."""

    kind: Literal["rate_limited", "unreachable", "transient", "permanent"]
    error: str
    retry_after: float = 0.0


def classify_failure(exc: BaseException) -> SlackFailure:
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", 200)
        error = str((response.data or {}).get("error", "")) if isinstance(response.data, dict) else ""
        if status == 429 or error == "ratelimited":
            header = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after")
            try:
                retry_after = float(header)
            except (TypeError, ValueError):
                retry_after = DEFAULT_RETRY_AFTER_SECONDS
            return SlackFailure("rate_limited", "ratelimited", retry_after=retry_after)
        if status >= 500:
            return SlackFailure("transient", f"HTTP {status} {error}".strip())
        if error in PERMANENT_ERRORS:
            details = (response.data or {}).get("response_metadata", {}).get("messages") or []
            return SlackFailure("permanent", error + (f": {'; '.join(details)[:500]}" if details else ""))
        return SlackFailure("transient", error or f"HTTP {status}")
    if isinstance(exc, urllib.error.URLError | ConnectionError | socket.timeout | TimeoutError | OSError):
        return SlackFailure("unreachable", f"{type(exc).__name__}: {str(exc)[:200]}")
    return SlackFailure("transient", f"{type(exc).__name__}: {str(exc)[:200]}")
