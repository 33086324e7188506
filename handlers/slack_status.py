"""The drafted status report's DM buttons: Share in channel (team members only) and Markdown copy (a
modal with the report in a copyable box). Ack, decode, one domain call, tell the user."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot.insights.scheduled import share_status_report, status_markdown_of
from bot.runtime import Runtime
from bot.slack.ids import ActionId, ViewId, parse_item_value
from bot.slack.status_blocks import markdown_modal
from handlers.slack_reply import tell_user

GONE = "That status report is no longer available: run `/cxloop status` again for a fresh draft."


def _outbox_id(action: dict) -> int | None:
    try:
        prefix, outbox_id = parse_item_value(action.get("value", ""))
    except ValueError:
        return None
    return outbox_id if prefix == "status" else None


def register(app: App, runtime: Runtime) -> None:
    @app.action(ActionId.STATUS_SHARE.value)
    def share(ack: Ack, body: dict, action: dict, respond, client) -> None:
        ack()
        outbox_id, user_id = _outbox_id(action), body["user"]["id"]
        channel_id = (body.get("channel") or {}).get("id")
        if outbox_id is None:
            return
        text = share_status_report(runtime.session, outbox_id=outbox_id, user_id=user_id, config=runtime.config,
                                   directory=runtime.directory, now=runtime.now())
        runtime.queued()
        tell_user(client, user_id=user_id, channel_id=channel_id, text=text, respond=respond)

    @app.action(ActionId.STATUS_MARKDOWN.value)
    def markdown(ack: Ack, body: dict, action: dict, respond, client) -> None:
        ack()
        outbox_id, user_id = _outbox_id(action), body["user"]["id"]
        if outbox_id is None:
            return
        with runtime.session() as session:
            text = status_markdown_of(session, outbox_id=outbox_id, user_id=user_id)
        if text is None:
            tell_user(client, user_id=user_id, channel_id=(body.get("channel") or {}).get("id"), text=GONE,
                      respond=respond)
            return
        if body.get("trigger_id"):
            client.views_open(trigger_id=body["trigger_id"], view=markdown_modal(text))

    @app.view(ViewId.STATUS_MARKDOWN.value)
    def done(ack: Ack) -> None:
        ack()  # nothing to save: the modal only shows the Markdown
