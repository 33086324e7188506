"""Follow-up state changes: claim, unclaim, resolve, reopen, reassign, note, follow-up date, snooze.

Each change is one compare-and-set UPDATE (… WHERE status = 'open'), so the first of two
simultaneous clicks wins on every backend and the loser is told who won. Each writes an audit event
and queues the Slack side (message edit, thread note) in the outbox; the caller commits.

`expected_version` is the follow-up version the caller's permission check read, in the same
transaction: the UPDATE carries it in its WHERE, so a change committed between the check and the
write (a reassignment under an unclaim, say) makes this one lose cleanly instead of acting on a
state nobody authorised it for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.common.durations import hours_label
from bot.common.labels import item_label
from bot.delivery.outbox import ThreadReply, UpdateItem, enqueue
from bot.slack.blocks import thread_note
from bot.slack.ids import OUTCOMES
from bot.slack.mrkdwn import escaped_truncated, user_mention
from models import FollowUp, FollowUpEvent, Item
from models.followup import CLAIMED, OPEN, RESOLVED

MAX_NOTE_CHARS = 2900

Outcome = Literal["changed", "unchanged", "refused", "not_found"]


@dataclass(frozen=True)
class ChangeResult:
    """What happened, and enough to tell the user why when nothing did."""

    outcome: Outcome
    status: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    resolved_by: str | None = None
    reason: str | None = None
    # The reason names people (mrkdwn `<@U…>`): say it in Slack, not as a modal's plain-text error.
    # Set when the submission was answered for good (a lost resolve whose note was kept).
    told_in_slack: bool = False

    @property
    def changed(self) -> bool:
        return self.outcome == "changed"


def _follow_up(session: Session, item_id: int) -> FollowUp | None:
    return session.scalar(select(FollowUp).where(FollowUp.item_id == item_id))


def _current(session: Session, item_id: int, outcome: Outcome, reason: str | None = None) -> ChangeResult:
    follow_up = _follow_up(session, item_id)
    if follow_up is None:
        return ChangeResult("not_found", reason="This item no longer exists.")
    session.refresh(follow_up)
    return ChangeResult(outcome, status=follow_up.status, claimed_by=follow_up.claimed_by,
                        claimed_at=follow_up.claimed_at, resolved_by=follow_up.resolved_by, reason=reason)


def _compare_and_set(session: Session, item_id: int, *, from_statuses: tuple[str, ...],
                     values: dict[str, Any], now: datetime, extra_where=()) -> bool:
    result = session.execute(
        update(FollowUp)
        .where(FollowUp.item_id == item_id, FollowUp.status.in_(from_statuses), *extra_where)
        .values(**values, updated_at=now, version=FollowUp.version + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _same_version(expected_version: int | None) -> tuple:
    """The WHERE clause for 'still the version the permission check saw' (nothing when no check read one)."""
    return () if expected_version is None else (FollowUp.version == expected_version,)


def _changed_meanwhile(verb: str, status: str | None = None, claimed_by: str | None = None) -> ChangeResult:
    return ChangeResult("refused", status=status, claimed_by=claimed_by,
                        reason=f"It changed while you were {verb} it; nothing was changed, please look again.")


def _record(session: Session, item_id: int, *, actor: str, action: str, from_status: str | None,
            to_status: str | None, now: datetime, detail: dict[str, Any] | None = None,
            thread_text: str | None = None, quote: str | None = None, refresh_message: bool = True) -> None:
    follow_up = _follow_up(session, item_id)
    assert follow_up is not None
    session.add(FollowUpEvent(follow_up_id=follow_up.id, actor=actor, action=action, from_status=from_status,
                              to_status=to_status, detail=detail or {}, created_at=now))
    channel = session.scalar(select(Item.channel).where(Item.id == item_id))
    if refresh_message:
        enqueue(session, UpdateItem(reason=action), channel=channel, item_id=item_id, now=now)
    if thread_text:
        text, blocks = thread_note(thread_text, quote)
        enqueue(session, ThreadReply(text=text, blocks=blocks), channel=channel, item_id=item_id, now=now)


def claim_followup(session: Session, *, item_id: int, user_id: str, now: datetime,
                   expected_version: int | None = None) -> ChangeResult:
    # Claiming (like reassigning or reopening) an item that needed no follow-up takes it on: from here
    # it is an ordinary item, and unclaiming it puts it in the unclaimed queue.
    if _compare_and_set(session, item_id, from_statuses=(OPEN,), now=now,
                        values={"status": CLAIMED, "claimed_by": user_id, "claimed_at": now, "needs_follow_up": True},
                        extra_where=_same_version(expected_version)):
        _record(session, item_id, actor=user_id, action="claim", from_status=OPEN, to_status=CLAIMED, now=now,
                thread_text=f"🙋 {user_mention(user_id)} claimed this.")
        return ChangeResult("changed", status=CLAIMED, claimed_by=user_id, claimed_at=now)
    current = _current(session, item_id, "unchanged")
    if current.outcome == "not_found" or current.claimed_by == user_id:
        return current
    if current.status == OPEN:  # still open, but not the version the permission check saw
        return _changed_meanwhile("claiming", status=OPEN)
    return ChangeResult("refused", status=current.status, claimed_by=current.claimed_by,
                        claimed_at=current.claimed_at, resolved_by=current.resolved_by)


def unclaim_followup(session: Session, *, item_id: int, user_id: str, now: datetime,
                     expected_version: int | None = None) -> ChangeResult:
    """Open the item again. The UPDATE requires the claim read here (and the version the permission
    check saw): giving up your own claim and taking someone else's off them are different permissions,
    so a reassignment committed in between makes this unclaim lose instead of removing the new claim."""
    before = _follow_up(session, item_id)
    if before is None:
        return ChangeResult("not_found", reason="This item no longer exists.")
    if before.status != CLAIMED:
        return ChangeResult("unchanged", status=before.status, claimed_by=before.claimed_by,
                            resolved_by=before.resolved_by, reason="It is not claimed.")
    holder = before.claimed_by
    if (expected_version is None or before.version == expected_version) and _compare_and_set(
            session, item_id, from_statuses=(CLAIMED,), now=now,
            values={"status": OPEN, "claimed_by": None, "claimed_at": None},
            extra_where=(FollowUp.claimed_by == holder, FollowUp.version == before.version)):
        did = "unclaimed this" if holder == user_id else f"took {user_mention(holder)}'s claim off this"
        _record(session, item_id, actor=user_id, action="unclaim", from_status=CLAIMED, to_status=OPEN, now=now,
                detail={"from": holder}, thread_text=f"↩️ {user_mention(user_id)} {did}; it is open again.")
        return ChangeResult("changed", status=OPEN)
    current = _current(session, item_id, "unchanged", reason="It is not claimed.")
    if current.outcome == "not_found" or current.status != CLAIMED:
        return current
    if current.claimed_by == user_id:  # still yours, but not the version the permission check saw
        return _changed_meanwhile("unclaiming", status=CLAIMED, claimed_by=user_id)
    return ChangeResult("refused", status=CLAIMED, claimed_by=current.claimed_by, claimed_at=current.claimed_at,
                        reason=f"It changed while you were unclaiming it: {user_mention(current.claimed_by)} "
                               "has it now, and keeps it; nothing was changed.")


def resolve_followup(session: Session, *, item_id: int, user_id: str, outcome: str, note: str | None,
                     now: datetime, expected_version: int | None = None) -> ChangeResult:
    if outcome not in OUTCOMES:
        return ChangeResult("refused", reason=f"Unknown outcome {outcome[:40]!r}.")
    note = (note or "").strip()[:MAX_NOTE_CHARS] or None
    before = _follow_up(session, item_id)
    if before is None:
        return ChangeResult("not_found", reason="This item no longer exists.")
    from_status = before.status
    # Resolving an unclaimed item claims it for the resolver, in the same UPDATE.
    values = {"status": RESOLVED, "resolved_by": user_id, "resolved_at": now, "outcome": outcome,
              "resolution_note": note,
              "claimed_by": before.claimed_by or user_id, "claimed_at": before.claimed_at or now}
    if _compare_and_set(session, item_id, from_statuses=(from_status,) if from_status != RESOLVED else (),
                        values=values, now=now, extra_where=(FollowUp.version == before.version,
                                                             *_same_version(expected_version))):
        _record(session, item_id, actor=user_id, action="resolve", from_status=from_status, to_status=RESOLVED,
                now=now, detail={"outcome": outcome, "note": note}, quote=note,
                thread_text=f"✅ {user_mention(user_id)} resolved this — {OUTCOMES[outcome]}")
        return ChangeResult("changed", status=RESOLVED, resolved_by=user_id)
    current = _current(session, item_id, "refused")
    if current.status == RESOLVED and current.resolved_by != user_id:
        # Lost the race: what this person typed is not thrown away, it becomes a note on the item.
        winner = user_mention(current.resolved_by)
        if note:
            _record(session, item_id, actor=user_id, action="note", from_status=RESOLVED, to_status=RESOLVED,
                    now=now, detail={"note": note, "outcome": outcome, "resolved_first_by": current.resolved_by},
                    thread_text=f"📝 {user_mention(user_id)} added a note (their resolution — "
                                f"{OUTCOMES[outcome]} — came after {winner}'s):",
                    quote=note, refresh_message=False)
        kept = "your note was kept as a note." if note else "nothing was changed."
        return ChangeResult("refused", status=RESOLVED, claimed_by=current.claimed_by,
                            resolved_by=current.resolved_by, told_in_slack=True,
                            reason=f"{winner} resolved it first; {kept}")
    if current.status == RESOLVED:
        return ChangeResult("unchanged", status=RESOLVED, claimed_by=current.claimed_by,
                            resolved_by=current.resolved_by, reason="It is already resolved.")
    return ChangeResult("refused", status=current.status, claimed_by=current.claimed_by,
                        reason="It changed while you were resolving it; please try again.")


def reopen_followup(session: Session, *, item_id: int, user_id: str, now: datetime,
                    expected_version: int | None = None) -> ChangeResult:
    if _compare_and_set(session, item_id, from_statuses=(RESOLVED,), now=now,
                        values={"status": OPEN, "claimed_by": None, "claimed_at": None, "resolved_by": None,
                                "resolved_at": None, "outcome": None, "resolution_note": None,
                                "needs_follow_up": True},
                        extra_where=_same_version(expected_version)):
        _record(session, item_id, actor=user_id, action="reopen", from_status=RESOLVED, to_status=OPEN, now=now,
                thread_text=f"🔁 {user_mention(user_id)} reopened this.")
        return ChangeResult("changed", status=OPEN)
    current = _current(session, item_id, "unchanged", reason="It is not resolved.")
    if current.status == RESOLVED:  # still resolved, but not the version the permission check saw
        return _changed_meanwhile("reopening", status=RESOLVED)
    return current


def reassign_followup(session: Session, *, item_id: int, user_id: str, assignee: str, now: datetime,
                      expected_version: int | None = None) -> ChangeResult:
    before = _follow_up(session, item_id)
    if before is None:
        return ChangeResult("not_found", reason="This item no longer exists.")
    if before.status == RESOLVED:
        return ChangeResult("refused", status=RESOLVED, reason="It is resolved; reopen it first.")
    if before.claimed_by == assignee:
        return ChangeResult("unchanged", status=before.status, claimed_by=assignee)
    if _compare_and_set(session, item_id, from_statuses=(OPEN, CLAIMED), now=now,
                        values={"status": CLAIMED, "claimed_by": assignee, "claimed_at": now, "needs_follow_up": True},
                        extra_where=(FollowUp.version == before.version, *_same_version(expected_version))):
        _record(session, item_id, actor=user_id, action="reassign", from_status=before.status, to_status=CLAIMED,
                now=now, detail={"from": before.claimed_by, "to": assignee},
                thread_text=f"👉 {user_mention(user_id)} assigned this to {user_mention(assignee)}.")
        return ChangeResult("changed", status=CLAIMED, claimed_by=assignee, claimed_at=now)
    return ChangeResult("refused", reason="It changed while you were reassigning it; please try again.")


def add_note(session: Session, *, item_id: int, user_id: str, text: str, now: datetime) -> ChangeResult:
    text = (text or "").strip()[:MAX_NOTE_CHARS]
    follow_up = _follow_up(session, item_id)
    if follow_up is None:
        return ChangeResult("not_found", reason="This item no longer exists.")
    if not text:
        return ChangeResult("refused", reason="The note is empty.")
    _record(session, item_id, actor=user_id, action="note", from_status=follow_up.status,
            to_status=follow_up.status, now=now, detail={"note": text},
            thread_text=f"📝 {user_mention(user_id)} added a note:", quote=text, refresh_message=False)
    return ChangeResult("changed", status=follow_up.status)


def set_follow_up_date(session: Session, *, item_id: int, user_id: str, on: date, now: datetime,
                       expected_version: int | None = None) -> ChangeResult:
    follow_up = _follow_up(session, item_id)
    if follow_up is None:
        return ChangeResult("not_found", reason="This item no longer exists.")
    if on < now.date() - timedelta(days=1):
        return ChangeResult("refused", reason="Pick today or a later date.")
    if follow_up.follow_up_on == on:
        return ChangeResult("unchanged", status=follow_up.status)
    previous, status = follow_up.follow_up_on, follow_up.status
    if not _compare_and_set(session, item_id, from_statuses=(OPEN, CLAIMED, RESOLVED), now=now,
                            values={"follow_up_on": on},
                            extra_where=(FollowUp.version == follow_up.version, *_same_version(expected_version))):
        return _changed_meanwhile("setting its follow-up date on", status=status)
    _record(session, item_id, actor=user_id, action="follow_up_on", from_status=status,
            to_status=status, now=now,
            detail={"from": previous.isoformat() if previous else None, "to": on.isoformat()},
            thread_text=f"📅 {user_mention(user_id)} will follow up on {on.isoformat()}.")
    return ChangeResult("changed", status=status)


def snooze_followup(session: Session, *, item_id: int, user_id: str, hours: int, now: datetime,
                    expected_version: int | None = None) -> ChangeResult:
    follow_up = _follow_up(session, item_id)
    if follow_up is None:
        return ChangeResult("not_found", reason="This item no longer exists.")
    until, status = now + timedelta(hours=hours), follow_up.status
    if not _compare_and_set(session, item_id, from_statuses=(OPEN, CLAIMED, RESOLVED), now=now,
                            values={"snoozed_until": until},
                            extra_where=(FollowUp.version == follow_up.version, *_same_version(expected_version))):
        return _changed_meanwhile("snoozing", status=status)
    _record(session, item_id, actor=user_id, action="snooze", from_status=status,
            to_status=status, now=now, detail={"until": until.isoformat()},
            thread_text=f"😴 {user_mention(user_id)} snoozed reminders for {hours_label(hours)}.")
    return ChangeResult("changed", status=status)


def item_summary(session: Session, item_id: int) -> str | None:
    """One line for a modal: 'NPS 3 · Detractor — Jane Doe (Acme)' (bot.common.labels.item_label)."""
    item = session.get(Item, item_id)
    return None if item is None else item_label(item)


def item_channel(session: Session, item_id: int) -> str | None:
    return session.scalar(select(Item.channel).where(Item.id == item_id))


def log_reply(session: Session, *, item_id: int, user_id: str, text: str, via: str, now: datetime) -> None:
    """A reply sent to the customer: in the audit trail and the item's thread."""
    follow_up = _follow_up(session, item_id)
    _record(session, item_id, actor=user_id, action="reply", from_status=follow_up.status,
            to_status=follow_up.status, now=now, detail={"via": via, "text": text},
            thread_text=f"↩️ {user_mention(user_id)} replied to the customer via {escaped_truncated(via, 300)}:",
            quote=text,
            refresh_message=False)
