"""Signed Slack requests already taken: a replay of one inside the signature window is acknowledged, not run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class SlackRequestSeen(Base):
    __tablename__ = "slack_requests_seen"

    # sha256 (hex) of what Slack signed, "v0:<timestamp>:<raw body>": the same bytes replayed give the
    # same key, and the primary key makes "first one wins" hold across processes.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # block_actions, view_submission, command, …
    # Rows older than the signature window (bot/slack/replays.py) are pruned: a replay that old fails
    # the signature's timestamp check anyway.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
