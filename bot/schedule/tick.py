"""What the clock runs each tick. Each job gets its own transaction, so one failing job does not
stop the others, and a failed run leaves no ledger claim behind (it is retried next tick)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.config import AppConfig
from bot.db import session_scope
from bot.insights.scheduled import send_digest, send_report, send_status_reports, send_topics
from bot.schedule.plans import DIGEST, STATUS_REPORT, TOPICS, WEEKLY_REPORT, PlannedRun, due_runs
from bot.schedule.reminders import nudge_unclaimed_items, remind_follow_ups, remind_vip_checkins

log = logging.getLogger(__name__)


def tick(factory: sessionmaker[Session], config: AppConfig, *, now: datetime, claimed_by: str) -> dict[str, int]:
    """Run everything that is due at `now`; return how many messages each job queued."""
    sent: dict[str, int] = {}

    def attempt(name: str, job: Callable[[Session], int | bool]) -> None:
        try:
            with session_scope(factory) as session:
                sent[name] = sent.get(name, 0) + int(job(session))
        except Exception:
            log.exception("scheduled job %s failed; it will be retried on the next tick", name)

    for run in due_runs(config, now):
        attempt(f"{run.job}:{run.target}",
                lambda session, run=run: run_planned(session, run, config=config, now=now, claimed_by=claimed_by))
    attempt("sla_nudge", lambda s: nudge_unclaimed_items(s, config=config, now=now, claimed_by=claimed_by))
    attempt("follow_up_due", lambda s: remind_follow_ups(s, config=config, now=now, claimed_by=claimed_by))
    attempt("vip_checkins", lambda s: remind_vip_checkins(s, config=config, now=now, claimed_by=claimed_by))
    return {name: count for name, count in sent.items() if count}


def run_planned(session: Session, run: PlannedRun, *, config: AppConfig, now: datetime, claimed_by: str) -> int:
    if run.job == TOPICS:
        return int(send_topics(session, config=config, target=run.target, week=run.period, now=now,
                               claimed_by=claimed_by, scheduled_for=run.scheduled_for))
    team = config.team(run.target)
    if run.job == STATUS_REPORT:
        return send_status_reports(session, config=config, team=team, day=date.fromisoformat(run.period), now=now,
                                   claimed_by=claimed_by, scheduled_for=run.scheduled_for)
    if run.job == DIGEST:
        return send_digest(session, config=config, team=team, day=date.fromisoformat(run.period), now=now,
                           claimed_by=claimed_by, scheduled_for=run.scheduled_for)
    kind = "weekly" if run.job == WEEKLY_REPORT else "monthly"
    return send_report(session, config=config, team=team, kind=kind, period=run.period, now=now,
                       claimed_by=claimed_by, scheduled_for=run.scheduled_for)
