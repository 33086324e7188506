"""The product loop: issues in a tracker (GitHub, …) and the items linked to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime

# TrackerIssue.state
CREATING = "creating"  # queued for creation in the tracker; key and url come with its answer
ISSUE_OPEN = "open"
ISSUE_CLOSED = "closed"
# TrackerIssue.state_reason when closed: what the tracker says (GitHub's state_reason).
COMPLETED = "completed"
NOT_PLANNED = "not_planned"


class TrackerIssue(Base):
    """One issue in one configured tracker; many items may link to it."""

    __tablename__ = "tracker_issues"
    # NULL keys (issues still being created) are distinct on SQLite and Postgres alike.
    __table_args__ = (UniqueConstraint("tracker", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracker: Mapped[str] = mapped_column(String(64))  # the tracker's name in cxloop.toml
    key: Mapped[str | None] = mapped_column(String(64))  # GitHub: the issue number
    url: Mapped[str | None] = mapped_column(String(1000))
    title: Mapped[str | None] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16), default=ISSUE_OPEN)
    state_reason: Mapped[str | None] = mapped_column(String(32))
    # The first close as completed: "shipped". Set once; a second close (or a redelivery) changes nothing.
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IssueLink(Base):
    """An item linked to an issue, and whether its customer has been told the issue shipped."""

    __tablename__ = "issue_links"
    __table_args__ = (UniqueConstraint("issue_id", "item_id"), Index("ix_issue_links_notify_to", "notify_to"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("tracker_issues.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    linked_by: Mapped[str] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the issue shipped: who was asked to tell the customer (a user id, or the team channel).
    notify_to: Mapped[str | None] = mapped_column(String(32))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The customer was told (the loop is closed for this item), or the person chose to skip.
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    told_by: Mapped[str | None] = mapped_column(String(32))
    skipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
