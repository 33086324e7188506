"""The ledger of scheduled runs: one row per (job, target, period), claimed before anything is sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        # The exactly-once guarantee: a second clock, a restart or a manual run cannot claim it again.
        UniqueConstraint("job", "target", "period"),
        Index("ix_job_runs_job_claimed_at", "job", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(40))        # digest, weekly_report, sla_nudge, …
    target: Mapped[str] = mapped_column(String(100))    # team name, item id, user id
    period: Mapped[str] = mapped_column(String(40))     # 2026-11-22, 2026-W47, level-1, …
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
