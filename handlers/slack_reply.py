"""Tell one user something privately, in the channel they clicked in (or by response_url)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.slack.blocks import ephemeral_text

log = logging.getLogger(__name__)


def tell_user(client: WebClient, *, user_id: str, channel_id: str | None, text: str, respond=None) -> None:
    try:
        if channel_id:
            client.chat_postEphemeral(channel=channel_id, user=user_id, text=text, blocks=ephemeral_text(text))
            return
        if _can_respond(respond):
            respond(text=text, blocks=ephemeral_text(text), response_type="ephemeral", replace_original=False)
            return
        # A click in the App Home has neither a channel nor a response_url: say it in the app's DM.
        client.chat_postMessage(channel=user_id, text=text, blocks=ephemeral_text(text))
    except Exception as exc:  # noqa: BLE001 — a lost reply must not fail the listener
        log.warning("could not send a private reply: %s", exc)


def answer(respond, client: WebClient, *, user_id: str, text: str, blocks: list | None = None,
           response_type: str = "ephemeral", replace_original: bool = False) -> None:
    """Answer a click where it was made (its response_url); a click without a usable one (the App
    Home), or whose response_url refused the answer, gets it in the app's DM instead of failing the
    listener."""
    if _can_respond(respond):
        try:
            respond(text=text, blocks=blocks, response_type=response_type, replace_original=replace_original)
            return
        except Exception as exc:  # noqa: BLE001 — expired, used up or unreachable: say it in the DM
            log.warning("response_url refused the answer (%s); answering in the app's DM", type(exc).__name__)
    try:
        client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
    except Exception as exc:  # noqa: BLE001 — a lost reply must not fail the listener
        log.warning("could not send a private reply: %s", exc)


def _can_respond(respond) -> bool:
    url = getattr(respond, "response_url", None) if respond is not None else None
    return isinstance(url, str) and url.startswith(("https://", "http://"))
