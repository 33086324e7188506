"""`cxloop clock`: one APScheduler process that ticks every minute and runs what is due.

All timing rules (local times, DST, business hours, catch-up) live in bot/schedule/plans.py and
bot/schedule/reminders.py and are evaluated against "now" on every tick; the scheduler only provides the
tick. That is what makes a restart catch up (the first tick runs at start) and what lets several
clocks run safely (the job ledger decides who sends).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.runtime import Runtime
from bot.schedule.tick import tick
from models.base import utcnow

log = logging.getLogger(__name__)

TICK_SECONDS = 60


def clock_id() -> str:
    return f"clock@{socket.gethostname()}:{os.getpid()}"


def run_tick(runtime: Runtime, now: datetime | None = None) -> dict[str, int]:
    sent = tick(runtime.factory, runtime.config, now=now or utcnow(), claimed_by=clock_id())
    if sent:
        log.info("clock tick queued %s", ", ".join(f"{name} ×{count}" for name, count in sorted(sent.items())))
        runtime.queued()
    return sent


def run_clock(runtime: Runtime) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    # coalesce + max_instances=1: a slow tick is never run twice at once, and missed ticks collapse into one.
    scheduler.add_job(run_tick, IntervalTrigger(seconds=TICK_SECONDS), args=[runtime], id="tick",
                      coalesce=True, max_instances=1, next_run_time=utcnow())
    log.info("cxloop clock %s ticking every %ss", clock_id(), TICK_SECONDS)
    scheduler.start()


def start_background_clock(runtime: Runtime) -> Callable[[], None]:
    """The same tick in a thread of the serving process, for `cxloop demo` only, so the sandbox shows SLA
    nudges, follow-up and check-in DMs, digests and reports as they fall due. A deployment runs
    `cxloop clock` as a process of its own (one scheduler per job store; the ledger still decides who
    sends). Returns how to stop it."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(run_tick, IntervalTrigger(seconds=TICK_SECONDS), args=[runtime], id="tick",
                      coalesce=True, max_instances=1, next_run_time=utcnow())
    scheduler.start()
    log.info("cxloop clock %s ticking every %ss in this process (sandbox)", clock_id(), TICK_SECONDS)
    return lambda: scheduler.shutdown(wait=True)  # a tick under way finishes its transaction
