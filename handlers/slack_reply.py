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
        elif respond is not None:
            respond(text=text, blocks=ephemeral_text(text), response_type="ephemeral", replace_original=False)
    except Exception as exc:  # noqa: BLE001 — a lost ephemeral must not fail the listener
        log.warning("could not send an ephemeral reply: %s", exc)
