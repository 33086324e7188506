"""The App Home: each person's day — their claims, their teams' unclaimed items, their VIPs due,
and their last 7 days. Rebuilt from the database whenever it is opened and after each of their actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.common.durations import duration
from bot.common.labels import item_label
from bot.common.periods import last_days, local_today, window_label
from bot.config import AppConfig
from bot.db import session_scope
from bot.followups.queries import claimed_by, listed, most_urgent, unclaimed
from bot.followups.triage import ORDER_LABEL
from bot.insights.stats import median_time_to_claim
from bot.slack.ids import ActionId, account_value, item_value
from bot.slack.links import message_link
from bot.slack.mrkdwn import escaped_truncated, slack_date
from bot.slack.vip_blocks import pick_line
from bot.vip.picks import daily_picks
from models import FollowUp, Item, MessageQuote, SlackMessage, Touch
from models.followup import RESOLVED

LIST_LIMIT = 10
HOME_BLOCKS_MAX = 100
# A quote record newer than this is never pruned: another publish of the same Home may still be in flight.
HOME_QUOTE_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class HomeItem:
    item_id: int
    label: str
    link: str | None
    since: datetime


@dataclass(frozen=True)
class HomeData:
    user_id: str
    claims: list[HomeItem]
    unclaimed: list[HomeItem]
    team_names: list[str]
    # Today's VIP picks: (account id, name, why: "2 open detractors", "renews in 23 days", …)
    vips_due: list[tuple[int, str, Sequence[str]]]
    touches_7d: int
    resolved_7d: int
    median_claim_minutes: float | None
    vip_candidates: int = 0  # accounts due or at risk; the picks are the first of them
    claims_total: int = 0      # all of the person's claims; `claims` holds the first LIST_LIMIT
    unclaimed_total: int = 0   # likewise for `unclaimed`
    today: date | None = None  # the last day of "your last 7 days" (the person's local today)


def _home_items(session: Session, statement) -> tuple[int, list[HomeItem]]:
    """(how many rows `statement` has, the first LIST_LIMIT of them in triage order)."""
    total, rows = most_urgent(session, statement, LIST_LIMIT)
    return total, [HomeItem(item.id, item_label(item), message_link(msg.channel, msg.ts) if msg else None, since)
                   for item, msg, since in rows]


def load_home(session: Session, *, user_id: str, config: AppConfig, now: datetime) -> HomeData:
    claims_total, claims = _home_items(session, listed(Item, SlackMessage, FollowUp.claimed_at)
                                       .where(*claimed_by(user_id)))
    teams = [t.name for t in config.teams_of(user_id)]
    unclaimed_total, unclaimed_items = _home_items(session, listed(Item, SlackMessage, Item.received_at)
                                                   .where(*unclaimed(teams))) if teams else (0, [])
    picks = daily_picks(session, owner=user_id, now=now.astimezone(ZoneInfo(config.timezone_of(user_id))),
                        limit=config.schedule.vip_checkins)
    vips = [(pick.account.id, pick.account.name, pick.reasons) for pick in picks.picks]
    # The 7 local days to today, in the person's timezone: the window the digest calls "last 7 days".
    today = local_today(now, config.timezone_of(user_id))
    start, end = last_days(today, 7, config.timezone_of(user_id))
    touches = session.scalar(select(func.count()).select_from(Touch)
                             .where(Touch.actor == user_id, Touch.touched_at >= start, Touch.touched_at < end)) or 0
    resolved = session.scalar(select(func.count()).select_from(FollowUp)
                              .where(FollowUp.resolved_by == user_id, FollowUp.status == RESOLVED,
                                     FollowUp.resolved_at >= start, FollowUp.resolved_at < end)) or 0
    claim = median_time_to_claim(session, start=start, end=end, where=(FollowUp.claimed_by == user_id,))
    return HomeData(user_id=user_id, claims=claims, unclaimed=unclaimed_items, team_names=teams, vips_due=vips,
                    vip_candidates=picks.candidates, touches_7d=touches, resolved_7d=resolved,
                    median_claim_minutes=claim.minutes, claims_total=claims_total, unclaimed_total=unclaimed_total,
                    today=today)


def _section(text: str, button: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if button:
        block["accessory"] = button
    return block


def _button(text: str, action_id: ActionId, value: str, primary: bool = False) -> dict[str, Any]:
    button = {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id.value,
              "value": value}
    if primary:
        button["style"] = "primary"
    return button


def _more(count: int, how: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": f"… and {count} more: {how}."}]}


def _item_text(entry: HomeItem, when_label: str) -> str:
    label = escaped_truncated(entry.label, 200)
    if entry.link:
        label = f"<{entry.link}|{label}>"
    return f"{label}\n{when_label} {slack_date(entry.since, '{date_short_pretty}')}"


def home_view(data: HomeData) -> dict[str, Any]:
    """Pure: the `home` view for views.publish."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": "Your day in cxloop"}}]

    blocks.append(_section(f"*Your open claims* ({data.claims_total}), {ORDER_LABEL}"))
    if not data.claims:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Nothing claimed. 🎉"}]})
    for entry in data.claims:
        blocks.append(_section(_item_text(entry, "claimed"),
                               _button("Resolve", ActionId.HOME_RESOLVE, item_value(entry.item_id))))
    if data.claims_total > len(data.claims):
        blocks.append(_more(data.claims_total - len(data.claims), "`/cxloop mine` lists more"))
    blocks.append({"type": "divider"})

    teams = ", ".join(data.team_names)
    blocks.append(_section(f"*Unclaimed in your teams*{f' ({escaped_truncated(teams, 200)})' if teams else ''}"
                           + (f": {data.unclaimed_total}, {ORDER_LABEL}" if data.unclaimed_total else "")))
    if not data.team_names:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       "You are not a member of any team. Add your user id to a team's `members` in cxloop.toml."}]})
    elif not data.unclaimed:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Nothing waiting. 🎉"}]})
    for entry in data.unclaimed:
        blocks.append(_section(_item_text(entry, "received"),
                               _button("Claim", ActionId.CLAIM, item_value(entry.item_id), primary=True)))
    if data.unclaimed_total > len(data.unclaimed):
        blocks.append(_more(data.unclaimed_total - len(data.unclaimed),
                            "`/cxloop open` in a team's channel narrows them (`/cxloop open help`); the "
                            "dashboard's Open items table lists them all"))
    blocks.append({"type": "divider"})

    blocks.append(_section("*Your VIPs to touch today* — ranked by risk and value"))
    if not data.vips_due:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       "No VIP check-ins due and nothing open on your VIPs. 🎉"}]})
    for account_id, name, reasons in data.vips_due:
        blocks.append(_section(pick_line(name, reasons),
                               _button("Log touch", ActionId.VIP_LOG_TOUCH, account_value(account_id))))
    if data.vip_candidates > len(data.vips_due):
        blocks.append(_more(data.vip_candidates - len(data.vips_due),
                            "`/vip picks` ranks them all, `/vip due` lists every check-in due"))
    blocks.append({"type": "divider"})

    median = duration(data.median_claim_minutes)
    window = window_label(data.today - timedelta(days=6), data.today) if data.today else "last 7 days"
    blocks.append(_section(f"*Your {window}*\n{data.touches_7d} VIP touch{'es' if data.touches_7d != 1 else ''}"
                           f" · {data.resolved_7d} resolved · median time to claim {median}"))
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS_MAX]}


