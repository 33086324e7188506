"""The product loop in Slack: the "Link to issue…" modal, and Send / Send to all / Skip on a shipped
issue's message. Ack, decode, one domain call, tell the user."""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.followups.permissions import check_permission, permission_refusal
from bot.followups.service import item_channel, item_summary
from bot.product import flows
from bot.product import service as product
from bot.product.adapters import parse_ref
from bot.product.trackers import RefError
from bot.runtime import Runtime
from bot.slack import product_blocks
from bot.slack.ids import ActionId, InputId, ViewId, parse_item_value
from handlers.slack_reply import answer, tell_user
from handlers.view_state import input_state, metadata_id, selected_value
from models import Item

MAX_ERROR_CHARS = 500


def open_link_modal(runtime: Runtime, client: WebClient, *, trigger_id: str, item_id: int, user_id: str,
                    channel_id: str | None, respond) -> None:
    """From the item's ⋯ menu (handlers/slack_actions.py): who may add notes may link."""
    reason = permission_refusal(runtime.session, "note", item_id=item_id, user_id=user_id, config=runtime.config,
                                directory=runtime.directory)
    if reason:
        tell_user(client, user_id=user_id, channel_id=channel_id, text=reason, respond=respond)
        return
    with runtime.session() as session:
        item = session.get(Item, item_id)
        if item is None:
            summary = None
        else:
            summary = item_summary(session, item_id)
            title, body = product.draft_issue(session, item)
    if summary is None:
        tell_user(client, user_id=user_id, channel_id=channel_id, text="This item no longer exists.", respond=respond)
        return
    trackers = [(t.name, f"{t.name} ({t.repo})") for t in runtime.config.trackers]
    client.views_open(trigger_id=trigger_id, view=product_blocks.link_modal(item_id, summary=summary, title=title,
                                                                           body=body, trackers=trackers))


def register(app: App, runtime: Runtime) -> None:
    @app.view(ViewId.LINK_ISSUE.value)
    def link(ack: Ack, body: dict, view: dict) -> None:
        ref_text = (input_state(view, InputId.ISSUE_REF).get("value") or "").strip()
        title = (input_state(view, InputId.ISSUE_TITLE).get("value") or "").strip()
        description = input_state(view, InputId.ISSUE_BODY).get("value") or ""
        config = runtime.config
        ref, tracker = None, None
        if ref_text:
            try:
                ref = parse_ref(ref_text, config)
            except RefError as exc:
                ack(response_action="errors", errors={InputId.ISSUE_REF.value: str(exc)[:MAX_ERROR_CHARS]})
                return
        elif not title:
            ack(response_action="errors", errors={
                InputId.ISSUE_REF.value: "Paste an existing issue, or give the new issue a title below."})
            return
        else:
            name = selected_value(view, InputId.TRACKER) or (config.trackers[0].name if config.trackers else "")
            tracker = config.tracker(name)
            if tracker is None:
                ack(response_action="errors", errors={InputId.ISSUE_TITLE.value: "No issue tracker is configured."})
                return
        item_id, user_id = metadata_id(view), body["user"]["id"]
        if item_id is None:
            ack()
            return
        reason = permission_refusal(runtime.session, "note", item_id=item_id, user_id=user_id, config=config,
                                    directory=runtime.directory, plain=True)
        answer_in = InputId.ISSUE_REF.value if ref else InputId.ISSUE_TITLE.value
        if reason:
            ack(response_action="errors", errors={answer_in: reason[:MAX_ERROR_CHARS]})
            return
        with runtime.session() as session:
            reason = check_permission(session, "note", item_id=item_id, user_id=user_id, config=config,
                                      directory=runtime.directory, plain=True).reason
            if reason is None:
                now = runtime.now()
                result = (product.link_existing(session, item_id=item_id, ref=ref, user_id=user_id, config=config,
                                                now=now) if ref else
                          product.link_new(session, item_id=item_id, tracker=tracker, title=title,
                                           body=description, user_id=user_id, now=now))
                reason = result.reason
            if reason:
                session.rollback()
                ack(response_action="errors", errors={answer_in: reason[:MAX_ERROR_CHARS]})
                return
            ack()
            channel = item_channel(session, item_id)
        runtime.queued()
        tell_user(runtime.client, user_id=user_id, channel_id=channel,
                  text="🔗 Linked." if ref else "🔗 Linked; the issue is being created (its link follows in the thread).")

    def tell(body: dict, action: dict, respond, client: WebClient, *, skip: bool = False) -> None:
        try:
            prefix, record_id = parse_item_value(action.get("value", ""))
        except ValueError:
            return
        user_id, channel_id = body["user"]["id"], (body.get("channel") or {}).get("id")
        with runtime.session() as session:
            targets = flows.ship_targets(session, prefix=prefix, record_id=record_id, user_id=user_id,
                                         channel_id=channel_id)
        if targets is None:
            return
        # Telling a customer is replying to them: asked per item, outside the transaction, then decided in it.
        refusals = [reason for item_id in targets.items.values() if (reason := permission_refusal(
            runtime.session, "reply", item_id=item_id, user_id=user_id, config=runtime.config,
            directory=runtime.directory))]
        with runtime.session() as session:
            allowed = [link_id for link_id, item_id in targets.items.items() if not check_permission(
                session, "reply", item_id=item_id, user_id=user_id, config=runtime.config,
                directory=runtime.directory).reason]
            result, text, blocks = flows.apply_ship_choice(session, targets=targets, link_ids=allowed, skip=skip,
                                                           user_id=user_id, config=runtime.config, now=runtime.now())
        runtime.queued()
        if result.told:
            answer(respond, client, user_id=user_id, text=text, blocks=blocks, replace_original=True)
        lines = refusals[:1] + result.refused or ([] if result.told else ["Nothing to do: already told or skipped."])
        if lines:
            tell_user(client, user_id=user_id, channel_id=channel_id, respond=respond, text="\n".join(lines))

    @app.action(ActionId.SHIP_SEND.value)
    def send(ack: Ack, body: dict, action: dict, respond, client) -> None:
        ack()
        tell(body, action, respond, client)

    @app.action(ActionId.SHIP_SEND_ALL.value)
    def send_all(ack: Ack, body: dict, action: dict, respond, client) -> None:
        ack()
        tell(body, action, respond, client)

    @app.action(ActionId.SHIP_SKIP.value)
    def skip(ack: Ack, body: dict, action: dict, respond, client) -> None:
        ack()
        tell(body, action, respond, client, skip=True)
