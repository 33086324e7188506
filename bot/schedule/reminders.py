"""Reminders the clock sends: SLA nudges on unclaimed items, follow-ups due, VIP check-ins.

Each reminder is claimed in the job ledger before it is queued, so it is sent once whatever the
number of clocks. Nudges respect each team's business hours (no pings at night or at weekends).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.common.durations import duration, hours_label
from bot.common.labels import item_label
from bot.config import AppConfig
from bot.delivery.outbox import ThreadReply, enqueue
from bot.followups.queries import unclaimed
from bot.insights.stats import sla_breached, sla_hours
from bot.schedule.ledger import claim_run
from bot.schedule.plans import in_business_hours, is_workday, local_time, queue_message
from bot.slack.ids import ActionId, account_value, item_value
from bot.slack.links import message_link
from bot.slack.mrkdwn import escaped_truncated, mention_target
from bot.slack.vip_blocks import pick_line
from bot.vip.picks import Pick, daily_picks
from models import Account, FollowUp, Item, SlackMessage
from models.followup import RESOLVED

SLA_NUDGE, FOLLOW_UP_DUE, VIP_CHECKINS = "sla_nudge", "follow_up_due", "vip_checkins"
# Items older than this are no longer nudged: the digest's unclaimed list (with its count) covers them.
NUDGE_LOOKBACK = timedelta(days=14)
VIP_SNOOZE_DAYS = 7


def nudge_unclaimed_items(session: Session, *, config: AppConfig, now: datetime, claimed_by: str) -> int:
    """Past its SLA an unclaimed item gets a thread nudge; past 2× it is escalated to the lead, in channel."""
    sla = config.schedule.sla_hours
    if not sla:
        return 0
    shortest = timedelta(hours=min(sla.values()))
    candidates = session.execute(
        select(Item, FollowUp.snoozed_until).join(FollowUp, FollowUp.item_id == Item.id)
        .where(*unclaimed(), Item.received_at <= now - shortest,
               Item.received_at >= now - NUDGE_LOOKBACK)
        .order_by(Item.received_at)
    ).all()
    sent = 0
    for item, snoozed_until in candidates:
        hours = sla_hours(config, item.kind, item.category)
        if hours is None or (snoozed_until is not None and snoozed_until > now):
            continue
        team = next((t for t in config.teams if t.name == item.team), None)
        if team is None or not in_business_hours(now, team.timezone, config):
            continue  # quiet hours: the next business-hours tick sends it
        waited = now - item.received_at
        # The dashboard's rule: past its SLA, not at it.
        if not sla_breached(config, kind=item.kind, category=item.category, received_at=item.received_at,
                            claimed_at=None, now=now):
            continue
        if waited >= timedelta(hours=2 * hours):
            # Straight to level 2 (e.g. after a night): mark level 1 as passed so it never fires later.
            claim_run(session, job=SLA_NUDGE, target=f"item:{item.id}", period="level-1",
                      scheduled_for=item.received_at + timedelta(hours=hours), now=now, claimed_by=claimed_by,
                      detail={"skipped": "escalated directly"})
            if claim_run(session, job=SLA_NUDGE, target=f"item:{item.id}", period="level-2",
                         scheduled_for=item.received_at + timedelta(hours=2 * hours), now=now, claimed_by=claimed_by):
                lead = mention_target(team.lead or team.mention)
                text = (f"🚨 Still unclaimed after {duration(waited)} — twice the "
                        f"{hours_label(hours)} SLA. {lead + ' please' if lead else 'Please'} assign someone.")
                _thread_reply(session, item, text, now=now, broadcast=True)
                sent += 1
        elif claim_run(session, job=SLA_NUDGE, target=f"item:{item.id}", period="level-1",
                       scheduled_for=item.received_at + timedelta(hours=hours), now=now, claimed_by=claimed_by):
            who = mention_target(team.mention)
            text = f"⏰ Unclaimed for {duration(waited)} (SLA {hours_label(hours)})." \
                   + (f" {who}, can someone take this?" if who else " Can someone take this?")
            _thread_reply(session, item, text, now=now, broadcast=False)
            sent += 1
    return sent


def _thread_reply(session: Session, item: Item, text: str, *, now: datetime, broadcast: bool) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    enqueue(session, ThreadReply(text=text, blocks=blocks, reply_broadcast=broadcast), channel=item.channel,
            item_id=item.id, now=now)


def _start_of_workday_passed(now: datetime, timezone: str, config: AppConfig) -> tuple[bool, datetime]:
    local = now.astimezone(ZoneInfo(timezone))
    start = local_time(local.date(), config.schedule.workday_start, timezone)
    return is_workday(local.date(), config) and now >= start, start


FOLLOW_UP_RENDERER = "follow_up_due"


def follow_up_due_message(item: Item, message: SlackMessage | None) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) of the owner's "follow up today" DM, from the item as it is now."""
    label = escaped_truncated(item_label(item), 200)
    link = f"<{message_link(message.channel, message.ts)}|{label}>" if message else label
    text = f"📅 Follow up today: {link}"
    value = item_value(item.id)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Resolve"}, "style": "primary",
             "action_id": ActionId.RESOLVE.value, "value": value},
            {"type": "button", "text": {"type": "plain_text", "text": "Push to next workday"},
             "action_id": ActionId.FOLLOW_UP_PUSH.value, "value": value},
            {"type": "button", "text": {"type": "plain_text", "text": "Pick a date"},
             "action_id": ActionId.FOLLOW_UP_PICK.value, "value": value}]},
    ]
    return f"📅 Follow up today: {label}", blocks


