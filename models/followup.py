"""The follow-up on an item (its state machine) and the audit trail of every change to it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime

OPEN = "open"
CLAIMED = "claimed"
RESOLVED = "resolved"


class FollowUp(Base):
    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_status_claimed_by", "status", "claimed_by"),
        # Digests count what was claimed / resolved in a day: a range on these, whatever the history.
        Index("ix_follow_ups_claimed_at", "claimed_at"),
        Index("ix_follow_ups_resolved_at", "resolved_at"),
        # Who ever claimed, read by index (the dashboard's owner list), not by a scan of every follow-up.
        Index("ix_follow_ups_claimed_by", "claimed_by"),
        # What waits for someone (bot.followups.queries.unresolved), found without reading every open promoter.
        Index("ix_follow_ups_status_needs_follow_up", "status", "needs_follow_up"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    # False: its route (by default: a promoter) needs nobody to claim it, so an open one is in no
    # unclaimed queue (bot.followups.queries). Claiming, reassigning or reopening it sets it true.
    needs_follow_up: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Bumped by every compare-and-set update.
    version: Mapped[int] = mapped_column(Integer, default=1)


class FollowUpEvent(Base):
    """Who did what, from which state to which, when. Append-only."""

    __tablename__ = "follow_up_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
