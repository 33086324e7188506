"""Short user-facing texts for ephemeral replies: why a click did nothing, in words a person reads."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.common.durations import duration
from bot.followups.service import ChangeResult
from bot.slack.mrkdwn import user_mention


def ago(then: datetime | None, now: datetime) -> str:
    """ "2 h 5 min ago" (bot.common.durations), "just now" under a minute; "" without a time."""
    if then is None:
        return ""
    return "just now" if now - then < timedelta(minutes=1) else f"{duration(now - then)} ago"


def claim_reply(result: ChangeResult, user_id: str, now: datetime) -> str | None:
    """None when the click did what the user wanted and the message itself shows it."""
    if result.outcome == "changed":
        return None
    if result.outcome == "not_found":
        return "This item no longer exists."
    if result.status == "resolved":
        return f"Already resolved by {user_mention(result.resolved_by)}."
    if result.claimed_by == user_id:
        return "You have already claimed this one."
    if result.claimed_by is None:  # still unclaimed, but it changed under the click: nothing was done
        return f"Could not claim this item: {result.reason or 'it changed meanwhile; please try again.'}"
    return f"Already claimed by {user_mention(result.claimed_by)} {ago(result.claimed_at, now)}."


def change_reply(action: str, result: ChangeResult) -> str | None:
    if result.outcome == "changed":
        return None
    if result.outcome == "unchanged" and not result.reason:
        return None
    return f"Could not {action} this item: {result.reason or 'nothing to change.'}"
