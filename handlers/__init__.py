"""The whole Slack surface on one screen. Each module registers its listeners explicitly."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App, BoltContext

from bot.runtime import Runtime
from handlers import (
    slack_actions,
    slack_commands,
    slack_errors,
    slack_events,
    slack_product,
    slack_shortcuts,
    slack_status,
    slack_views,
    slack_vip,
)


def register_listeners(bolt_app: App, runtime: Runtime) -> None:
    # Module-level listeners take `runtime` by name, like Bolt's own arguments (`ack`, `body`, `client`).
    bolt_app.use(_provide_runtime(runtime))
    # Every listener is wrapped so a failure after its ack is answered in private (slack_errors.py).
    app = slack_errors.GuardedApp(bolt_app, runtime)
    slack_actions.register(app)            # Claim, Resolve, Reopen, overflow, link button
    slack_views.register(app)              # Resolve / reply / note / reassign / follow-up / snooze modals
    slack_commands.register(app, runtime)  # /cxloop
    slack_events.register(app, runtime)    # app_home_opened
    slack_vip.register(app, runtime)       # /vip, the VIP card's buttons and modals
    slack_shortcuts.register(app, runtime) # "Escalate to CX" message shortcut
    slack_product.register(app, runtime)   # Link to issue modal; Send / Send to all / Skip when an issue ships
    slack_status.register(app, runtime)    # the status report DM: Share in channel, Markdown copy
    slack_errors.register(bolt_app, runtime)  # the same for failures outside a listener


def _provide_runtime(runtime: Runtime) -> Callable[..., None]:
    def provide_runtime(context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002 — Bolt's name
        context["runtime"] = runtime  # Bolt passes context keys to listeners by parameter name
        next()
    return provide_runtime
