"""Events API listeners."""

from __future__ import annotations

from slack_bolt import App

from bot.commands import home_view
from bot.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    @app.event("app_home_opened")
    def app_home_opened(event: dict, client) -> None:
        if event.get("tab") not in (None, "home"):
            return
        with runtime.session() as session:
            view = home_view(session, user_id=event["user"])
        client.views_publish(user_id=event["user"], view=view)
