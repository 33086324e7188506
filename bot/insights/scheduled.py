"""The insights the clock sends: a team's daily digest and its weekly/monthly report with a chart.

Each claims its run in the job ledger and queues its outbox rows in the caller's transaction, so a run
is sent once (see bot/schedule/plans.py for what is due when).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import AppConfig, TeamConfig
from bot.insights.charts import trend_chart_png
from bot.insights.digest import (
    DIGEST_RENDERER,
    REPORT_RENDERER,
    build_daily_digest,
    build_monthly_report,
    build_weekly_report,
    digest_data,
    digest_message,
    quoted_items,
    report_data,
    report_message,
    report_quoted_items,
)
from bot.insights.topics import discover_topics, store_topics
from bot.schedule.ledger import claim_run
from bot.schedule.plans import DIGEST, MONTHLY_REPORT, TOPICS, WEEKLY_REPORT, queue_message, queue_upload
from models import JobRun
from models.topic import ALL_TEAMS


def send_digest(session: Session, *, config: AppConfig, team: TeamConfig, day: date, now: datetime,
                claimed_by: str, scheduled_for: datetime | None = None) -> bool:
    """Claim and queue the digest of `team` for the local `day`. False: it was already sent."""
    if not claim_run(session, job=DIGEST, target=team.name, period=day.isoformat(),
                     scheduled_for=scheduled_for or now, now=now, claimed_by=claimed_by):
        return False
    digest = build_daily_digest(session, team=team, day=day, now=now)
    text, blocks = digest_message(digest)
    queue_message(session, channel=team.channel, text=text, blocks=blocks, now=now, quotes=quoted_items(digest),
                  render={"name": DIGEST_RENDERER, "data": digest_data(digest)})
    return True


def send_report(session: Session, *, config: AppConfig, team: TeamConfig, kind: Literal["weekly", "monthly"],
                period: str, now: datetime, claimed_by: str, scheduled_for: datetime | None = None) -> bool:
    """Claim and queue a weekly ("2026-W47") or monthly ("2026-10") report with its chart."""
    job = WEEKLY_REPORT if kind == "weekly" else MONTHLY_REPORT
    if not claim_run(session, job=job, target=team.name, period=period, scheduled_for=scheduled_for or now,
                     now=now, claimed_by=claimed_by):
        return False
    build = build_weekly_report if kind == "weekly" else build_monthly_report
    report = build(session, team=team, **{"week" if kind == "weekly" else "month": period}, now=now)
    text, blocks = report_message(report)
    queue_message(session, channel=team.channel, text=text, blocks=blocks, now=now,
                  quotes=report_quoted_items(report), render={"name": REPORT_RENDERER, "data": report_data(report)})
    chart = trend_chart_png([p.label for p in report.periods], [p.nps for p in report.periods],
                            [p.volume for p in report.periods],
                            title=f"{team.name}: NPS and volume, {kind} to {period}")
    queue_upload(session, channel=team.channel, content=chart, filename=f"cxloop-{team.name}-{period}.png",
                 title=f"NPS trend — {team.name} — {period}", comment=None, now=now)
    return True


def send_topics(session: Session, *, config: AppConfig, target: str, week: str, now: datetime, claimed_by: str,
                scheduled_for: datetime | None = None) -> bool:
    """Discover and store the topics of `week` for a team, or for all teams (target ALL_TEAMS), once.

    The comments are read and grouped before the run is claimed: on SQLite the claim takes the write
    lock, and the grouping (seconds for thousands of comments) must not hold it. Queues nothing, so
    it returns False like a run already made."""
    if session.scalar(select(JobRun.id).where(JobRun.job == TOPICS, JobRun.target == target,
                                              JobRun.period == week)) is not None:
        return False
    if target == ALL_TEAMS:
        team, teams, timezone = None, [t.name for t in config.teams], config.schedule.timezone or "UTC"
    else:
        team, teams, timezone = target, [target], config.team(target).timezone
    discovery = discover_topics(session, week=week, team=team, teams=teams, timezone=timezone)
    if claim_run(session, job=TOPICS, target=target, period=week, scheduled_for=scheduled_for or now, now=now,
                 claimed_by=claimed_by, detail={"topics": len(discovery.topics), "comments": discovery.analysed}):
        store_topics(session, discovery, now=now)
    return False
