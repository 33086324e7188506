"""`/cxloop`: answered in the ack itself (ephemeral), so no Slack API call is needed. `status` queues a
draft report to the asker's DMs (through the outbox) and says so in the ack."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot.followups.commands import run_cxloop_command
from bot.insights.scheduled import status_command
from bot.runtime import Runtime
from bot.slack.blocks import ephemeral_text


def register(app: App, runtime: Runtime) -> None:
    @app.command("/cxloop")
    def cxloop(ack: Ack, command: dict) -> None:
        words = (command.get("text") or "").split()
        status = bool(words) and words[0].lower() == "status"
        with runtime.session() as session:
            if status:
                text = status_command(session, words=words[1:], user_id=command["user_id"],
                                      channel_id=command.get("channel_id", ""), config=runtime.config,
                                      now=runtime.now())
            else:
                text = run_cxloop_command(session, text=command.get("text", ""), user_id=command["user_id"],
                                          channel_id=command.get("channel_id", ""), config=runtime.config,
                                          now=runtime.now())
        ack(text=text, blocks=ephemeral_text(text), response_type="ephemeral")
        if status:
            runtime.queued()
