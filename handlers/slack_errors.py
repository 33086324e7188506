"""What a person is told when their click failed after Slack already got its ack.

Listeners ack first, so an exception afterwards (the database down mid-click, a bug) would otherwise
leave the person looking at a button that did nothing. Here they get a private reply instead.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from slack_bolt import App, BoltRequest
from sqlalchemy.exc import DBAPIError

from bot.runtime import Runtime
from bot.slack.guards import verified_request
from handlers.slack_reply import tell_user

log = logging.getLogger(__name__)

DATABASE_DOWN = ("cxloop could not save that: its database did not answer. Nothing was changed; "
                 "please try again in a minute.")
FAILED = "Something went wrong on cxloop's side and that did not go through. Please try again."


def tell_about_failure(runtime: Runtime, error: Exception, body: object) -> None:
    log.error("a Slack listener failed: %s: %s", type(error).__name__, str(error)[:300],
              exc_info=(type(error), error, error.__traceback__) if not isinstance(error, DBAPIError) else None)
    if not isinstance(body, dict):
        return
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    user_id = user.get("id") or body.get("user_id")
    if not isinstance(user_id, str):
        return  # an event, not a person's action: nobody to tell
    channel = body.get("channel") if isinstance(body.get("channel"), dict) else {}
    channel_id = channel.get("id") or body.get("channel_id")
    tell_user(runtime.client, user_id=user_id, channel_id=channel_id if isinstance(channel_id, str) else None,
              text=DATABASE_DOWN if isinstance(error, DBAPIError) else FAILED)


def answering_failures(runtime: Runtime) -> Callable[[Callable], Callable]:
    """Wraps a listener so that it never raises into Bolt. Bolt's runner, when a listener raises
    after ack(), resets the ack it already holds; if that happens before the request thread has
    read it, Slack receives a 500 for a click that was acked. Here the failure is answered in private
    instead, and the ack is sent if the listener failed before sending it."""
    def wrap(listener: Callable) -> Callable:
        @functools.wraps(listener)  # Bolt reads the arguments to inject from the unwrapped signature
        def guarded(**kwargs):
            try:
                return listener(**kwargs)
            except Exception as error:  # noqa: BLE001 — every failure gets the same private answer
                ack = kwargs.get("ack")
                if ack is not None and getattr(ack, "response", None) is None:
                    ack()
                tell_about_failure(runtime, error, kwargs.get("body") or kwargs.get("command"))
                return None
        return guarded
    return wrap


class GuardedApp:
    """What the handler modules register on: the Bolt App, with every listener wrapped as above."""

    _REGISTRARS = frozenset({"action", "view", "command", "shortcut", "event", "options", "message"})

    def __init__(self, app: App, runtime: Runtime):
        self._app, self._wrap = app, answering_failures(runtime)

    def __getattr__(self, name: str):
        attribute = getattr(self._app, name)
        if name not in self._REGISTRARS:
            return attribute

        def register(*args, **kwargs):
            decorator = attribute(*args, **kwargs)
            return lambda listener: decorator(self._wrap(listener))
        return register


def register(app: App, runtime: Runtime) -> None:
    @app.error
    def tell_whoever_clicked(error: Exception, body: dict, request: BoltRequest) -> None:
        # Anything not raised inside a wrapped listener (e.g. a middleware).
        if not verified_request(request):
            # Never act on what an unverified body names (a user, a channel): one line, nobody told.
            log.warning("a Slack request failed before its signature was verified: %s", type(error).__name__)
            return
        tell_about_failure(runtime, error, body)
