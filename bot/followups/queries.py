"""Which items are waiting, defined once for the digest, `/cxloop open|mine`, the App Home and the dashboard.

- An item is *unclaimed* while its follow-up is open (nobody holds it) and needs a follow-up;
  *unresolved* while it is unclaimed or claimed. "Open items" on the dashboard are the unresolved ones;
  every list headed "Unclaimed" holds the unclaimed ones.
- An open item that needs no follow-up (by default a promoter: thanked / handed off, see
  bot.intake.routing.needs_follow_up) is in neither: it waits for nobody. Whoever claims it takes it on.
- Lists are most urgent first (bot.followups.triage) and show their total.

Functions take `session` and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.followups.triage import triage_order
from models import FollowUp, Item, SlackMessage
from models.followup import CLAIMED, OPEN

UNRESOLVED = (OPEN, CLAIMED)


def of_teams(teams: Sequence[str]) -> ColumnElement[bool]:
    teams = list(teams)
    return Item.team == teams[0] if len(teams) == 1 else Item.team.in_(teams)


def unclaimed(teams: Sequence[str] | None = None) -> list[ColumnElement[bool]]:
    """WHERE clauses (FollowUp joined): the unclaimed items, of `teams` when given."""
    return [FollowUp.status == OPEN, FollowUp.needs_follow_up.is_(True),
            *([of_teams(teams)] if teams is not None else [])]


def unresolved(teams: Sequence[str] | None = None) -> list[ColumnElement[bool]]:
    """WHERE clauses (FollowUp joined): the items not resolved yet (unclaimed or claimed)."""
    waiting = or_(FollowUp.status == CLAIMED, and_(FollowUp.status == OPEN, FollowUp.needs_follow_up.is_(True)))
    return [waiting, *([of_teams(teams)] if teams is not None else [])]


def claimed_by(user_id: str, teams: Sequence[str] | None = None) -> list[ColumnElement[bool]]:
    """WHERE clauses (FollowUp joined): the items `user_id` holds now, of `teams` when given."""
    return [FollowUp.status == CLAIMED, FollowUp.claimed_by == user_id,
            *([of_teams(teams)] if teams is not None else [])]


def listed(*columns) -> Select:
    """SELECT `columns` FROM items JOIN follow_ups LEFT JOIN slack_messages: a list with its Slack links."""
    return (select(*columns).select_from(Item).join(FollowUp, FollowUp.item_id == Item.id)
            .outerjoin(SlackMessage, SlackMessage.item_id == Item.id))


def most_urgent(session: Session, statement: Select, limit: int) -> tuple[int, list]:
    """(how many rows `statement` has, the first `limit` of them, most urgent first)."""
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    if not total:
        return 0, []
    return total, session.execute(statement.order_by(*triage_order()).limit(limit)).all()
