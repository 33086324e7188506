"""An item: one survey response or escalation, as received, scored and routed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        # A retried webhook is recognised by the sender's own id, per source.
        UniqueConstraint("source", "external_id"),
        Index("ix_items_team_received_at", "team", "received_at"),
        Index("ix_items_customer_email", "customer_email"),
        # The cuts of bot/insights/segments.py: one segment's responses over a time range.
        Index("ix_items_agent_received_at", "agent", "received_at"),
        Index("ix_items_plan_received_at", "plan", "received_at"),
        Index("ix_items_segment_received_at", "segment", "received_at"),
        Index("ix_items_role_received_at", "role", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    score: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(16), index=True)
    comment: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(500))
    priority: Mapped[str | None] = mapped_column(String(32))
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_name: Mapped[str | None] = mapped_column(String(255))
    account_name: Mapped[str | None] = mapped_column(String(255))
    account_external_id: Mapped[str | None] = mapped_column(String(255))
    # The VIP-book account it was linked to at ingest (by account id, contact e-mail, then domain).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    plan: Mapped[str | None] = mapped_column(String(100))
    segment: Mapped[str | None] = mapped_column(String(100))
    # The respondent's role (e.g. "admin") and the day they became a customer (tenure start: tenure is
    # the days from it to received_at, bucketed in bot/insights/segments.py). Migration 20261206_0017.
    role: Mapped[str | None] = mapped_column(String(100))
    customer_since: Mapped[date | None] = mapped_column(Date)
    # Who handled the conversation when it was rated (Zendesk: the assignee at the time of the rating;
    # Intercom: the rated teammate; generic: `agent`). Set once: a later event about the same item,
    # after the ticket changed hands, does not move the rating to the new holder (bot/intake/ingest.py).
    agent: Mapped[str | None] = mapped_column(String(255))
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    url: Mapped[str | None] = mapped_column(String(3000))
    # Where it lives at its source (ticket, conversation, response ids), for calls back on resolve.
    # The server default (migration 20261122_0005) gave the rows that existed before this column an empty one.
    source_ref: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default=text("'{}'"))
    source_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Scoring
    sentiment_polarity: Mapped[float | None] = mapped_column(Float)
    sentiment_label: Mapped[str | None] = mapped_column(String(16))
    themes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Why: the words or cue that decided the sentiment, and the words each theme matched ({"bugs": "crashing"}).
    # NULL on items scored before migration 20261206_0012.
    sentiment_reason: Mapped[str | None] = mapped_column(String(200))
    theme_matches: Mapped[dict[str, str] | None] = mapped_column(JSONType)
    # Routing: which rule sent it where, shown in the message.
    route_name: Mapped[str | None] = mapped_column(String(100))
    team: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    mention: Mapped[str | None] = mapped_column(String(32))
    # Fingerprint of what the sender sent, so a retry is told apart from an edit.
    content_hash: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # The sender's version of what is stored (bot.intake.ingest.source_version: its updated time, then a
    # sequence or stage), sortable as text. An event whose version is not newer changes nothing, so an
    # older event arriving late or replayed never overwrites a newer one. NULL: stored before versions.
    source_version: Mapped[str | None] = mapped_column(String(64))
    # Set by `cxloop forget`: personal data was removed, and a resent webhook must not bring it back.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by `cxloop import responses` (bot/intake/history.py): closed history, never posted to Slack,
    # with no SLA, reminder or place in a queue.
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
