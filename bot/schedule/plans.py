"""Scheduled runs, exactly once: plan what is due now, claim it in the ledger, queue what it sends.

`due_runs` is pure: given the config and "now" it lists the runs whose local time has come within
the catch-up window. Each run is claimed by inserting its unique (job, target, period) row in the
same transaction that queues its outbox rows, so two clocks, a restart or a manual run cannot send
it twice, and a failed run leaves no claim behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.config import WEEKDAYS, AppConfig, TeamConfig
from bot.delivery.outbox import PostMessage, UploadFile, enqueue, enqueue_message
from bot.schedule.ledger import claim_run

log = logging.getLogger(__name__)

DIGEST, WEEKLY_REPORT, MONTHLY_REPORT = "digest", "weekly_report", "monthly_report"


def local_time(day: date, hhmm: str, timezone: str) -> datetime:
    """`day` at wall-clock `hhmm` in `timezone`, as an aware datetime.

    On a DST change the wall time exists once (zoneinfo picks the first of a repeated hour and
    moves a skipped one forward), so a daily job keyed by its local date never doubles or vanishes.
    """
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(timezone))


def is_workday(day: date, config: AppConfig) -> bool:
    return WEEKDAYS[day.weekday()] in config.schedule.workdays


def in_business_hours(moment: datetime, timezone: str, config: AppConfig) -> bool:
    local = moment.astimezone(ZoneInfo(timezone))
    start, end = config.schedule.workday_start, config.schedule.workday_end
    return is_workday(local.date(), config) and start <= local.strftime("%H:%M") < end


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class PlannedRun:
    job: str
    target: str        # team name
    period: str        # what it covers: "2026-11-21", "2026-W47", "2026-10"
    scheduled_for: datetime


def due_runs(config: AppConfig, now: datetime) -> list[PlannedRun]:
    """Team runs whose local send time is in (now - catch-up window, now]."""
    grace = timedelta(hours=config.schedule.catch_up_hours)
    runs = []
    for team in config.teams:
        tz = ZoneInfo(team.timezone)
        today = now.astimezone(tz).date()
        # Yesterday too: a run at 23:30 local may still be inside the window just after midnight.
        for send_day in (today - timedelta(days=1), today):
            at = local_time(send_day, config.digest_at(team), team.timezone)
            if not (now - grace < at <= now):
                continue
            runs.append(PlannedRun(DIGEST, team.name, (send_day - timedelta(days=1)).isoformat(), at))
            if WEEKDAYS[send_day.weekday()] == config.weekly_on(team):
                runs.append(PlannedRun(WEEKLY_REPORT, team.name, iso_week(send_day - timedelta(days=7)), at))
            if team.monthly_report and send_day.day == 1:
                runs.append(PlannedRun(MONTHLY_REPORT, team.name, (send_day - timedelta(days=1)).strftime("%Y-%m"), at))
    return runs


def next_runs(config: AppConfig, team: TeamConfig, now: datetime) -> list[PlannedRun]:
    """The next digest, weekly report and (if enabled) monthly report of a team after `now`."""
    today = now.astimezone(ZoneInfo(team.timezone)).date()
    found: dict[str, PlannedRun] = {}
    for offset in range(0, 40):
        send_day = today + timedelta(days=offset)
        at = local_time(send_day, config.digest_at(team), team.timezone)
        if at <= now:
            continue
        found.setdefault(DIGEST, PlannedRun(DIGEST, team.name, (send_day - timedelta(days=1)).isoformat(), at))
        if WEEKDAYS[send_day.weekday()] == config.weekly_on(team):
            found.setdefault(WEEKLY_REPORT, PlannedRun(WEEKLY_REPORT, team.name,
                                                       iso_week(send_day - timedelta(days=7)), at))
        if team.monthly_report and send_day.day == 1:
            found.setdefault(MONTHLY_REPORT, PlannedRun(MONTHLY_REPORT, team.name,
                                                        (send_day - timedelta(days=1)).strftime("%Y-%m"), at))
    return sorted(found.values(), key=lambda run: run.scheduled_for)


def queue_message(session: Session, *, channel: str, text: str, blocks: list[dict], now: datetime,
                  thread_ts: str | None = None, quotes: Iterable[int] = (), render: dict | None = None) -> None:
    """Queue a message. `quotes`: the items whose customer data it shows (recorded in message_quotes,
    in this transaction); `render`: how `cxloop forget` rebuilds it from erased data (bot/privacy/erasure.py)."""
    enqueue_message(session, PostMessage(text=text, blocks=blocks, thread_ts=thread_ts or None, render=render),
                    channel=channel, now=now, quotes=quotes)


def queue_upload(session: Session, *, channel: str, content: bytes, filename: str, title: str,
                 comment: str | None, now: datetime) -> None:
    enqueue(session, UploadFile.of(content, filename=filename, title=title, initial_comment=comment),
            channel=channel, now=now)


def send_digest(session: Session, *, config: AppConfig, team: TeamConfig, day: date, now: datetime,
                claimed_by: str, scheduled_for: datetime | None = None) -> bool:
    """Claim and queue the digest of `team` for the local `day`. False: it was already sent."""
    from bot.insights.digest import (
        DIGEST_RENDERER,
        build_daily_digest,
        digest_data,
        digest_message,
        quoted_items,
    )

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
    from bot.insights.charts import trend_chart_png
    from bot.insights.digest import build_monthly_report, build_weekly_report, report_message

    job = WEEKLY_REPORT if kind == "weekly" else MONTHLY_REPORT
    if not claim_run(session, job=job, target=team.name, period=period, scheduled_for=scheduled_for or now,
                     now=now, claimed_by=claimed_by):
        return False
    build = build_weekly_report if kind == "weekly" else build_monthly_report
    report = build(session, team=team, **{"week" if kind == "weekly" else "month": period}, now=now)
    text, blocks = report_message(report)
    queue_message(session, channel=team.channel, text=text, blocks=blocks, now=now)
    chart = trend_chart_png([p.label for p in report.periods], [p.nps for p in report.periods],
                            [p.volume for p in report.periods],
                            title=f"{team.name}: NPS and volume, {kind} to {period}")
    queue_upload(session, channel=team.channel, content=chart, filename=f"cxloop-{team.name}-{period}.png",
                 title=f"NPS trend — {team.name} — {period}", comment=None, now=now)
    return True


def run_planned(session: Session, run: PlannedRun, *, config: AppConfig, now: datetime, claimed_by: str) -> bool:
    team = config.team(run.target)
    if run.job == DIGEST:
        return send_digest(session, config=config, team=team, day=date.fromisoformat(run.period), now=now,
                           claimed_by=claimed_by, scheduled_for=run.scheduled_for)
    kind = "weekly" if run.job == WEEKLY_REPORT else "monthly"
    return send_report(session, config=config, team=team, kind=kind, period=run.period, now=now,
                       claimed_by=claimed_by, scheduled_for=run.scheduled_for)
