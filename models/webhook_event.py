"""Provider events already applied: the same event delivered again is answered from here, no API call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class WebhookEventSeen(Base):
    __tablename__ = "webhook_events_seen"

    # The source's name and the provider's own id of the event (SurveyMonkey's event_id): a retry or a
    # replay carries the same id; an edit of the same response is a new event with a new id.
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Pruned after bot.intake.webhook_events.KEEP_DAYS: an event that old is fetched again (one API call).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
