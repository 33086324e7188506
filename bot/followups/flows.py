"""What a person's action on an item does, one function per action, each in the same order:

1. permission: asked first outside any transaction (a Slack membership look-up must not hold one),
   then decided again inside the transaction that changes the item;
2. compare-and-set: the change's UPDATE requires the follow-up version that decision read, so a change
   committed in between (a reassignment under an unclaim) makes this one lose instead of acting on a
   state nobody authorised (bot/followups/service.py);
3. side effects, in the same transaction: audit event, outbox rows (message edit, thread note, the
   calls back to the source after a resolve);
4. after the commit: the worker is woken, and the caller is told what to say and which App Homes to
   publish again (`Outcome`).

Listeners (handlers/slack_actions.py, handlers/slack_views.py) decode the click or the modal, call one
flow and say what it returns. Flows never call Slack themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy.orm import Session

from bot.config import AppConfig
from bot.followups import service
from bot.followups.close_loop import ReplyRoute, queue_customer_reply, queue_resolution_callbacks, reply_route
from bot.followups.permissions import PermissionAction, check_permission, permission_refusal
from bot.followups.service import ChangeResult
from bot.slack.directory import SlackDirectory
from models import Item

NOT_REACHABLE = ("Not sent: this customer cannot be reached from here any more (no ticket, conversation or "
                 "valid e-mail address).")
REPLY_NOT_SENT = "Your reply was not sent: this customer cannot be reached from here any more."


class Deps(Protocol):
    """What a flow needs from the running app (bot/runtime.py's Runtime has all of it)."""

    config: AppConfig

    @property
    def directory(self) -> SlackDirectory: ...

    def session(self) -> AbstractContextManager[Session]: ...

    def now(self) -> datetime: ...

    def queued(self) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """What an action did, for the listener to say after the commit."""

    # Why the person may not do this (permission), or why the change was refused without storing
    # anything: said where they acted (an ephemeral, or under the modal's field).
    refusal: str | None = None
    result: ChangeResult | None = None
    channel: str | None = None  # the item's channel
    refresh_homes: tuple[str, ...] = ()  # App Homes to publish again

    @property
    def error(self) -> str | None:
        """A refusal to show under a modal's field: permission, or a change refused that wrote nothing."""
        if self.refusal:
            return self.refusal
        result = self.result
        if result is not None and not result.changed and result.reason and not result.told_in_slack:
            return result.reason
        return None


Change = Callable[[Session, int | None, datetime], ChangeResult]


def refusal(deps: Deps, action: PermissionAction, *, item_id: int, user_id: str, plain: bool = False) -> str | None:
    """Why `user_id` may not start `action` (open its modal), or None."""
    return permission_refusal(deps.session, action, item_id=item_id, user_id=user_id, config=deps.config,
                              directory=deps.directory, plain=plain)


def _run(deps: Deps, action: PermissionAction, *, item_id: int, user_id: str, change: Change, plain: bool,
         after: Callable[[Session, ChangeResult, datetime], None] | None = None) -> Outcome:
    """Permission → compare-and-set → side effects → commit, for one action."""
    reason = refusal(deps, action, item_id=item_id, user_id=user_id, plain=plain)
    if reason:
        return Outcome(refusal=reason)
    now = deps.now()
    with deps.session() as session:
        # Decided again in the transaction that changes it, on the state the change then requires.
        decision = check_permission(session, action, item_id=item_id, user_id=user_id, config=deps.config,
                                    directory=deps.directory, plain=plain)
        if decision.reason:
            return Outcome(refusal=decision.reason)
        result = change(session, decision.version, now)
        outcome = Outcome(result=result, channel=service.item_channel(session, item_id),
                          refresh_homes=(user_id,) if result.changed else ())
        if outcome.error:
            session.rollback()  # such a refusal wrote nothing; this makes sure of it
            return outcome
        if result.changed and after is not None:
            after(session, result, now)
    deps.queued()
    return outcome


def _version(shown: int | None, decided: int | None) -> int | None:
    """The version the change must find: the one the clicked message showed, else the one the decision read."""
    return decided if shown is None else shown


# -- buttons --------------------------------------------------------------------------------------
def claim(deps: Deps, *, item_id: int, user_id: str, shown_version: int | None = None) -> Outcome:
    return _run(deps, "claim", item_id=item_id, user_id=user_id, plain=False,
                change=lambda session, version, now: service.claim_followup(
                    session, item_id=item_id, user_id=user_id, now=now,
                    expected_version=_version(shown_version, version)))


def unclaim(deps: Deps, *, item_id: int, user_id: str, shown_version: int | None = None) -> Outcome:
    return _run(deps, "unclaim", item_id=item_id, user_id=user_id, plain=False,
                change=lambda session, version, now: service.unclaim_followup(
                    session, item_id=item_id, user_id=user_id, now=now,
                    expected_version=_version(shown_version, version)))


def reopen(deps: Deps, *, item_id: int, user_id: str, shown_version: int | None = None) -> Outcome:
    return _run(deps, "reopen", item_id=item_id, user_id=user_id, plain=False,
                change=lambda session, version, now: service.reopen_followup(
                    session, item_id=item_id, user_id=user_id, now=now,
                    expected_version=_version(shown_version, version)))


def push_follow_up(deps: Deps, *, item_id: int, user_id: str, on: date) -> Outcome:
    """The "push to the next workday" button: like the modal, but answered in an ephemeral."""
    return _run(deps, "follow_up", item_id=item_id, user_id=user_id, plain=False,
                change=lambda session, version, now: service.set_follow_up_date(
                    session, item_id=item_id, user_id=user_id, on=on, now=now, expected_version=version))


# -- modals ---------------------------------------------------------------------------------------
def resolve(deps: Deps, *, item_id: int, user_id: str, outcome: str, note: str | None) -> Outcome:
    """Resolve, and close the loop at the source (Zendesk note, resolved webhook) in the same transaction."""
    return _run(deps, "resolve", item_id=item_id, user_id=user_id, plain=True,
                change=lambda session, version, now: service.resolve_followup(
                    session, item_id=item_id, user_id=user_id, outcome=outcome, note=note, now=now,
                    expected_version=version),
                after=lambda session, _result, now: queue_resolution_callbacks(
                    session, item_id=item_id, config=deps.config, now=now))


def reassign(deps: Deps, *, item_id: int, user_id: str, assignee: str) -> Outcome:
    return _run(deps, "reassign", item_id=item_id, user_id=user_id, plain=True,
                change=lambda session, version, now: service.reassign_followup(
                    session, item_id=item_id, user_id=user_id, assignee=assignee, now=now,
                    expected_version=version))


def note(deps: Deps, *, item_id: int, user_id: str, text: str) -> Outcome:
    """A note changes no state: it needs the decision in its transaction, not a version."""
    return _run(deps, "note", item_id=item_id, user_id=user_id, plain=True,
                change=lambda session, _version, now: service.add_note(
                    session, item_id=item_id, user_id=user_id, text=text, now=now))


def set_follow_up(deps: Deps, *, item_id: int, user_id: str, on: date) -> Outcome:
    return _run(deps, "follow_up", item_id=item_id, user_id=user_id, plain=True,
                change=lambda session, version, now: service.set_follow_up_date(
                    session, item_id=item_id, user_id=user_id, on=on, now=now, expected_version=version))


def snooze(deps: Deps, *, item_id: int, user_id: str, hours: int) -> Outcome:
    return _run(deps, "snooze", item_id=item_id, user_id=user_id, plain=True,
                change=lambda session, version, now: service.snooze_followup(
                    session, item_id=item_id, user_id=user_id, hours=hours, now=now, expected_version=version))


def reply_route_for(deps: Deps, *, item_id: int, user_id: str) -> tuple[str | None, ReplyRoute | None]:
    """Opening the reply modal: (why not, None) or (None, how the reply would go; None if it cannot)."""
    reason = refusal(deps, "reply", item_id=item_id, user_id=user_id)
    if reason:
        return reason, None
    with deps.session() as session:
        item = session.get(Item, item_id)
        return None, reply_route(item, deps.config) if item else None


def reply(deps: Deps, *, item_id: int, user_id: str, text: str) -> Outcome:
    """A reply to the customer: permission and route decided in the transaction that queues it."""
    reason = refusal(deps, "reply", item_id=item_id, user_id=user_id, plain=True)
    if reason:
        return Outcome(refusal=reason)
    with deps.session() as session:
        reason = check_permission(session, "reply", item_id=item_id, user_id=user_id, config=deps.config,
                                  directory=deps.directory, plain=True).reason
        item = session.get(Item, item_id)
        if reason is None and (item is None or reply_route(item, deps.config) is None):
            reason = NOT_REACHABLE
        if reason:
            return Outcome(refusal=reason)
        route = queue_customer_reply(session, item_id=item_id, user_id=user_id, text=text, config=deps.config,
                                     now=deps.now())
        channel = service.item_channel(session, item_id)
    deps.queued()
    result = (ChangeResult("changed") if route is not None
              else ChangeResult("refused", reason=REPLY_NOT_SENT, told_in_slack=True))
    return Outcome(result=result, channel=channel)
