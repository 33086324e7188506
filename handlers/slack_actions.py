"""Buttons and the overflow menu on an item's message: ack, decode, one flow (bot/followups/flows.py), say
what it returned. `runtime` comes from the request's context (handlers/__init__.py)."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, App

from bot.followups import flows
from bot.followups import service as followups
from bot.followups.permissions import PermissionAction
from bot.runtime import Runtime
from bot.schedule.reminders import next_workday
from bot.slack import blocks
from bot.slack.ids import ActionId, OverflowChoice, parse_item_value, split_version
from bot.slack.replies import change_reply, claim_reply
from handlers.slack_events import refresh_home
from handlers.slack_product import open_link_modal
from handlers.slack_reply import answer, tell_user

# The overflow choices that open a modal, with the permission it needs: each modal is authorised as it
# opens, and again when it is submitted (handlers/slack_views.py).
MODALS: dict[str, tuple[PermissionAction, Callable[[int], dict]]] = {
    OverflowChoice.REASSIGN: ("reassign", blocks.reassign_modal),
    OverflowChoice.NOTE: ("note", blocks.note_modal),
    OverflowChoice.FOLLOW_UP: ("follow_up", blocks.follow_up_modal),
    OverflowChoice.SNOOZE: ("snooze", blocks.snooze_modal),
}


def _decode(body: dict, value: str) -> tuple[str, str | None, int] | None:
    """(who clicked, the channel they clicked in, the item), or None for a value that is not an item's."""
    try:
        _, item_id = parse_item_value(value)
    except ValueError:
        return None
    return body["user"]["id"], (body.get("channel") or {}).get("id"), item_id


def _say(runtime: Runtime, respond, user_id: str, channel_id: str | None, outcome: flows.Outcome,
         text: str | None) -> None:
    """After the commit: the refusal or the reply, privately where they clicked; then their App Home."""
    if outcome.refusal or text:
        tell_user(runtime.client, user_id=user_id, channel_id=channel_id, text=outcome.refusal or text,
                  respond=respond)
    for home in outcome.refresh_homes:
        refresh_home(runtime, home)


def _refused(runtime: Runtime, action: PermissionAction, decoded, respond) -> bool:
    """Asked before a modal opens: told privately when not allowed."""
    user_id, channel_id, item_id = decoded
    reason = flows.refusal(runtime, action, item_id=item_id, user_id=user_id)
    if reason:
        tell_user(runtime.client, user_id=user_id, channel_id=channel_id, text=reason, respond=respond)
    return reason is not None


def claim(ack: Ack, body: dict, action: dict, respond, runtime: Runtime) -> None:
    ack()
    if (decoded := _decode(body, action.get("value", ""))) is not None:
        user_id, channel_id, item_id = decoded
        outcome = flows.claim(runtime, item_id=item_id, user_id=user_id)
        text = claim_reply(outcome.result, user_id, runtime.now()) if outcome.result else None
        _say(runtime, respond, user_id, channel_id, outcome, text)


def reopen(ack: Ack, body: dict, action: dict, respond, runtime: Runtime) -> None:
    ack()
    if (decoded := _decode(body, action.get("value", ""))) is not None:
        user_id, channel_id, item_id = decoded
        outcome = flows.reopen(runtime, item_id=item_id, user_id=user_id)
        _say(runtime, respond, user_id, channel_id, outcome, outcome.result and change_reply("reopen", outcome.result))


def unclaim(body: dict, value: str, respond, runtime: Runtime) -> None:
    """From the overflow menu: the value carries the version the message showed ('unclaim:42@7')."""
    try:
        value, shown_version = split_version(value)
    except ValueError:
        return
    if (decoded := _decode(body, value)) is not None:
        user_id, channel_id, item_id = decoded
        outcome = flows.unclaim(runtime, item_id=item_id, user_id=user_id, shown_version=shown_version)
        _say(runtime, respond, user_id, channel_id, outcome, outcome.result and change_reply("unclaim", outcome.result))


