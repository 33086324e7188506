"""Events API listeners, and the App Home refresh other listeners call after a user's action."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.followups.home import publish_home
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def refresh_home(runtime: Runtime, user_id: str) -> None:
    """Re-publish one user's App Home from the database (after a commit; a lost refresh is harmless)."""
    try:
        publish_home(runtime.factory, runtime.client, user_id=user_id, config=runtime.config, now=runtime.now())
    except Exception as exc:  # noqa: BLE001 — the home is a view; the next open rebuilds it
        log.warning("could not refresh the App Home of %s: %s", user_id, type(exc).__name__)


def register(app: App, runtime: Runtime) -> None:
    @app.event("app_home_opened")
    def app_home_opened(event: dict) -> None:
        if event.get("tab") not in (None, "home"):
            return
        refresh_home(runtime, event["user"])
