"""Per-day counts of the items received (migration 20261206_0018) and of the waits to claim and resolve
(20261206_0019), kept by database triggers.

The dashboard reads a year from ~365 rows per (team, kind, category) instead of every item of the year.
Each row counts the items received on one UTC day, in total and per UTC hour (h00 … h23), so a range or
an ISO week that starts at a local midnight (a whole UTC hour in every whole-hour timezone) is summed
exactly. Triggers on `items` add and remove counts on insert, delete and on a change of the counted
columns, whoever writes (ingest, edits, imports, erasure, retention), so the rows always equal a GROUP BY
over the items. Nothing in bot/ writes these tables.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

HOURS = tuple(f"h{hour:02d}" for hour in range(24))
# An unscored item's category in the key (a primary key column cannot be NULL).
NO_CATEGORY_KEY = ""


class ItemRollup(Base):
    """Items received on `day` (UTC) of a team, kind and category: `items` in all, hNN in hour NN."""

    __tablename__ = "item_rollups"
    __table_args__ = (PrimaryKeyConstraint("day", "team", "kind", "category"),)

    day: Mapped[date] = mapped_column(Date)
    team: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    items: Mapped[int] = mapped_column(Integer, default=0)
    h00: Mapped[int] = mapped_column(Integer, default=0)
    h01: Mapped[int] = mapped_column(Integer, default=0)
    h02: Mapped[int] = mapped_column(Integer, default=0)
    h03: Mapped[int] = mapped_column(Integer, default=0)
    h04: Mapped[int] = mapped_column(Integer, default=0)
    h05: Mapped[int] = mapped_column(Integer, default=0)
    h06: Mapped[int] = mapped_column(Integer, default=0)
    h07: Mapped[int] = mapped_column(Integer, default=0)
    h08: Mapped[int] = mapped_column(Integer, default=0)
    h09: Mapped[int] = mapped_column(Integer, default=0)
    h10: Mapped[int] = mapped_column(Integer, default=0)
    h11: Mapped[int] = mapped_column(Integer, default=0)
    h12: Mapped[int] = mapped_column(Integer, default=0)
    h13: Mapped[int] = mapped_column(Integer, default=0)
    h14: Mapped[int] = mapped_column(Integer, default=0)
    h15: Mapped[int] = mapped_column(Integer, default=0)
    h16: Mapped[int] = mapped_column(Integer, default=0)
    h17: Mapped[int] = mapped_column(Integer, default=0)
    h18: Mapped[int] = mapped_column(Integer, default=0)
    h19: Mapped[int] = mapped_column(Integer, default=0)
    h20: Mapped[int] = mapped_column(Integer, default=0)
    h21: Mapped[int] = mapped_column(Integer, default=0)
    h22: Mapped[int] = mapped_column(Integer, default=0)
    h23: Mapped[int] = mapped_column(Integer, default=0)


class ThemeRollup(Base):
    """Items received on `day` (UTC) of a team whose stored theme list holds `theme` (counted once each)."""

    __tablename__ = "theme_rollups"
    __table_args__ = (PrimaryKeyConstraint("day", "team", "theme"),)

    day: Mapped[date] = mapped_column(Date)
    team: Mapped[str] = mapped_column(String(64))
    theme: Mapped[str] = mapped_column(Text)
    items: Mapped[int] = mapped_column(Integer, default=0)
    h00: Mapped[int] = mapped_column(Integer, default=0)
    h01: Mapped[int] = mapped_column(Integer, default=0)
    h02: Mapped[int] = mapped_column(Integer, default=0)
    h03: Mapped[int] = mapped_column(Integer, default=0)
    h04: Mapped[int] = mapped_column(Integer, default=0)
    h05: Mapped[int] = mapped_column(Integer, default=0)
    h06: Mapped[int] = mapped_column(Integer, default=0)
    h07: Mapped[int] = mapped_column(Integer, default=0)
    h08: Mapped[int] = mapped_column(Integer, default=0)
    h09: Mapped[int] = mapped_column(Integer, default=0)
    h10: Mapped[int] = mapped_column(Integer, default=0)
    h11: Mapped[int] = mapped_column(Integer, default=0)
    h12: Mapped[int] = mapped_column(Integer, default=0)
    h13: Mapped[int] = mapped_column(Integer, default=0)
    h14: Mapped[int] = mapped_column(Integer, default=0)
    h15: Mapped[int] = mapped_column(Integer, default=0)
    h16: Mapped[int] = mapped_column(Integer, default=0)
    h17: Mapped[int] = mapped_column(Integer, default=0)
    h18: Mapped[int] = mapped_column(Integer, default=0)
    h19: Mapped[int] = mapped_column(Integer, default=0)
    h20: Mapped[int] = mapped_column(Integer, default=0)
    h21: Mapped[int] = mapped_column(Integer, default=0)
    h22: Mapped[int] = mapped_column(Integer, default=0)
    h23: Mapped[int] = mapped_column(Integer, default=0)


# A wait roll-up's measures and the span that counts every item received (migration 20261206_0019).
CLAIM, RESOLVE, SLA = "claim", "resolve", "sla"
RECEIVED_SPAN = -1


class WaitRollup(Base):
    """Waits that ended in `span` (bot.insights.stats.wait_span) on `day` (UTC), per measure, team and key.

    "claim" / "resolve": claimed_at / resolved_at − received_at of the follow-ups claimed / resolved that
    day (key ""). "sla": claimed_at − received_at of the items received that day that are not imported
    history, keyed by their SLA key (bot.insights.stats.sla_key), and in RECEIVED_SPAN all those items,
    claimed or not. Kept by triggers on items and follow_ups; nothing in bot/ writes it."""

    __tablename__ = "wait_rollups"
    __table_args__ = (PrimaryKeyConstraint("measure", "team", "key", "day", "span"), {"sqlite_with_rowid": False})

    measure: Mapped[str] = mapped_column(String(8))
    team: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    span: Mapped[int] = mapped_column(Integer)
    items: Mapped[int] = mapped_column(Integer)


class WaitMinuteRollup(Base):
    """The waits of WaitRollup by `minutes` (bot.insights.stats.wait_bucket): to the minute up to 30 days,
    to the day beyond. The span leads the key, so one span over a year is one range."""

    __tablename__ = "wait_minute_rollups"
    __table_args__ = (PrimaryKeyConstraint("measure", "team", "key", "span", "day", "minutes"),
                      {"sqlite_with_rowid": False})

    measure: Mapped[str] = mapped_column(String(8))
    team: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(16))
    span: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    items: Mapped[int] = mapped_column(Integer)
