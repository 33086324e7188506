"""The "Escalate to CX" message shortcut and its modal: ack, decode, one domain call."""

from __future__ import annotations

import json
import logging
import re

from slack_bolt import Ack, App

from bot.common.email_address import email_or_none
from bot.config import AppConfig
from bot.intake.escalations import escalate_from_slack, escalate_modal, team_options
from bot.runtime import Runtime
from bot.slack.ids import SEVERITIES, InputId, ShortcutId, ViewId
from handlers.slack_reply import tell_user
from handlers.view_state import input_state, selected_value

log = logging.getLogger(__name__)


# What Slack sends as a message's channel and ts (the modal carries both to its submission).
_SLACK_CHANNEL = re.compile(r"[CDG][A-Z0-9]{2,31}")
_SLACK_TS = re.compile(r"\d{1,12}\.\d{1,9}")


def _errors(config: AppConfig, customer: str, severity: str | None, team: str | None) -> dict[str, str]:
    errors = {}
    if not customer:
        errors[InputId.CUSTOMER.value] = "Who is the customer? An e-mail or a name."
    elif "@" in customer and email_or_none(customer) is None:
        errors[InputId.CUSTOMER.value] = "Write one e-mail address (like ann@acme.com), or a name without @."
    if severity not in SEVERITIES:
        errors[InputId.SEVERITY.value] = "Choose a severity."
    if team not in {t.name for t in config.teams}:
        errors[InputId.TEAM.value] = "Choose a team."
    return errors


def register(app: App, runtime: Runtime) -> None:
    @app.shortcut(ShortcutId.ESCALATE.value)
    def open_escalation(ack: Ack, shortcut: dict, client) -> None:
        ack()
        message = shortcut.get("message") or {}
        channel_id, message_ts = (shortcut.get("channel") or {}).get("id", ""), message.get("ts", "")
        if not (isinstance(channel_id, str) and _SLACK_CHANNEL.fullmatch(channel_id)
                and isinstance(message_ts, str) and _SLACK_TS.fullmatch(message_ts)):
            # Slack never sends these; they would not fit the modal's private_metadata (3 000 characters).
            log.warning("escalate shortcut ignored: not a Slack channel id and message ts")
            return
        client.views_open(trigger_id=shortcut["trigger_id"], view=escalate_modal(
            channel_id=channel_id, message_ts=message_ts, message_text=message.get("text", ""),
            config=runtime.config))

    @app.options(InputId.TEAM.value)
    def load_teams(ack: Ack, payload: dict) -> None:
        # The team select turns external past 100 teams: Slack asks for the choices matching what was typed.
        ack(options=team_options(runtime.config, str(payload.get("value") or "")))

    @app.view(ViewId.ESCALATE.value)
    def submit_escalation(ack: Ack, body: dict, view: dict, client) -> None:
        customer = (input_state(view, InputId.CUSTOMER).get("value") or "").strip()
        severity, team = selected_value(view, InputId.SEVERITY), selected_value(view, InputId.TEAM)
        errors = _errors(runtime.config, customer, severity, team)
        try:
            origin = json.loads(view.get("private_metadata") or "{}")
            channel_id, message_ts = str(origin["channel"]), str(origin["ts"])
        except (ValueError, KeyError, TypeError):
            ack()
            return
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        user_id = body["user"]["id"]
        try:
            permalink = client.chat_getPermalink(channel=channel_id, message_ts=message_ts).get("permalink")
        except Exception as exc:  # noqa: BLE001 — the escalation matters more than its link
            log.warning("chat.getPermalink failed: %s", type(exc).__name__)
            permalink = None
        with runtime.session() as session:
            result = escalate_from_slack(
                session, config=runtime.config, channel_id=channel_id, message_ts=message_ts, team=team,
                customer=customer, severity=severity, note=input_state(view, InputId.NOTE).get("value"),
                permalink=permalink, reporter=user_id, now=runtime.now())
        runtime.queued()
        target = runtime.config.team(team)
        text = (f"🚨 Escalated to <#{target.channel}> ({team})." if result.status == "accepted"
                else "This message was already escalated; it is tracked there.")
        tell_user(client, user_id=user_id, channel_id=channel_id, text=text)
