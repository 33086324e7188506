"""The whole Slack surface on one screen. Each module registers its listeners explicitly."""

from __future__ import annotations

from slack_bolt import App

from bot.runtime import Runtime
from handlers import (
    slack_actions,
    slack_commands,
    slack_errors,
    slack_events,
    slack_product,
    slack_shortcuts,
    slack_views,
    slack_vip,
)


def register_listeners(bolt_app: App, runtime: Runtime) -> None:
    # Every listener is wrapped so a failure after its ack is answered in private (slack_errors.py).
    app = slack_errors.GuardedApp(bolt_app, runtime)
    slack_actions.register(app, runtime)   # Claim, Resolve, Reopen, overflow, link button
    slack_views.register(app, runtime)     # Resolve / note / reassign / follow-up / snooze modals
    slack_commands.register(app, runtime)  # /cxloop
    slack_events.register(app, runtime)    # app_home_opened
    slack_vip.register(app, runtime)       # /vip, the VIP card's buttons and modals
    slack_shortcuts.register(app, runtime) # "Escalate to CX" message shortcut
    slack_product.register(app, runtime)   # Link to issue modal; Send / Send to all / Skip when an issue ships
    slack_errors.register(bolt_app, runtime)  # the same for failures outside a listener
