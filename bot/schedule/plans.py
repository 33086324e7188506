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
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.common.periods import iso_week_label, month_label
from bot.config import WEEKDAYS, AppConfig, TeamConfig
from bot.delivery.outbox import PostMessage, UploadFile, enqueue, enqueue_message
from models.topic import ALL_TEAMS

log = logging.getLogger(__name__)

DIGEST, WEEKLY_REPORT, MONTHLY_REPORT = "digest", "weekly_report", "monthly_report"
# A draft status report DMed by the clock ([teams] status_report), and one asked for with `/cxloop status`:
# ledger rows per (team:person), so "since your last status" is the latest of either.
STATUS_REPORT, STATUS_REQUEST = "status_report", "status_request"
# The week's topics (bot/insights/topics.py): a team's just before its weekly report, which shows them;
# all teams' (target ALL_TEAMS, for the dashboard) at digest_at on weekly_on in [schedule].timezone.
TOPICS = "topics"


def local_time(day: date, hhmm: str, timezone: str) -> datetime:
    """`day` at wall-clock `hhmm` in `timezone`, as an aware datetime.

    On a DST change the wall time exists once (zoneinfo picks the first of a repeated hour and
    moves a skipped one forward), so a daily job keyed by its local date never doubles or vanishes.
    """
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(timezone))


def is_workday(day: date, config: AppConfig) -> bool:
    return WEEKDAYS[day.weekday()] in config.schedule.workdays


def last_workday_end(now: datetime, timezone: str, config: AppConfig) -> datetime:
    """When the person's last workday before today ended (`workday_end`, their timezone): on Monday
    morning, Friday evening. What arrived since is what they have not seen yet."""
    day = now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)
    for _ in range(7):
        if is_workday(day, config):
            break
        day -= timedelta(days=1)
    return local_time(day, config.schedule.workday_end, timezone)


def in_business_hours(moment: datetime, timezone: str, config: AppConfig) -> bool:
    local = moment.astimezone(ZoneInfo(timezone))
    start, end = config.schedule.workday_start, config.schedule.workday_end
    return is_workday(local.date(), config) and start <= local.strftime("%H:%M") < end


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
                week = iso_week_label(send_day - timedelta(days=7))
                runs.append(PlannedRun(TOPICS, team.name, week, at))
                runs.append(PlannedRun(WEEKLY_REPORT, team.name, week, at))
            if team.monthly_report and send_day.day == 1:
                runs.append(PlannedRun(MONTHLY_REPORT, team.name, month_label(send_day - timedelta(days=1)), at))
        runs += _status_runs(team, today, now, grace)
    return runs + _all_teams_topics(config, now, grace)


def _status_runs(team: TeamConfig, today: date, now: datetime, grace: timedelta) -> list[PlannedRun]:
    """The team's scheduled status report, on its weekdays at its local time (period: the local day)."""
    schedule = team.status_report
    if schedule is None:
        return []
    runs = []
    for send_day in (today - timedelta(days=1), today):
        at = local_time(send_day, schedule.time, team.timezone)
        if WEEKDAYS[send_day.weekday()] in schedule.days and now - grace < at <= now:
            runs.append(PlannedRun(STATUS_REPORT, team.name, send_day.isoformat(), at))
    return runs


def _all_teams_topics(config: AppConfig, now: datetime, grace: timedelta) -> list[PlannedRun]:
    timezone = config.schedule.timezone or "UTC"
    today = now.astimezone(ZoneInfo(timezone)).date()
    return [PlannedRun(TOPICS, ALL_TEAMS, iso_week_label(send_day - timedelta(days=7)), at)
            for send_day in (today - timedelta(days=1), today)
            if WEEKDAYS[send_day.weekday()] == config.schedule.weekly_on
            and now - grace < (at := local_time(send_day, config.schedule.digest_at, timezone)) <= now]


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
                                                       iso_week_label(send_day - timedelta(days=7)), at))
        if team.monthly_report and send_day.day == 1:
            found.setdefault(MONTHLY_REPORT, PlannedRun(MONTHLY_REPORT, team.name,
                                                        month_label(send_day - timedelta(days=1)), at))
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
