"""Per-day counts of the items received, kept by database triggers (migration 20261206_0018).

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
