"""What a person is told when their click failed after Slack already got its ack.

Listeners ack first, so an exception afterwards (the database down mid-click, a bug) would otherwise
leave the person looking at a button that did nothing. Here they get a private reply instead.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from sqlalchemy.exc import DBAPIError

from bot.runtime import Runtime
from handlers.slack_reply import tell_user

log = logging.getLogger(__name__)

DATABASE_DOWN = ("cxloop could not save that: its database did not answer. Nothing was changed; "
                 "please try again in a minute.")
FAILED = "Something went wrong on cxloop's side and that did not go through. Please try again."


def register(app: App, runtime: Runtime) -> None:
    @app.error
    def tell_whoever_clicked(error: Exception, body: dict) -> None:
        log.error("a Slack listener failed after its ack: %s: %s", type(error).__name__, str(error)[:300],
                  exc_info=not isinstance(error, DBAPIError))
        user = (body.get("user") or {}) if isinstance(body, dict) else {}
        user_id = user.get("id") if isinstance(user, dict) else None
        user_id = user_id or (body.get("user_id") if isinstance(body, dict) else None)
        if not isinstance(user_id, str):
            return  # an event, not a person's action: nobody to tell
        channel = body.get("channel") if isinstance(body.get("channel"), dict) else {}
        channel_id = channel.get("id") or body.get("channel_id")
        tell_user(runtime.client, user_id=user_id, channel_id=channel_id if isinstance(channel_id, str) else None,
                  text=DATABASE_DOWN if isinstance(error, DBAPIError) else FAILED)
