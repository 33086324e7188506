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

# Errors no retry can fix: the payload itself is wrong (a cxloop bug: the row id and Slack's message
# say which), or the workspace must change first (a scope, a channel, the token: the admin's fix).
PAYLOAD_ERRORS = frozenset({
    "invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text", "invalid_arguments",
    "invalid_metadata_format", "invalid_metadata_schema", "too_many_attachments", "message_not_found",
    "cant_update_message", "edit_window_closed", "thread_not_found",
})
_TOKEN_FIX = ("set SLACK_BOT_TOKEN to the app's current Bot User OAuth Token (api.slack.com/apps → OAuth & "
              "Permissions; reinstall the app if it was removed), then `cxloop outbox retry`")
# error -> what an admin does about it; {method}, {channel} and {needed} are filled in.
ADMIN_FIXES = {
    "missing_scope": ("the app lacks the scope {needed} (for {method}): add it under oauth_config.scopes.bot in "
                      "manifest.yml, reinstall the app to the workspace, then `cxloop outbox retry`"),
    "not_in_channel": ("the bot is not a member of {channel}: invite it there (/invite @cxloop), "
                       "then `cxloop outbox retry`"),
    "channel_not_found": ("channel {channel} does not exist, or is private and the bot was not invited: check the "
                          "channel id in the config file or /invite @cxloop there, then `cxloop outbox retry`"),
    "is_archived": ("channel {channel} is archived: unarchive it or give the team another channel in the config "
                    "file, then `cxloop outbox retry`"),
    "method_not_supported_for_channel_type": ("{method} cannot be used in {channel}: invite the bot there "
                                              "(/invite @cxloop), then `cxloop outbox retry`"),
    "restricted_action": ("the workspace's settings do not let the app do {method} in {channel}: ask a "
                          "workspace admin, then `cxloop outbox retry`"),
    "user_not_found": "user {channel} does not exist in this workspace: fix the user id in the config file",
    "cannot_dm_bot": "{channel} is a bot and cannot be sent a DM: fix the user id in the config file",
    "user_disabled": "user {channel} is deactivated: give their role to someone else in the config file",
    "invalid_auth": "Slack refused the bot token: " + _TOKEN_FIX,
    "not_authed": "no bot token was sent: " + _TOKEN_FIX,
    "account_inactive": "the bot token belongs to a deleted app or user: " + _TOKEN_FIX,
    "token_revoked": "the bot token was revoked: " + _TOKEN_FIX,
    "token_expired": "the bot token expired: " + _TOKEN_FIX,
    "no_permission": "the token may not do {method}: " + _TOKEN_FIX,
    "ekm_access_denied": "an administrator suspended the app's access (EKM): ask a workspace admin",
    "team_access_not_granted": "the app is not installed in this workspace: reinstall it from its manifest",
}
PERMANENT_ERRORS = PAYLOAD_ERRORS | frozenset(ADMIN_FIXES)


def make_client(token: str, base_url: str) -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=SLACK_TIMEOUT_SECONDS, retry_handlers=[])


@dataclass(frozen=True)
class SlackFailure:
    """kind: 'rate_limited' (wait retry_after), 'unreachable' (Slack itself is down: pause all
    delivery), 'transient' (retry this call with backoff), 'permanent' (retrying cannot help)."""

    kind: Literal["rate_limited", "unreachable", "transient", "permanent"]
    error: str
    retry_after: float = 0.0


def explain(error: str, data: object, api_url: str = "", req_args: object = None) -> str:
    """`<error>: <what to do>` for the outbox row's last_error, shown by `cxloop outbox`."""
    data = data if isinstance(data, dict) else {}
    method = str(api_url or "").rstrip("/").rpartition("/")[2] or "this call"
    params = {}
    if isinstance(req_args, dict):
        params = {**(req_args.get("params") or {}), **(req_args.get("data") or {}), **(req_args.get("json") or {})}
    channel = str(params.get("channel") or params.get("channel_id") or params.get("users") or "the channel")
    fix = ADMIN_FIXES.get(error)
    if fix is not None:
        needed = str(data.get("needed") or "") or "named by Slack"
        head = f"{error} {data['needed']}" if error == "missing_scope" and data.get("needed") else error
        return f"{head}: {fix.format(method=method, channel=channel, needed=needed)}"[:1000]
    details = (data.get("response_metadata") or {}).get("messages") or []
    return (f"{error} ({method}): Slack rejected what cxloop sent; retrying cannot help: report it as a bug"
            + (f": {'; '.join(map(str, details))[:500]}" if details else ""))


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
            return SlackFailure("permanent", explain(error, response.data, getattr(response, "api_url", ""),
                                                     getattr(response, "req_args", None)))
        return SlackFailure("transient", error or f"HTTP {status}")
    if isinstance(exc, urllib.error.URLError | ConnectionError | socket.timeout | TimeoutError | OSError):
        return SlackFailure("unreachable", f"{type(exc).__name__}: {str(exc)[:200]}")
    return SlackFailure("transient", f"{type(exc).__name__}: {str(exc)[:200]}")