def shown_items(data: HomeData) -> set[int]:
    """The items whose customer data (name, e-mail, subject in the label) the Home shows."""
    return {entry.item_id for entry in data.claims + data.unclaimed}


def record_home_quotes(session: Session, *, user_id: str, item_ids: set[int], now: datetime) -> None:
    """Before a Home is published: which items it shows (so `cxloop forget` re-publishes it)."""
    if not item_ids:
        return
    known = {quote.item_id: quote for quote in session.scalars(select(MessageQuote).where(
        MessageQuote.home_user == user_id, MessageQuote.item_id.in_(item_ids)))}
    for item_id in item_ids:
        if item_id in known:
            known[item_id].created_at = now  # shown again: not prunable for another grace period
        else:
            session.add(MessageQuote(home_user=user_id, item_id=item_id, created_at=now))


def prune_home_quotes(session: Session, *, user_id: str, shown: set[int], now: datetime) -> None:
    """After a Home is published: items it no longer shows are forgotten (past the grace period)."""
    statement = delete(MessageQuote).where(MessageQuote.home_user == user_id,
                                           MessageQuote.created_at < now - HOME_QUOTE_GRACE)
    if shown:
        statement = statement.where(MessageQuote.item_id.not_in(shown))
    session.execute(statement.execution_options(synchronize_session=False))


def publish_home(factory: sessionmaker[Session], client: WebClient, *, user_id: str, config: AppConfig,
                 now: datetime) -> None:
    """Build one user's Home from the database and publish it; what it shows is recorded first and
    committed, so an erasure never misses a Home that reached Slack."""
    with session_scope(factory) as session:
        data = load_home(session, user_id=user_id, config=config, now=now)
        shown = shown_items(data)
        record_home_quotes(session, user_id=user_id, item_ids=shown, now=now)
    client.views_publish(user_id=user_id, view=home_view(data))
    with session_scope(factory) as session:
        prune_home_quotes(session, user_id=user_id, shown=shown, now=now)
