"""Delivery to Slack: the outbox of pending calls and where each item's message lives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime

PENDING = "pending"
SENT = "sent"
DEAD = "dead"

POST_ITEM = "post_item"
UPDATE_ITEM = "update_item"
THREAD_REPLY = "thread_reply"
POST_MESSAGE = "post_message"  # a message not tied to an item: digests, DMs (channel may be a user id)
# Erasure (`cxloop forget`): rewrite what Slack already shows. REDACT_THREAD blanks the quotes in an
# item's thread; REDACT_MESSAGE replaces an earlier POST_MESSAGE (a digest quote) with its scrubbed payload.
REDACT_THREAD = "redact_thread"
REDACT_MESSAGE = "redact_message"
# Re-publish one user's App Home (channel = their user id) from the database, e.g. after an erasure.
PUBLISH_HOME = "publish_home"
UPLOAD_FILE = "upload_file"    # a file (e.g. a report's chart) through Slack's external upload flow
HTTP_CALL = "http_call"        # a call back to a source (Zendesk note, resolved/promoter webhooks)
TRACKER_CALL = "tracker_call"  # an issue tracker's API (create or read an issue); item_id is NULL


class OutboxMessage(Base):
    """A Slack call to make after the transaction that decided it has committed."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_available_at", "status", "available_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    # Times leased: above zero on a fresh lease means an earlier attempt may have reached Slack.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Failed attempts (rate limits do not count): at the limit the row is parked as dead.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SlackMessage(Base):
    """The channel message that shows an item; updated in place as the item changes."""

    __tablename__ = "slack_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageQuote(Base):
    """An item whose customer data a posted message shows: a POST_MESSAGE row (digest, DM) or a user's
    App Home. Written with the outbox row (or before the Home is published), so `cxloop forget` knows
    exactly which messages to re-render, whatever their text looks like."""

    __tablename__ = "message_quotes"
    __table_args__ = (
        CheckConstraint("(outbox_id IS NULL) <> (home_user IS NULL)", name="one_target"),
        Index("ix_message_quotes_home_user", "home_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    home_user: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