def remind_follow_ups(session: Session, *, config: AppConfig, now: datetime, claimed_by: str) -> int:
    """Items whose follow-up date has come: a DM to the owner at the start of their working day."""
    rows = session.execute(
        select(Item, FollowUp, SlackMessage).join(FollowUp, FollowUp.item_id == Item.id)
        .outerjoin(SlackMessage, SlackMessage.item_id == Item.id)
        .where(FollowUp.follow_up_on.is_not(None), FollowUp.status != RESOLVED,
               FollowUp.follow_up_on <= (now + timedelta(days=1)).date(),
               FollowUp.follow_up_on >= (now - timedelta(days=14)).date())
    ).all()
    sent = 0
    for item, follow_up, message in rows:
        owner = follow_up.claimed_by
        timezone = config.timezone_of(owner) if owner else config.team(item.team).timezone
        ready, start = _start_of_workday_passed(now, timezone, config)
        if not ready or follow_up.follow_up_on > start.date():
            continue
        if not claim_run(session, job=FOLLOW_UP_DUE, target=f"item:{item.id}", period=follow_up.follow_up_on.isoformat(),
                         scheduled_for=start, now=now, claimed_by=claimed_by):
            continue
        if owner:
            text, blocks = follow_up_due_message(item, message)
            queue_message(session, channel=owner, text=text, blocks=blocks, now=now, quotes=[item.id],
                          render={"name": FOLLOW_UP_RENDERER, "item_id": item.id})
        else:  # nobody owns it: remind the team in the item's thread
            _thread_reply(session, item, "📅 The follow-up date of this item is today, and nobody has claimed it.",
                          now=now, broadcast=False)
        sent += 1
    return sent


def next_workday(after: datetime, config: AppConfig, timezone: str):
    day = after.astimezone(ZoneInfo(timezone)).date() + timedelta(days=1)
    while not is_workday(day, config):
        day += timedelta(days=1)
    return day


def remind_vip_checkins(session: Session, *, config: AppConfig, now: datetime, claimed_by: str) -> int:
    """Each working morning, each VIP owner gets today's picks in a DM: their [schedule] vip_checkins
    accounts most worth a call, ranked by risk and value, each saying why (bot/vip/picks.py)."""
    owners = session.scalars(select(Account.owner).distinct().where(
        Account.owner.is_not(None), Account.vip.is_(True))).all()
    sent = 0
    for owner in owners:
        timezone = config.timezone_of(owner)
        ready, start = _start_of_workday_passed(now, timezone, config)
        if not ready:
            continue
        today = daily_picks(session, owner=owner, now=now.astimezone(ZoneInfo(timezone)),
                            limit=config.schedule.vip_checkins)
        if not today.picks:
            continue
        if not claim_run(session, job=VIP_CHECKINS, target=owner, period=start.date().isoformat(),
                         scheduled_for=start, now=now, claimed_by=claimed_by):
            continue
        names = ", ".join(pick.account.name for pick in today.picks)
        queue_message(session, channel=owner, text=f"VIPs to touch today: {escaped_truncated(names, 200)}",
                      blocks=checkin_blocks(today.picks, candidates=today.candidates), now=now)
        sent += 1
    return sent


MESSAGE_BLOCKS_MAX = 50  # Slack's limit for one message


def checkin_blocks(picks: list[Pick], *, candidates: int) -> list[dict[str, Any]]:
    """Two blocks per pick (its line with why, its buttons), the heading inside the first line: 25 picks,
    the most [schedule] vip_checkins allows, are exactly 50 blocks. The closing line says how many other
    accounts were weighed and names the commands that list them."""
    shown = picks[:MESSAGE_BLOCKS_MAX // 2]
    others = candidates - len(shown)
    if others > 0 and len(shown) * 2 >= MESSAGE_BLOCKS_MAX:
        shown = picks[:(MESSAGE_BLOCKS_MAX - 1) // 2]
        others = candidates - len(shown)
    blocks: list[dict[str, Any]] = []
    for index, pick in enumerate(shown):
        value = account_value(pick.account.id)
        heading = (f"*VIPs to touch today* — {len(shown)} pick{'s' if len(shown) != 1 else ''}, "
                   f"ranked by risk and value\n\n") if index == 0 else ""
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": heading + pick_line(pick.account.name, pick.reasons)}})
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Log touch"}, "style": "primary",
             "action_id": ActionId.VIP_LOG_TOUCH.value, "value": value},
            {"type": "button", "text": {"type": "plain_text", "text": f"Snooze {VIP_SNOOZE_DAYS} days"},
             "action_id": ActionId.VIP_SNOOZE.value, "value": value},
            {"type": "button", "text": {"type": "plain_text", "text": "Open"},
             "action_id": ActionId.VIP_OPEN.value, "value": value}]})
    if others > 0:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       f"…and {others} more due or at risk: `/vip picks` ranks them all, `/vip due` lists "
                       "every check-in due."}]})
    return blocks


def snooze_checkins(session: Session, *, account_id: int, user_id: str, now: datetime) -> Account | None:
    account = session.get(Account, account_id)
    if account is not None:
        account.checkin_snoozed_until = now + timedelta(days=VIP_SNOOZE_DAYS)
        account.updated_at = now
    return account


