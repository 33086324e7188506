"""The insights the clock sends: a team's daily digest and its weekly/monthly report with a chart.

Each claims its run in the job ledger and queues its outbox rows in the caller's transaction, so a run
is sent once (see bot/schedule/plans.py for what is due when).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import AppConfig, TeamConfig
from bot.delivery.outbox import PostMessage, enqueue_message, enqueue_message_naming_itself
from bot.followups.permissions import team_member_refusal
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
from bot.insights.status import (
    PeriodError,
    build_status_report,
    parse_period,
    status_target,
    teams_for_status,
)
from bot.insights.topics import discover_topics, store_topics
from bot.schedule.ledger import claim_run
from bot.schedule.plans import (
    DIGEST,
    MONTHLY_REPORT,
    STATUS_REPORT,
    STATUS_REQUEST,
    TOPICS,
    WEEKLY_REPORT,
    queue_message,
    queue_upload,
)
from bot.slack.directory import SlackDirectory
from bot.slack.mrkdwn import escape_mrkdwn, escaped_truncated
from bot.slack.status_blocks import draft_dm, shared_blocks, status_markdown
from models import JobRun, MessageQuote, OutboxMessage
from models.delivery import POST_MESSAGE
from models.topic import ALL_TEAMS

STATUS_RENDERER = "status_report"
# The ledger row that says a draft was shared in its channel (target: the draft's outbox row id).
STATUS_SHARE = "status_share"
STATUS_USAGE = ("`/cxloop status [3d|7d]` DMs you a draft status report of your team(s): `3d` or `7d` for the "
                "last 3 or 7 days; nothing for since your last status report (else the last 3 days).")


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


# --- the drafted status report -----------------------------------------------------------------------


def queue_status_report(session: Session, *, config: AppConfig, team: TeamConfig, user_id: str, now: datetime,
                        days: int | None, job: str, period: str, claimed_by: str,
                        scheduled_for: datetime | None = None) -> bool:
    """Claim (job, team:person, period) and queue the draft as a DM to `user_id`. False: already sent."""
    report = build_status_report(session, config=config, team=team, user_id=user_id, now=now, days=days)
    if not claim_run(session, job=job, target=status_target(team.name, user_id), period=period,
                     scheduled_for=scheduled_for or now, now=now, claimed_by=claimed_by,
                     detail={"window": report.window.label}):
        return False
    render = {"name": STATUS_RENDERER, "team": team.name, "user": user_id, "markdown": status_markdown(report)}

    def message(row_id: int) -> PostMessage:
        text, blocks = draft_dm(report, row_id)
        return PostMessage(text=text, blocks=blocks, render=render)

    enqueue_message_naming_itself(session, message, channel=user_id, now=now, quotes=report.quoted_items())
    return True


def send_status_reports(session: Session, *, config: AppConfig, team: TeamConfig, day: date, now: datetime,
                        claimed_by: str, scheduled_for: datetime | None = None) -> int:
    """The clock's run of `[teams] status_report` for the local `day`: a draft to each person in `to`, once."""
    schedule = team.status_report
    if schedule is None:
        return 0
    return sum(queue_status_report(session, config=config, team=team, user_id=user_id, now=now, days=None,
                                   job=STATUS_REPORT, period=day.isoformat(), claimed_by=claimed_by,
                                   scheduled_for=scheduled_for) for user_id in schedule.to)


def status_command(session: Session, *, words: list[str], user_id: str, channel_id: str, config: AppConfig,
                   now: datetime) -> str:
    """`/cxloop status [3d|7d]`: queue the drafts (one per team of hers) and say so, or say what is wrong."""
    try:
        days = parse_period(words)
    except PeriodError as error:
        return f"I don't know the period `{escaped_truncated(str(error), 30)}`.\n\n{STATUS_USAGE}"
    teams = teams_for_status(config, user_id=user_id, channel_id=channel_id)
    if not teams:
        return ("You are not a member of a cxloop team, and this is not a team channel: run `/cxloop status` in "
                "your team's channel, or ask an admin to add you to a team's `members`.")
    queued = [team.name for team in teams if queue_status_report(
        session, config=config, team=team, user_id=user_id, now=now, days=days, job=STATUS_REQUEST,
        period=now.isoformat(timespec="seconds"), claimed_by=user_id)]
    if not queued:
        return "Your status report is already on its way."
    names = ", ".join(escape_mrkdwn(name) for name in queued)
    return f"📝 Drafting your status report for {names}: it is on its way to your DMs with me."


def _status_row(session: Session, outbox_id: int, user_id: str) -> tuple[OutboxMessage | None, dict]:
    """The DM row a status button names, if it is one and was sent to this user; and its render entry."""
    row = session.get(OutboxMessage, outbox_id)
    if row is None or row.kind != POST_MESSAGE or row.channel != user_id:
        return None, {}
    render = (row.payload or {}).get("render") or {}
    return row, render if render.get("name") == STATUS_RENDERER else {}


ERASED_REPORT = ("This report quoted a customer whose data has since been erased: run `/cxloop status` again "
                 "for a fresh draft.")


def share_status_report(open_session: Callable[[], AbstractContextManager[Session]], *, outbox_id: int,
                        user_id: str, config: AppConfig, directory: SlackDirectory, now: datetime) -> str:
    """Post the draft (as it was DMed) in its team's channel, if the clicker belongs to the team. Reads
    the row, asks Slack about membership outside any transaction, then queues the post. Returns what to
    tell the clicker."""
    with open_session() as session:
        row, render = _status_row(session, outbox_id, user_id)
    if row is None:
        return "That status report is not yours to share."
    team = next((t for t in config.teams if t.name == render.get("team")), None) if render else None
    if not render:
        return ERASED_REPORT
    if team is None:
        return "That team is no longer in cxloop's configuration."
    refusal = team_member_refusal(user_id, team, config=config, directory=directory,
                                  doing="share its status report in its channel")
    if refusal:
        return refusal
    with open_session() as session:
        row, render = _status_row(session, outbox_id, user_id)
        if row is None or not render:
            return ERASED_REPORT
        # Once per draft, compare-and-set in the job ledger: a second click (or a second tab) is told.
        if not claim_run(session, job=STATUS_SHARE, target=str(row.id), period="shared", scheduled_for=now,
                         now=now, claimed_by=user_id, detail={"channel": team.channel}):
            earlier = session.scalar(select(JobRun).where(JobRun.job == STATUS_SHARE, JobRun.target == str(row.id)))
            who = f" by <@{earlier.claimed_by}>" if earlier is not None else ""
            return f"Already shared in <#{team.channel}>{who}: each draft is shared once."
        payload = row.payload or {}
        quotes = session.scalars(select(MessageQuote.item_id).where(MessageQuote.outbox_id == row.id)).all()
        enqueue_message(session, PostMessage(text=(payload.get("text") or "").removeprefix("Draft: "),
                                             blocks=shared_blocks(payload.get("blocks") or [], user_id=user_id),
                                             render={"name": STATUS_RENDERER, "team": team.name, "shared": True}),
                        channel=team.channel, now=now, quotes=[q for q in quotes if q is not None])
    return f"📣 Shared in <#{team.channel}>."


def status_markdown_of(session: Session, *, outbox_id: int, user_id: str) -> str | None:
    """The Markdown of the draft DMed to `user_id` (None: not hers, or erased since)."""
    _, render = _status_row(session, outbox_id, user_id)
    markdown = render.get("markdown")
    return markdown if isinstance(markdown, str) else None


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