def open_resolve(ack: Ack, body: dict, action: dict, client, respond, runtime: Runtime) -> None:
    ack()
    decoded = _decode(body, action.get("value", ""))
    if decoded is None or _refused(runtime, "resolve", decoded, respond):
        return
    user_id, channel_id, item_id = decoded
    with runtime.session() as session:
        summary = followups.item_summary(session, item_id)
    if summary is None:
        tell_user(client, user_id=user_id, channel_id=channel_id, text="This item no longer exists.", respond=respond)
        return
    client.views_open(trigger_id=body["trigger_id"], view=blocks.resolve_modal(item_id, summary=summary))


def push_follow_up(ack: Ack, body: dict, action: dict, respond, client, runtime: Runtime) -> None:
    ack()
    if (decoded := _decode(body, action.get("value", ""))) is None:
        return
    user_id, channel_id, item_id = decoded
    day = next_workday(runtime.now(), runtime.config, runtime.config.timezone_of(user_id))
    outcome = flows.push_follow_up(runtime, item_id=item_id, user_id=user_id, on=day)
    if outcome.refusal:
        tell_user(runtime.client, user_id=user_id, channel_id=channel_id, text=outcome.refusal, respond=respond)
        return
    text = change_reply("move the follow-up date of", outcome.result) or f"📅 Pushed to {day:%a %d %b}."
    answer(respond, client, user_id=user_id, text=text, replace_original=True)


def pick_follow_up(ack: Ack, body: dict, action: dict, client, respond, runtime: Runtime) -> None:
    ack()
    decoded = _decode(body, action.get("value", ""))
    if decoded is not None and not _refused(runtime, "follow_up", decoded, respond):
        client.views_open(trigger_id=body["trigger_id"], view=blocks.follow_up_modal(decoded[2]))


def open_reply(ack: Ack, body: dict, action: dict, client, respond, runtime: Runtime) -> None:
    ack()
    if (decoded := _decode(body, action.get("value", ""))) is None:
        return
    user_id, channel_id, item_id = decoded
    reason, route = flows.reply_route_for(runtime, item_id=item_id, user_id=user_id)
    if reason is None and route is None:
        reason = "This customer cannot be reached from here (no ticket, conversation or e-mail)."
    if reason:
        tell_user(client, user_id=user_id, channel_id=channel_id, respond=respond, text=reason)
        return
    client.views_open(trigger_id=body["trigger_id"], view=blocks.reply_modal(item_id, via=route.via, to=route.to))


def open_source(ack: Ack) -> None:
    ack()  # a link button: Slack opens the URL itself, but still expects an ack


def overflow(ack: Ack, body: dict, action: dict, client, respond, runtime: Runtime) -> None:
    ack()
    value = (action.get("selected_option") or {}).get("value", "")
    choice = value.partition(":")[0]
    if choice == OverflowChoice.UNCLAIM:
        unclaim(body, value, respond, runtime)
        return
    decoded = _decode(body, value)
    if decoded is not None and choice == OverflowChoice.LINK_ISSUE:
        user_id, channel_id, item_id = decoded
        open_link_modal(runtime, client, trigger_id=body["trigger_id"], item_id=item_id, user_id=user_id,
                        channel_id=channel_id, respond=respond)
        return
    if decoded is None or choice not in MODALS:
        return
    permission, modal = MODALS[choice]
    if not _refused(runtime, permission, decoded, respond):
        client.views_open(trigger_id=body["trigger_id"], view=modal(decoded[2]))


def register(app: App) -> None:
    app.action(ActionId.CLAIM.value)(claim)
    app.action(ActionId.REOPEN.value)(reopen)
    app.action(ActionId.RESOLVE.value)(open_resolve)
    app.action(ActionId.HOME_RESOLVE.value)(open_resolve)
    app.action(ActionId.FOLLOW_UP_PUSH.value)(push_follow_up)
    app.action(ActionId.FOLLOW_UP_PICK.value)(pick_follow_up)
    app.action(ActionId.REPLY.value)(open_reply)
    app.action(ActionId.OPEN_SOURCE.value)(open_source)
    app.action(ActionId.MORE.value)(overflow)
