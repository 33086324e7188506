"""`/vip` and the VIP card's buttons and modals: ack, decode, one domain call, answer."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot.runtime import Runtime
from bot.schedule.reminders import VIP_SNOOZE_DAYS, snooze_checkins
from bot.slack.ids import ActionId, InputId, ViewId, parse_item_value
from bot.slack.mrkdwn import escaped_truncated
from bot.slack.vip_blocks import assign_owner_modal, log_touch_modal
from bot.vip import accounts as vip
from bot.vip.commands import Reply, assign_owner, card_reply, run_vip_command, share_card
from handlers.slack_events import refresh_home
from handlers.slack_reply import answer, tell_user
from handlers.view_state import input_state, metadata_id, selected_value
from models import Account
from models.account import TOUCH_CHANNELS


def _account_id(value: str) -> int | None:
    try:
        prefix, account_id = parse_item_value(value)
    except ValueError:
        return None
    return account_id if prefix == "account" else None


def _done_modal(title: str, text: str) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": title[:24]},
            "close": {"type": "plain_text", "text": "Done"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]}


def register(app: App, runtime: Runtime) -> None:
    @app.command("/vip")
    def vip_command(ack: Ack, command: dict) -> None:
        user_id = command["user_id"]
        with runtime.session() as session:
            reply = run_vip_command(session, text=command.get("text", ""), user_id=user_id,
                                    config=runtime.config, now=runtime.now())
        ack(text=reply.text, blocks=reply.blocks, response_type=reply.response_type)
        if (command.get("text") or "").strip().lower().startswith("touch"):
            refresh_home(runtime, user_id)

    @app.action(ActionId.VIP_OPEN.value)
    def open_account(ack: Ack, body: dict, action: dict, respond, client) -> None:
        ack()
        account_id = _account_id(action.get("value", ""))
        with runtime.session() as session:
            account = session.get(Account, account_id) if account_id else None
            reply = card_reply(session, account, now=runtime.now()) if account else \
                Reply.plain("That account no longer exists.")
        answer(respond, client, user_id=body["user"]["id"], text=reply.text, blocks=reply.blocks,
               replace_original=True)

    @app.action(ActionId.VIP_SHARE.value)
    def share(ack: Ack, body: dict, action: dict, respond, client) -> None:
        ack()
        account_id = _account_id(action.get("value", ""))
        channel = (body.get("channel") or {}).get("id")
        with runtime.session() as session:
            account = session.get(Account, account_id) if account_id else None
            if account is None:
                return
            if channel:  # through the outbox, so an erasure can rewrite it later
                share_card(session, account, channel=channel, now=runtime.now())
            else:
                reply = card_reply(session, account, now=runtime.now(), shareable=False)
        if channel:
            runtime.queued()
        else:  # no channel to post in (Slack always names one for a message button): answer where clicked
            answer(respond, client, user_id=body["user"]["id"], text=reply.text, blocks=reply.blocks,
                   response_type="in_channel")

    @app.action(ActionId.VIP_SNOOZE.value)
    def snooze_checkin(ack: Ack, body: dict, action: dict, respond, client) -> None:
        ack()
        account_id = _account_id(action.get("value", ""))
        if account_id is None:
            return
        with runtime.session() as session:
            account = snooze_checkins(session, account_id=account_id, user_id=body["user"]["id"], now=runtime.now())
            name = account.name if account else None
        if name:
            answer(respond, client, user_id=body["user"]["id"],
                   text=f"😴 No check-in reminders for {escaped_truncated(name, 100)} for {VIP_SNOOZE_DAYS} days.")

    @app.action(ActionId.VIP_LOG_TOUCH.value)
    def open_touch_modal(ack: Ack, body: dict, action: dict, client) -> None:
        ack()
        account_id = _account_id(action.get("value", ""))
        with runtime.session() as session:
            account = session.get(Account, account_id) if account_id else None
            name = account.name if account else None
        if name is not None:
            client.views_open(trigger_id=body["trigger_id"], view=log_touch_modal(account_id, name))

    @app.action(ActionId.VIP_ASSIGN_OWNER.value)
    def open_owner_modal(ack: Ack, body: dict, action: dict, client, respond) -> None:
        ack()
        user_id = body["user"]["id"]
        if not runtime.config.is_admin(user_id):
            tell_user(client, user_id=user_id, channel_id=(body.get("channel") or {}).get("id"),
                      text="Sorry, only cxloop admins can change owners.", respond=respond)
            return
        account_id = _account_id(action.get("value", ""))
        with runtime.session() as session:
            account = session.get(Account, account_id) if account_id else None
            details = (account.name, account.owner) if account else None
        if details is not None:
            client.views_open(trigger_id=body["trigger_id"],
                              view=assign_owner_modal(account_id, details[0], details[1]))

    @app.view(ViewId.VIP_TOUCH.value)
    def submit_touch(ack: Ack, body: dict, view: dict) -> None:
        channel = selected_value(view, InputId.TOUCH_CHANNEL)
        note = input_state(view, InputId.TOUCH_NOTE).get("value")
        account_id = metadata_id(view)
        if channel not in TOUCH_CHANNELS:
            ack(response_action="errors", errors={InputId.TOUCH_CHANNEL.value: "Choose how you got in touch."})
            return
        if account_id is None:
            ack()
            return
        user_id = body["user"]["id"]
        try:
            with runtime.session() as session:
                vip.log_touch(session, account_id=account_id, actor=user_id, channel=channel, note=note,
                              now=runtime.now())
                account = session.get(Account, account_id)
                text = f"Logged a {channel} with *{escaped_truncated(account.name, 100)}*. Next check-in {vip.cadence_status(account, runtime.now())}."
        except vip.TouchError as exc:
            ack(response_action="errors", errors={InputId.TOUCH_CHANNEL.value: str(exc)})
            return
        ack(response_action="update", view=_done_modal("Touch logged", text))
        refresh_home(runtime, user_id)

    @app.view(ViewId.VIP_OWNER.value)
    def submit_owner(ack: Ack, body: dict, view: dict) -> None:
        user_id = body["user"]["id"]
        owner = input_state(view, InputId.OWNER).get("selected_user")
        account_id = metadata_id(view)
        if not runtime.config.is_admin(user_id):
            ack(response_action="errors", errors={InputId.OWNER.value: "Only cxloop admins can change owners."})
            return
        if not owner:
            ack(response_action="errors", errors={InputId.OWNER.value: "Choose a person."})
            return
        ack()
        if account_id is not None:
            with runtime.session() as session:
                account = session.get(Account, account_id)
                if account is not None:
                    assign_owner(account, owner, now=runtime.now())
