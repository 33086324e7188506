"""Provider events already applied, by the provider's own event id (SurveyMonkey's ``event_id``).

A provider that sends only ids (SurveyMonkey) costs an API call per webhook. The same event delivered
again (the provider's retry, a replay) is answered from here without that call. A new event about a
stored response (the respondent edited it) has a new id, so it is fetched and applied as an edit.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from models import WebhookEventSeen

# Providers retry for hours to a few days; after this an old event is fetched again (one API call).
KEEP_DAYS = 30
PRUNE_EVERY_SECONDS = 3600
_prune_lock = threading.Lock()
_next_prune = 0.0


def seen(session: Session, *, source: str, event_id: str) -> bool:
    return session.scalar(select(WebhookEventSeen.event_id).where(
        WebhookEventSeen.source == source, WebhookEventSeen.event_id == event_id[:128])) is not None


def record(session: Session, *, source: str, event_id: str, now: datetime) -> None:
    """Note the event as applied (in the caller's transaction); a concurrent copy's row is kept."""
    global _next_prune
    insert = postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(WebhookEventSeen).values(source=source, event_id=event_id[:128], created_at=now)
                    .on_conflict_do_nothing(index_elements=["source", "event_id"]))
    with _prune_lock:
        prune = time.monotonic() >= _next_prune
        if prune:
            _next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
    if prune:
        session.execute(delete(WebhookEventSeen).where(WebhookEventSeen.created_at < now - timedelta(days=KEEP_DAYS)))
