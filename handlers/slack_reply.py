"""Tell one user something privately, in the channel they clicked in (or by response_url)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.blocks import ephemeral_text

log = logging.getLogger(__name__)


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError) and isinstance(exc.response.data, dict):
        return str(exc.response.data.get("error") or "")
    return type(exc).__name__


def tell_user(client: WebClient, *, user_id: str, channel_id: str | None, text: str, respond=None) -> None:
    """An ephemeral in the channel; when Slack cannot show it there (the user is not a member:
    `user_not_in_channel`; a private channel the bot is not in: `channel_not_found`), the click's
    response_url, else the app's DM, so the answer is never lost in silence."""
    blocks = ephemeral_text(text)
    if channel_id:
        try:
            client.chat_postEphemeral(channel=channel_id, user=user_id, text=text, blocks=blocks)
            return
        except Exception as exc:  # noqa: BLE001 — a lost reply must not fail the listener: try another way
            log.info("ephemeral to %s in %s not shown (%s); answering another way", user_id, channel_id, _error(exc))
    if _can_respond(respond):
        try:
            _respond(respond, text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
            return
        except Exception as exc:  # noqa: BLE001
            log.info("response_url answer to %s failed (%s); answering in the DM", user_id, _error(exc))
    # A click in the App Home has neither a channel nor a response_url: say it in the app's DM.
    _dm(client, user_id=user_id, text=text, blocks=blocks)


def answer(respond, client: WebClient, *, user_id: str, text: str, blocks: list | None = None,
           response_type: str = "ephemeral", replace_original: bool = False) -> None:
    """Answer a click where it was made (its response_url); a click without one (the App Home), or
    one whose response_url is spent, gets the answer in the app's DM instead of failing the listener."""
    if _can_respond(respond):
        try:
            _respond(respond, text=text, blocks=blocks, response_type=response_type, replace_original=replace_original)
            return
        except Exception as exc:  # noqa: BLE001
            log.info("response_url answer to %s failed (%s); answering in the DM", user_id, _error(exc))
    _dm(client, user_id=user_id, text=text, blocks=blocks)


def _can_respond(respond) -> bool:
    """Bolt gives respond() whatever response_url the payload carried: only a URL is worth a try."""
    url = getattr(respond, "response_url", None) if respond is not None else None
    return isinstance(url, str) and url.startswith(("https://", "http://"))


def _respond(respond, **message) -> None:
    """Bolt's respond() returns Slack's answer instead of raising: a spent or expired response_url
    (5 uses in 30 minutes) answers 404 `used_url` / `expired_url`."""
    response = respond(**message)
    status = getattr(response, "status_code", 200)
    if status != 200:
        raise RuntimeError(f"response_url answered {status} {getattr(response, 'body', '')}".strip())


def _dm(client: WebClient, *, user_id: str, text: str, blocks: list | None) -> None:
    try:
        client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
    except Exception as exc:  # noqa: BLE001 — a lost reply must not fail the listener
        log.warning("could not send a private reply to %s: %s", user_id, _error(exc))
