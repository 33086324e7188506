"""The job ledger: one `job_runs` row per run of a job, so it happens once however many clocks,
restarts or manual runs try.

A run is claimed by inserting its unique (job, target, period) row in the same transaction that
queues what the run sends: a failed run rolls its claim back with its outbox rows. Low-level on
purpose (it imports only `models`), so every package may claim a run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import JobRun


def claim_run(session: Session, *, job: str, target: str, period: str, scheduled_for: datetime, now: datetime,
              claimed_by: str, detail: dict | None = None) -> bool:
    """Insert the ledger row; False when someone already claimed this (job, target, period)."""
    try:
        with session.begin_nested():
            session.add(JobRun(job=job, target=target, period=period, scheduled_for=scheduled_for,
                               claimed_at=now, claimed_by=claimed_by, detail=detail or {}))
            session.flush()
    except IntegrityError:
        return False
    return True
