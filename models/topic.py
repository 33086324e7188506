"""Topics discovered in a week's comments (bot/insights/topics.py): one run per (ISO week, scope), its
topics, and which items each topic holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime

ALL_TEAMS = "*"  # TopicRun.scope of the all-teams run (team names are slugs, so never "*")


class TopicRun(Base):
    """One computation for a week and a scope (a team's name, or ALL_TEAMS). Computing again replaces it."""

    __tablename__ = "topic_runs"
    __table_args__ = (UniqueConstraint("week", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(10))       # "2026-W48"
    scope: Mapped[str] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64))   # the week's days are local to it
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    analysed: Mapped[int] = mapped_column(Integer)      # comments grouped
    skipped: Mapped[int] = mapped_column(Integer)       # empty, very short or not English
    # Why there are no topics ("too few comments …"), or None.
    note: Mapped[str | None] = mapped_column(String(300))


class Topic(Base):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("topic_runs.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)          # 1 = the most comments
    label: Mapped[str] = mapped_column(String(200))     # top terms: "export · invoice · csv"
    terms: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    count: Mapped[int] = mapped_column(Integer)         # comments of the week in it, as computed
    previous_count: Mapped[int] = mapped_column(Integer)  # the week before's comments that fall in it
    # The member closest to the topic; `cxloop forget` moves it to the next closest (or NULL).
    quote_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"), index=True)


class TopicMember(Base):
    __tablename__ = "topic_members"

    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, index=True)
    closeness: Mapped[float] = mapped_column(Float)     # cosine between the comment and the topic
