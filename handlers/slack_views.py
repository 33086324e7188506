"""Modal submissions: validate the inputs, one domain call, then ack: every refusal the person can act
on is shown in the modal under its field (`response_action: errors`), so nothing they typed is lost."""

from __future__ import annotations

from datetime import date

from slack_bolt import Ack, App

from bot.followups import service as followups
from bot.followups.close_loop import queue_customer_reply, queue_resolution_callbacks, reply_route
from bot.followups.permissions import PermissionAction, check_permission, permission_refusal
from bot.runtime import Runtime
from bot.slack.ids import OUTCOMES, SNOOZE_CHOICES_HOURS, InputId, ViewId
from bot.slack.replies import change_reply
from handlers.slack_events import refresh_home
from handlers.slack_reply import tell_user
from handlers.view_state import input_state, metadata_id, selected_value
from models import Item

# A refusal shown under a modal's input: long enough for "only … may", short enough to read there.
MAX_ERROR_CHARS = 500


def register(app: App, runtime: Runtime) -> None:
    def refusal(view: dict, body: dict, permission: PermissionAction) -> tuple[int | None, str | None]:
        """The modal's item, and why this user may not act on it now (re-checked at submission: the
        modal may have been opened before their permission was withdrawn, or never opened at all)."""
        item_id = metadata_id(view)
        if item_id is None:
            return None, None
        return item_id, permission_refusal(runtime.session, permission, item_id=item_id, user_id=body["user"]["id"],
                                           config=runtime.config, directory=runtime.directory, plain=True)

    def submit(ack: Ack, body: dict, view: dict, action_name: str, change, errors: dict | None = None, *,
               permission: PermissionAction, answer_in: InputId, versioned: bool = True, **arguments) -> None:
        """`versioned`: the change is a compare-and-set that must find the version the permission check
        read (a note changes no state, so it only needs the check in the same transaction)."""
        if errors:
            ack(response_action="errors", errors=errors)
            return
        item_id, reason = refusal(view, body, permission)  # outside the transaction: it may ask Slack
        if reason:
            # Inside the modal, so the person sees it where they clicked; nothing is stored.
            ack(response_action="errors", errors={answer_in.value: reason[:MAX_ERROR_CHARS]})
            return
        if item_id is None:
            ack()
            return
        user_id = body["user"]["id"]
        with runtime.session() as session:
            # Decided again in the transaction that changes it, on the state the change then requires.
            decision = check_permission(session, permission, item_id=item_id, user_id=user_id, config=runtime.config,
                                        directory=runtime.directory, plain=True)
            if decision.reason:
                ack(response_action="errors", errors={answer_in.value: decision.reason[:MAX_ERROR_CHARS]})
                return
            if versioned:
                arguments["expected_version"] = decision.version
            result = change(session, item_id=item_id, user_id=user_id, now=runtime.now(), **arguments)
            if not result.changed and result.reason and not result.told_in_slack:
                # A refusal the person can act on (a past date, a change under them): shown under the
                # field, the modal stays open with what they typed. Such a refusal wrote nothing.
                session.rollback()
                ack(response_action="errors", errors={answer_in.value: result.reason[:MAX_ERROR_CHARS]})
                return
            ack()
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
        submit(ack, body, view, "resolve", followups.resolve_followup, errors, permission="resolve",
               answer_in=InputId.OUTCOME, outcome=outcome or "", note=input_state(view, InputId.NOTE).get("value"))

    @app.view(ViewId.REPLY.value)
    def reply(ack: Ack, body: dict, view: dict) -> None:
        text = (input_state(view, InputId.REPLY_TEXT).get("value") or "").strip()
        if not text:
            ack(response_action="errors", errors={InputId.REPLY_TEXT.value: "Write your reply."})
            return
        item_id, reason = refusal(view, body, "reply")  # outside the transaction: it may ask Slack
        if reason:
            ack(response_action="errors", errors={InputId.REPLY_TEXT.value: reason[:MAX_ERROR_CHARS]})
            return
        if item_id is None:
            ack()
            return
        user_id = body["user"]["id"]
        with runtime.session() as session:
            # Decided again, and the route chosen, in the transaction that queues the reply.
            reason = check_permission(session, "reply", item_id=item_id, user_id=user_id, config=runtime.config,
                                      directory=runtime.directory, plain=True).reason
            item = session.get(Item, item_id)
            if reason is None and (item is None or reply_route(item, runtime.config) is None):
                reason = "Not sent: this customer cannot be reached from here any more (no ticket, " \
                         "conversation or valid e-mail address)."
            if reason:
                ack(response_action="errors", errors={InputId.REPLY_TEXT.value: reason[:MAX_ERROR_CHARS]})
                return
            ack()
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
        submit(ack, body, view, "add a note to", followups.add_note, errors, permission="note",
               answer_in=InputId.NOTE, versioned=False, text=text)

    @app.view(ViewId.REASSIGN.value)
    def reassign(ack: Ack, body: dict, view: dict) -> None:
        assignee = input_state(view, InputId.ASSIGNEE).get("selected_user")
        errors = None if assignee else {InputId.ASSIGNEE.value: "Choose a person."}
        submit(ack, body, view, "reassign", followups.reassign_followup, errors, permission="reassign",
               answer_in=InputId.ASSIGNEE, assignee=assignee or "")

    @app.view(ViewId.FOLLOW_UP.value)
    def follow_up(ack: Ack, body: dict, view: dict) -> None:
        raw = input_state(view, InputId.FOLLOW_UP_ON).get("selected_date") or ""
        try:
            on = date.fromisoformat(raw)
        except ValueError:
            on = None
        errors = None if on else {InputId.FOLLOW_UP_ON.value: "Pick a date."}
        submit(ack, body, view, "set a follow-up date on", followups.set_follow_up_date, errors,
               permission="follow_up", answer_in=InputId.FOLLOW_UP_ON, on=on)

    @app.view(ViewId.SNOOZE.value)
    def snooze(ack: Ack, body: dict, view: dict) -> None:
        hours = SNOOZE_CHOICES_HOURS.get(selected_value(view, InputId.SNOOZE_FOR) or "")
        errors = None if hours else {InputId.SNOOZE_FOR.value: "Choose how long."}
        submit(ack, body, view, "snooze", followups.snooze_followup, errors, permission="snooze",
               answer_in=InputId.SNOOZE_FOR, hours=hours or 0)
