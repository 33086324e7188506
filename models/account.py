"""The VIP book: accounts, their e-mail domains and contacts, and every logged touch."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime

TOUCH_CHANNELS = ("call", "email", "meeting", "social", "slack")
DEFAULT_CADENCE_DAYS = 30


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        # "My VIPs due today" reads this index only.
        Index("ix_accounts_owner_next_due_at", "owner", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    # Lower-cased, punctuation folded: what look-ups narrow on before fuzzy ranking.
    search_name: Mapped[str] = mapped_column(String(255), index=True)
    tier: Mapped[str | None] = mapped_column(String(50))
    vip: Mapped[bool] = mapped_column(Boolean, default=True)
    owner: Mapped[str | None] = mapped_column(String(32))  # Slack user id
    cadence_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_CADENCE_DAYS)
    plan: Mapped[str | None] = mapped_column(String(100))
    arr: Mapped[float | None] = mapped_column(Numeric(14, 2, asdecimal=False))
    renewal_on: Mapped[date | None] = mapped_column(Date)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    last_touch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # last touch (or creation) + cadence; kept in step by bot/vip/accounts.py so due lists are one indexed range.
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checkin_snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountDomain(Base):
    __tablename__ = "account_domains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))


class Touch(Base):
    """A check-in with an account: who, when, how, and what was said."""

    __tablename__ = "touches"
    __table_args__ = (Index("ix_touches_account_id_touched_at", "account_id", "touched_at"),
                      Index("ix_touches_actor_touched_at", "actor", "touched_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
