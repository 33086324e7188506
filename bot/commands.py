"""`/cxloop` sub-commands: help, mine, open, stats. Read-only queries answered in the ack itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import AppConfig
from bot.slack.mrkdwn import escaped_truncated, slack_date
from models import FollowUp, Item, SlackMessage
from models.followup import CLAIMED, OPEN, RESOLVED

LIST_LIMIT = 15

HELP = """*cxloop* — close the loop on customer feedback
• `/cxloop mine` — your open claims, oldest first
• `/cxloop open` — unclaimed items of this channel's team
• `/cxloop stats [7d|30d]` — NPS, responses by category, open / claimed / resolved
• `/cxloop help` — this help"""


def message_link(channel: str, ts: str) -> str:
    # slack.com/archives redirects to the right workspace; works for anyone in the channel.
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def _item_line(item: Item, message: SlackMessage | None, when: datetime) -> str:
    head = item.kind.upper() + (f" {item.score}" if item.score is not None else "")
    who = escaped_truncated(item.customer_name or item.customer_email or item.subject or "unknown customer", 60)
    label = f"{head} · {who}"
    if message is not None:
        label = f"<{message_link(message.channel, message.ts)}|{label}>"
    return f"• {label} — {slack_date(when, '{date_short_pretty}')}"


def _item_list(session: Session, statement, title: str, empty: str) -> str:
    rows = session.execute(statement.limit(LIST_LIMIT + 1)).all()
    if not rows:
        return empty
    lines = [title] + [_item_line(item, message, when) for item, message, when in rows[:LIST_LIMIT]]
    if len(rows) > LIST_LIMIT:
        lines.append(f"…and more; showing the oldest {LIST_LIMIT}.")
    return "\n".join(lines)


def my_claims(session: Session, *, user_id: str) -> str:
    statement = (
        select(Item, SlackMessage, FollowUp.claimed_at)
        .join(FollowUp, FollowUp.item_id == Item.id)
        .outerjoin(SlackMessage, SlackMessage.item_id == Item.id)
        .where(FollowUp.status == CLAIMED, FollowUp.claimed_by == user_id)
        .order_by(FollowUp.claimed_at)
    )
    return _item_list(session, statement, "*Your open claims* (oldest first)", "You have no open claims. 🎉")


def open_items(session: Session, *, config: AppConfig, channel_id: str) -> str:
    team = config.team_for_channel(channel_id)
    if team is None:
        teams = ", ".join(f"`{t.name}` (<#{t.channel}>)" for t in config.teams)
        return f"This channel is not a cxloop team channel. Run `/cxloop open` in a team channel: {teams}."
    statement = (
        select(Item, SlackMessage, Item.received_at)
        .join(FollowUp, FollowUp.item_id == Item.id)
        .outerjoin(SlackMessage, SlackMessage.item_id == Item.id)
        .where(FollowUp.status == OPEN, Item.team == team.name)
        .order_by(Item.received_at)
    )
    return _item_list(session, statement, f"*Unclaimed items for {team.name}* (oldest first)",
                      f"Nothing unclaimed for {team.name}. 🎉")


def stats(session: Session, *, config: AppConfig, channel_id: str, period: str, now: datetime) -> str:
    days = {"7d": 7, "30d": 30}.get(period)
    if days is None:
        return f"Unknown period `{escaped_truncated(period, 20)}`: use `7d` or `30d`.\n\n{HELP}"
    since = now - timedelta(days=days)
    team = config.team_for_channel(channel_id)
    scope = [Item.received_at >= since] + ([Item.team == team.name] if team else [])
    where = f"for {team.name}" if team else "for all teams"
    nps_rows = dict(session.execute(
        select(Item.category, func.count()).where(*scope, Item.kind == "nps").group_by(Item.category)).all())
    nps_total = sum(nps_rows.values())
    by_kind = dict(session.execute(select(Item.kind, func.count()).where(*scope).group_by(Item.kind)).all())
    by_category = dict(session.execute(
        select(Item.category, func.count()).where(*scope, Item.category.is_not(None)).group_by(Item.category)).all())
    by_status = dict(session.execute(
        select(FollowUp.status, func.count()).join(Item, Item.id == FollowUp.item_id).where(*scope)
        .group_by(FollowUp.status)).all())
    lines = [f"*Last {days} days {where}*"]
    if nps_total:
        nps = round(100 * (nps_rows.get("promoter", 0) - nps_rows.get("detractor", 0)) / nps_total)
        lines.append(f"NPS *{nps:+d}* from {nps_total} response{'s' if nps_total != 1 else ''}")
    else:
        lines.append("NPS: no NPS responses yet")
    if by_kind:
        lines.append("Responses: " + ", ".join(f"{kind.upper()} {count}" for kind, count in sorted(by_kind.items())))
    lines.append("By category: " + ", ".join(
        f"{name} {by_category.get(name, 0)}" for name in ("detractor", "passive", "promoter")))
    lines.append("Follow-ups: " + ", ".join(
        f"{name} {by_status.get(name, 0)}" for name in (OPEN, CLAIMED, RESOLVED)))
    return "\n".join(lines)


def run_cxloop_command(session: Session, *, text: str, user_id: str, channel_id: str, config: AppConfig,
                       now: datetime) -> str:
    words = (text or "").strip().split()
    name = words[0].lower() if words else "help"
    if name == "mine":
        return my_claims(session, user_id=user_id)
    if name == "open":
        return open_items(session, config=config, channel_id=channel_id)
    if name == "stats":
        return stats(session, config=config, channel_id=channel_id, period=(words[1] if len(words) > 1 else "7d"),
                     now=now)
    if name == "help":
        return HELP
    return f"I don't know `{escaped_truncated(name, 30)}`.\n\n{HELP}"
