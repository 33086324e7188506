"""A signed Slack request runs at most once, in every process: its replay inside the window is only acked.

Slack's signature covers the timestamp and the body, and Bolt accepts it for five minutes, so the same
bytes sent again within that time pass the signature check: a second identical note, snooze or reply.
Every interaction and slash command Slack sends is unique (a new timestamp, trigger_id and action_ts),
so a second request with the same signed bytes is a replay. Its key is recorded in one transaction
before it is handed to Bolt; the table's primary key decides which of two concurrent copies runs.
Events are left to their own event_id (bot/slack/guards.py RetryFilter): Slack retries them on purpose.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from bot.db import session_scope
from bot.slack.guards import SLACK_SIGNATURE_WINDOW_SECONDS
from models import SlackRequestSeen

log = logging.getLogger(__name__)

# A request's timestamp may be up to the window in the past or in the future, so its replay stays
# acceptable for twice the window after it first arrived; a minute more for clock differences.
KEEP_SECONDS = 2 * SLACK_SIGNATURE_WINDOW_SECONDS + 60
# Each process deletes expired keys at most this often.
PRUNE_EVERY_SECONDS = 60


def request_key(timestamp: str, raw_body: bytes) -> str:
    """sha256 of exactly what Slack signed."""
    return hashlib.sha256(b"v0:" + timestamp.encode("ascii") + b":" + raw_body).hexdigest()


def record_first(session: Session, *, key: str, kind: str, now: datetime) -> bool:
    """True when `key` was not taken before (it is now, once the caller commits)."""
    insert = postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # RETURNING, not rowcount: psycopg reports -1 for this statement. No row back: the key was taken.
    taken = session.scalar(insert(SlackRequestSeen).values(key=key, kind=kind[:32], created_at=now)
                           .on_conflict_do_nothing(index_elements=["key"]).returning(SlackRequestSeen.key))
    return taken is not None


def prune_seen(session: Session, *, now: datetime) -> int:
    result = session.execute(delete(SlackRequestSeen).where(
        SlackRequestSeen.created_at < now - timedelta(seconds=KEEP_SECONDS)))
    return result.rowcount or 0


class ReplayGuard:
    """The entry point: its own short transaction per request, before Bolt runs anything."""

    def __init__(self, factory: sessionmaker[Session], clock):
        self.factory, self.clock = factory, clock
        self._next_prune = 0.0
        self._lock = threading.Lock()

    def first_time(self, *, timestamp: str, raw_body: bytes, kind: str) -> bool:
        now = self.clock()
        with self._lock:
            prune = time.monotonic() >= self._next_prune
            if prune:
                self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        with session_scope(self.factory) as session:
            if prune:
                prune_seen(session, now=now)
            first = record_first(session, key=request_key(timestamp, raw_body), kind=kind, now=now)
        if not first:
            log.warning("replayed Slack %s (same signed request within the window): acknowledged, not run again",
                        kind)
        return first
