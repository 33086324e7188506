"""The audit log of data-protection actions (erasure, retention purges): who, when, what, how much."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(32))       # forget | purge
    actor: Mapped[str] = mapped_column(String(100))       # who ran it (OS user, or a Slack user id)
    # What it was about, without keeping what was erased: a hash of the e-mail, or the cut-off date.
    subject: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # counts of what changed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
