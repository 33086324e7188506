"""The delivery worker: drains the outbox into Slack, pacing each channel and pausing while Slack is down.

Runs as a thread inside `cxloop serve` or alone as `cxloop worker`. Several workers (threads or
processes) may run at once: rows are leased with a compare-and-set UPDATE, so each is sent by one.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AppConfig
from bot.db import session_scope
from bot.delivery.handlers import LEASE_SECONDS, DeliveryOutcome, deliver_row, lease_due_rows
from bot.insights.topics import warm_up
from bot.metrics import record_delivery
from models.base import utcnow

log = logging.getLogger(__name__)

# Slack allows about one message per second per channel (chat.postMessage's special limit).
CHANNEL_INTERVAL_SECONDS = 1.0
# How much later than the exact pace the next post in a channel goes out (see _after).
PACING_MARGIN_SECONDS = 0.05
POLL_INTERVAL_SECONDS = 0.5
BATCH_SIZE = 100
MAX_UNREACHABLE_PAUSE_SECONDS = 10.0


class DeliveryWorker:
    def __init__(self, factory: sessionmaker[Session], client: WebClient, *, config: AppConfig | None = None,
                 concurrency: int = 8,
                 channel_interval: float = CHANNEL_INTERVAL_SECONDS, poll_interval: float = POLL_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic, lease_seconds: int = LEASE_SECONDS,
                 now: Callable[[], datetime] = utcnow):
        """`clock` (monotonic seconds) paces channels; `now` (aware UTC) is the time rows are leased and
        their outcomes recorded at, as every domain function takes it."""
        self.factory, self.client, self.config = factory, client, config
        self._now = now
        self.lease_seconds = lease_seconds
        self.worker_id = f"worker-{uuid.uuid4().hex[:8]}"
        self.concurrency = concurrency
        self.channel_interval, self.poll_interval = channel_interval, poll_interval
        self._clock = clock
        self._next_allowed: dict[str, float] = {}
        self._paused_until = 0.0
        self._unreachable_streak = 0
        # Channels with a call in progress: each channel has at most one, and the loop does not wait
        # for them, so a slow call in one channel never holds back the pace of the others.
        self._in_flight: set[str] = set()
        self._state = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="cxloop-delivery")

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> DeliveryWorker:
        # A card's "similar" line needs scikit-learn: imported aside, so the first card does not wait for it.
        threading.Thread(target=warm_up, name="cxloop-warm-up", daemon=True).start()
        self._thread = threading.Thread(target=self.run_forever, name="cxloop-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def wake(self) -> None:
        """Called after a commit that queued something, so delivery does not wait for the next poll."""
        self._wake.set()

    def run_forever(self) -> None:
        log.info("delivery worker %s started", self.worker_id)
        while not self._stop.is_set():
            # Cleared before the pass, not after the wait: a wake-up that arrives during the pass
            # (a delivery finishing, a new commit) must not be lost.
            self._wake.clear()
            try:
                busy = self.run_once()
            except Exception:
                log.exception("delivery loop failed; retrying shortly")
                busy = 0
            if not busy:
                self._wake.wait(self._idle_wait())

    def _idle_wait(self) -> float:
        now = self._clock()
        waits = [self.poll_interval]
        with self._state:
            if self._paused_until > now:
                waits.append(self._paused_until - now)
            # Wake when the next paced channel may send again, not a poll interval later.
            upcoming = [at - now for at in self._next_allowed.values() if at > now]
        if upcoming:
            waits.append(min(upcoming))
        return max(0.05, min(waits))

    # -- one pass ----------------------------------------------------------------------------
    def run_once(self) -> int:
        """Lease what is due and deliverable now and hand it to the pool; return how many rows were taken."""
        now = self._clock()
        with self._state:
            if now < self._paused_until:
                return 0
            room = self.concurrency - len(self._in_flight)
            busy = set(self._in_flight)
            paced = {channel for channel, at in self._next_allowed.items() if at > now}
        if room <= 0:
            return 0
        chosen: set[str] = set()

        def may_send(channel: str) -> bool:
            # One row per channel, only channels whose pace allows it now and with no call in
            # progress, and no more than the pool can start at once (a leased row should not queue).
            if channel in busy or channel in paced or len(chosen) >= room:
                return False
            chosen.add(channel)
            return True

        with session_scope(self.factory) as session:
            leased = lease_due_rows(session, worker_id=self.worker_id, now=self._now(), limit=BATCH_SIZE,
                                    lease_seconds=self.lease_seconds, may_send=may_send)
        for channel, row_id in leased:
            with self._state:
                self._in_flight.add(channel)
            self._pool.submit(self._deliver, channel, row_id)
        return len(leased)

    def _deliver(self, channel: str, row_id: int) -> None:
        called_at: list[float] = []
        try:
            outcome = deliver_row(self.factory, self.client, row_id, self.config, clock=self._now,
                                  before_call=lambda: called_at.append(self._clock()))
        except Exception:
            log.exception("delivering outbox row %s failed unexpectedly; it is retried when its lease ends", row_id)
            outcome = DeliveryOutcome(row_id, channel, "retry")
        with self._state:
            self._in_flight.discard(channel)
            self._after(outcome, called_at[0] if called_at else None)
        self._wake.set()  # this channel may be free (or paced) now: let the loop look again

    def _after(self, outcome: DeliveryOutcome, started: float | None = None) -> None:
        record_delivery(outcome.result)
        now = self._clock()
        if outcome.result == "unreachable":
            self._unreachable_streak += 1
            pause = min(MAX_UNREACHABLE_PAUSE_SECONDS, 0.5 * 2 ** self._unreachable_streak)
            self._paused_until = now + pause
            log.warning("Slack unreachable; pausing delivery for %.1fs", pause)
            return
        self._unreachable_streak = 0
        if outcome.result == "rate_limited":
            self._next_allowed[outcome.channel] = now + outcome.retry_after
        elif outcome.result in ("sent", "retry", "dead"):
            # Pace from the moment the Slack call went out, not from when Slack answered: counting the
            # call's own latency as part of the gap would send noticeably less than the limit allows.
            # The margin absorbs jitter in when consecutive calls reach Slack, so pacing never earns a 429.
            since = now if started is None else started
            self._next_allowed[outcome.channel] = since + self.channel_interval + PACING_MARGIN_SECONDS
