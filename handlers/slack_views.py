"""Modal submissions: validate the inputs, one flow (bot/followups/flows.py), then ack: every refusal the
person can act on is shown in the modal under its field (`response_action: errors`), so nothing they
typed is lost. `runtime` comes from the request's context (handlers/__init__.py)."""

from __future__ import annotations

from datetime import date

from slack_bolt import Ack, App

from bot.followups import flows
from bot.runtime import Runtime
from bot.slack.ids import OUTCOMES, SNOOZE_CHOICES_HOURS, InputId, ViewId
from bot.slack.replies import change_reply
from handlers.slack_events import refresh_home
from handlers.slack_reply import tell_user
from handlers.view_state import input_state, metadata_id, selected_value

# A refusal shown under a modal's input: long enough for "only … may", short enough to read there.
MAX_ERROR_CHARS = 500


def _answer(ack: Ack, runtime: Runtime, body: dict, outcome: flows.Outcome | None, *, field: InputId,
            action_name: str | None) -> None:
    """A refusal under the field (the modal stays open); otherwise close it, then say what happened
    (`action_name`: "Could not <action> this item: …"; None: the flow's words as they are)."""
    if outcome is not None and outcome.error:
        ack(response_action="errors", errors={field.value: outcome.error[:MAX_ERROR_CHARS]})
        return
    ack()
    if outcome is None or outcome.result is None:
        return
    text = change_reply(action_name, outcome.result) if action_name is not None else outcome.result.reason
    if text:
        tell_user(runtime.client, user_id=body["user"]["id"], channel_id=outcome.channel, text=text)
    for home in outcome.refresh_homes:
        refresh_home(runtime, home)


def _invalid(ack: Ack, field: InputId, message: str) -> None:
    ack(response_action="errors", errors={field.value: message})


def resolve(ack: Ack, body: dict, view: dict, runtime: Runtime) -> None:
    outcome_choice = selected_value(view, InputId.OUTCOME)
    if outcome_choice not in OUTCOMES:
        return _invalid(ack, InputId.OUTCOME, "Choose an outcome.")
    item_id = metadata_id(view)
    outcome = None if item_id is None else flows.resolve(
        runtime, item_id=item_id, user_id=body["user"]["id"], outcome=outcome_choice,
        note=input_state(view, InputId.NOTE).get("value"))
    _answer(ack, runtime, body, outcome, field=InputId.OUTCOME, action_name="resolve")


def reply(ack: Ack, body: dict, view: dict, runtime: Runtime) -> None:
    text = (input_state(view, InputId.REPLY_TEXT).get("value") or "").strip()
    if not text:
        return _invalid(ack, InputId.REPLY_TEXT, "Write your reply.")
    item_id = metadata_id(view)
    outcome = None if item_id is None else flows.reply(runtime, item_id=item_id, user_id=body["user"]["id"], text=text)
    _answer(ack, runtime, body, outcome, field=InputId.REPLY_TEXT, action_name=None)


def note(ack: Ack, body: dict, view: dict, runtime: Runtime) -> None:
    text = (input_state(view, InputId.NOTE).get("value") or "").strip()
    if not text:
        return _invalid(ack, InputId.NOTE, "Write a note.")
    item_id = metadata_id(view)
    outcome = None if item_id is None else flows.note(runtime, item_id=item_id, user_id=body["user"]["id"], text=text)
    _answer(ack, runtime, body, outcome, field=InputId.NOTE, action_name="add a note to")


def reassign(ack: Ack, body: dict, view: dict, runtime: Runtime) -> None:
    assignee = input_state(view, InputId.ASSIGNEE).get("selected_user")
    if not assignee:
        return _invalid(ack, InputId.ASSIGNEE, "Choose a person.")
    item_id = metadata_id(view)
    outcome = None if item_id is None else flows.reassign(runtime, item_id=item_id, user_id=body["user"]["id"],
                                                          assignee=assignee)
    _answer(ack, runtime, body, outcome, field=InputId.ASSIGNEE, action_name="reassign")


def follow_up(ack: Ack, body: dict, view: dict, runtime: Runtime) -> None:
    try:
        on = date.fromisoformat(input_state(view, InputId.FOLLOW_UP_ON).get("selected_date") or "")
    except ValueError:
        return _invalid(ack, InputId.FOLLOW_UP_ON, "Pick a date.")
    item_id = metadata_id(view)
    outcome = None if item_id is None else flows.set_follow_up(runtime, item_id=item_id, user_id=body["user"]["id"],
                                                               on=on)
    _answer(ack, runtime, body, outcome, field=InputId.FOLLOW_UP_ON, action_name="set a follow-up date on")


def snooze(ack: Ack, body: dict, view: dict, runtime: Runtime) -> None:
    hours = SNOOZE_CHOICES_HOURS.get(selected_value(view, InputId.SNOOZE_FOR) or "")
    if not hours:
        return _invalid(ack, InputId.SNOOZE_FOR, "Choose how long.")
    item_id = metadata_id(view)
    outcome = None if item_id is None else flows.snooze(runtime, item_id=item_id, user_id=body["user"]["id"],
                                                        hours=hours)
    _answer(ack, runtime, body, outcome, field=InputId.SNOOZE_FOR, action_name="snooze")


def register(app: App) -> None:
    app.view(ViewId.RESOLVE.value)(resolve)
    app.view(ViewId.REPLY.value)(reply)
    app.view(ViewId.NOTE.value)(note)
    app.view(ViewId.REASSIGN.value)(reassign)
    app.view(ViewId.FOLLOW_UP.value)(follow_up)
    app.view(ViewId.SNOOZE.value)(snooze)
