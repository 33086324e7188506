"""Buttons and the overflow menu on an item's message: ack, decode, one domain call, tell the user."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot.followups import service as followups
from bot.followups.close_loop import reply_route
from bot.followups.permissions import PermissionAction, check_permission, permission_refusal
from bot.runtime import Runtime
from bot.schedule.reminders import next_workday
from bot.slack import blocks
from bot.slack.ids import ActionId, OverflowChoice, parse_item_value, split_version
from bot.slack.replies import change_reply, claim_reply
from handlers.slack_events import refresh_home
from handlers.slack_product import open_link_modal
from handlers.slack_reply import answer, tell_user
from models import Item


def _context(body: dict, value: str) -> tuple[str, str | None, int] | None:
    try:
        _, item_id = parse_item_value(value)
    except ValueError:
        return None
    return body["user"]["id"], (body.get("channel") or {}).get("id"), item_id


def register(app: App, runtime: Runtime) -> None:
    def refused(action: PermissionAction, user_id: str, channel_id: str | None, item_id: int, respond) -> bool:
        reason = permission_refusal(runtime.session, action, item_id=item_id, user_id=user_id,
                                    config=runtime.config, directory=runtime.directory)
        if reason:
            tell_user(runtime.client, user_id=user_id, channel_id=channel_id, text=reason, respond=respond)
        return reason is not None

    def decided_change(action: PermissionAction, user_id: str, channel_id: str | None, item_id: int, respond,
                       change):
        """Decide and change in one transaction: the change's compare-and-set requires the version the
        decision read, so nothing committed in between is acted on. None (and the user told) when refused."""
        with runtime.session() as session:
            permission = check_permission(session, action, item_id=item_id, user_id=user_id,
                                          config=runtime.config, directory=runtime.directory)
            result = None if permission.reason else change(session, permission.version)
        if permission.reason:
            tell_user(runtime.client, user_id=user_id, channel_id=channel_id, text=permission.reason,
                      respond=respond)
            return None
        runtime.queued()
        return result

    def changed(action_name: PermissionAction, change, body: dict, value: str, respond,
                shown_version: int | None = None) -> None:
        """`shown_version`: the version the clicked message showed; a change committed since makes the click lose."""
        decoded = _context(body, value)
        if decoded is None:
            return
        user_id, channel_id, item_id = decoded
        if refused(action_name, user_id, channel_id, item_id, respond):
            return
        result = decided_change(action_name, user_id, channel_id, item_id, respond,
                                lambda session, version: change(
                                    session, item_id=item_id, user_id=user_id, now=runtime.now(),
                                    expected_version=version if shown_version is None else shown_version))
        if result is None:
            return
        text = (claim_reply(result, user_id, runtime.now()) if action_name == "claim"
                else change_reply(action_name, result))
        if text:
            tell_user(runtime.client, user_id=user_id, channel_id=channel_id, text=text, respond=respond)
        if result.changed:
            refresh_home(runtime, user_id)

    @app.action(ActionId.CLAIM.value)
    def claim(ack: Ack, body: dict, action: dict, respond) -> None:
        ack()
        changed("claim", followups.claim_followup, body, action.get("value", ""), respond)

    @app.action(ActionId.REOPEN.value)
    def reopen(ack: Ack, body: dict, action: dict, respond) -> None:
        ack()
        changed("reopen", followups.reopen_followup, body, action.get("value", ""), respond)

    @app.action(ActionId.RESOLVE.value)
    @app.action(ActionId.HOME_RESOLVE.value)
    def resolve(ack: Ack, body: dict, action: dict, client, respond) -> None:
        ack()
        decoded = _context(body, action.get("value", ""))
        if decoded is None:
            return
        user_id, channel_id, item_id = decoded
        if refused("resolve", user_id, channel_id, item_id, respond):
            return
        with runtime.session() as session:
            summary = followups.item_summary(session, item_id)
        if summary is None:
            tell_user(client, user_id=user_id, channel_id=channel_id, text="This item no longer exists.",
                      respond=respond)
            return
        client.views_open(trigger_id=body["trigger_id"], view=blocks.resolve_modal(item_id, summary=summary))

    @app.action(ActionId.FOLLOW_UP_PUSH.value)
    def push_follow_up(ack: Ack, body: dict, action: dict, respond, client) -> None:
        ack()
        decoded = _context(body, action.get("value", ""))
        if decoded is None:
            return
        user_id, channel_id, item_id = decoded
        if refused("follow_up", user_id, channel_id, item_id, respond):
            return
        now = runtime.now()
        day = next_workday(now, runtime.config, runtime.config.timezone_of(user_id))
        result = decided_change("follow_up", user_id, channel_id, item_id, respond,
                                lambda session, version: followups.set_follow_up_date(
                                    session, item_id=item_id, user_id=user_id, on=day, now=now,
                                    expected_version=version))
        if result is None:
            return
        text = change_reply("move the follow-up date of", result) or f"📅 Pushed to {day:%a %d %b}."
        answer(respond, client, user_id=user_id, text=text, replace_original=True)

    @app.action(ActionId.FOLLOW_UP_PICK.value)
    def pick_follow_up(ack: Ack, body: dict, action: dict, client, respond) -> None:
        ack()
        decoded = _context(body, action.get("value", ""))
        if decoded is None or refused("follow_up", *decoded, respond):
            return
        client.views_open(trigger_id=body["trigger_id"], view=blocks.follow_up_modal(decoded[2]))

    @app.action(ActionId.REPLY.value)
    def open_reply(ack: Ack, body: dict, action: dict, client, respond) -> None:
        ack()
        decoded = _context(body, action.get("value", ""))
        if decoded is None:
            return
        user_id, channel_id, item_id = decoded
        if refused("reply", user_id, channel_id, item_id, respond):
            return
        with runtime.session() as session:
            item = session.get(Item, item_id)
            route = reply_route(item, runtime.config) if item else None
        if route is None:
            tell_user(client, user_id=user_id, channel_id=channel_id, respond=respond,
                      text="This customer cannot be reached from here (no ticket, conversation or e-mail).")
            return
        client.views_open(trigger_id=body["trigger_id"], view=blocks.reply_modal(item_id, via=route.via, to=route.to))

    @app.action(ActionId.OPEN_SOURCE.value)
    def open_source(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL itself, but still expects an ack

    @app.action(ActionId.MORE.value)
    def overflow(ack: Ack, body: dict, action: dict, client, respond) -> None:
        ack()
        value = (action.get("selected_option") or {}).get("value", "")
        choice = value.partition(":")[0]
        if choice == OverflowChoice.UNCLAIM:
            try:
                value, shown_version = split_version(value)
            except ValueError:
                return
            changed("unclaim", followups.unclaim_followup, body, value, respond, shown_version)
            return
        decoded = _context(body, value)
        if decoded is None:
            return
        user_id, channel_id, item_id = decoded
        if choice == OverflowChoice.LINK_ISSUE:
            open_link_modal(runtime, client, trigger_id=body["trigger_id"], item_id=item_id, user_id=user_id,
                            channel_id=channel_id, respond=respond)
            return
        # Each modal is authorised as it opens, and again when it is submitted (handlers/slack_views.py).
        permission: PermissionAction | None = {
            OverflowChoice.REASSIGN: "reassign", OverflowChoice.NOTE: "note", OverflowChoice.FOLLOW_UP: "follow_up",
            OverflowChoice.SNOOZE: "snooze",
        }.get(choice)
        if permission is not None and refused(permission, user_id, channel_id, item_id, respond):
            return
        modal = {
            OverflowChoice.REASSIGN: lambda: blocks.reassign_modal(item_id),
            OverflowChoice.NOTE: lambda: blocks.note_modal(item_id),
            OverflowChoice.FOLLOW_UP: lambda: blocks.follow_up_modal(item_id),
            OverflowChoice.SNOOZE: lambda: blocks.snooze_modal(item_id),
        }.get(choice)
        if modal is not None:
            client.views_open(trigger_id=body["trigger_id"], view=modal())
