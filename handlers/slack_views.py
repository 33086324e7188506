"""Modal submissions: validate the inputs (errors shown in the modal), ack, one domain call."""

from __future__ import annotations

from datetime import date

from slack_bolt import Ack, App

from bot import followups
from bot.close_loop import queue_customer_reply, queue_resolution_callbacks
from bot.permissions import permission_refusal
from bot.runtime import Runtime
from bot.slack.ids import OUTCOMES, SNOOZE_CHOICES_HOURS, InputId, ViewId
from bot.slack.replies import change_reply
from handlers.slack_events import refresh_home
from handlers.slack_reply import tell_user
from handlers.view_state import input_state, metadata_id, selected_value


def register(app: App, runtime: Runtime) -> None:
    def submit(ack: Ack, body: dict, view: dict, action_name: str, change, errors: dict | None = None,
               **arguments) -> None:
        item_id = metadata_id(view)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        if item_id is None:
            return
        user_id = body["user"]["id"]
        permission = action_name if action_name in ("resolve", "reassign") else None
        reason = permission and permission_refusal(runtime.session, permission, item_id=item_id, user_id=user_id,
                                                   config=runtime.config, directory=runtime.directory)
        if reason:
            with runtime.session() as session:
                channel = followups.item_channel(session, item_id)
            tell_user(runtime.client, user_id=user_id, channel_id=channel, text=reason)
            return
        with runtime.session() as session:
            result = change(session, item_id=item_id, user_id=user_id, now=runtime.now(), **arguments)
            if result.changed and change is followups.resolve_followup:
                # Close the loop at the source too (Zendesk note, resolved webhook), in the same transaction.
                queue_resolution_callbacks(session, item_id=item_id, config=runtime.config, now=runtime.now())
            channel = followups.item_channel(session, item_id)
        runtime.queued()
        text = change_reply(action_name, result)
        if text:
            tell_user(runtime.client, user_id=user_id, channel_id=channel, text=text)
        if result.changed:
            refresh_home(runtime, user_id)

    @app.view(ViewId.RESOLVE.value)
    def resolve(ack: Ack, body: dict, view: dict) -> None:
        outcome = selected_value(view, InputId.OUTCOME)
        errors = None if outcome in OUTCOMES else {InputId.OUTCOME.value: "Choose an outcome."}
        submit(ack, body, view, "resolve", followups.resolve_followup, errors, outcome=outcome or "",
               note=input_state(view, InputId.NOTE).get("value"))

    @app.view(ViewId.REPLY.value)
    def reply(ack: Ack, body: dict, view: dict) -> None:
        text = (input_state(view, InputId.REPLY_TEXT).get("value") or "").strip()
        if not text:
            ack(response_action="errors", errors={InputId.REPLY_TEXT.value: "Write your reply."})
            return
        item_id = metadata_id(view)
        ack()
        if item_id is None:
            return
        user_id = body["user"]["id"]
        with runtime.session() as session:
            route = queue_customer_reply(session, item_id=item_id, user_id=user_id, text=text,
                                         config=runtime.config, now=runtime.now())
            channel = followups.item_channel(session, item_id)
        runtime.queued()
        if route is None:
            tell_user(runtime.client, user_id=user_id, channel_id=channel,
                      text="Your reply was not sent: this customer cannot be reached from here any more.")

    @app.view(ViewId.NOTE.value)
    def note(ack: Ack, body: dict, view: dict) -> None:
        text = (input_state(view, InputId.NOTE).get("value") or "").strip()
        errors = None if text else {InputId.NOTE.value: "Write a note."}
        submit(ack, body, view, "add a note to", followups.add_note, errors, text=text)

    @app.view(ViewId.REASSIGN.value)
    def reassign(ack: Ack, body: dict, view: dict) -> None:
        assignee = input_state(view, InputId.ASSIGNEE).get("selected_user")
        errors = None if assignee else {InputId.ASSIGNEE.value: "Choose a person."}
        submit(ack, body, view, "reassign", followups.reassign_followup, errors, assignee=assignee or "")

    @app.view(ViewId.FOLLOW_UP.value)
    def follow_up(ack: Ack, body: dict, view: dict) -> None:
        raw = input_state(view, InputId.FOLLOW_UP_ON).get("selected_date") or ""
        try:
            on = date.fromisoformat(raw)
        except ValueError:
            on = None
        errors = None if on else {InputId.FOLLOW_UP_ON.value: "Pick a date."}
        submit(ack, body, view, "set a follow-up date on", followups.set_follow_up_date, errors, on=on)

    @app.view(ViewId.SNOOZE.value)
    def snooze(ack: Ack, body: dict, view: dict) -> None:
        hours = SNOOZE_CHOICES_HOURS.get(selected_value(view, InputId.SNOOZE_FOR) or "")
        errors = None if hours else {InputId.SNOOZE_FOR.value: "Choose how long."}
        submit(ack, body, view, "snooze", followups.snooze_followup, errors, hours=hours or 0)
