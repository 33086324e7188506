"""`/cxloop` sub-commands: help, mine, open, stats. Read-only queries answered in the ack itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.common.labels import item_label
from bot.common.periods import last_days, local_today, window_label
from bot.config import AppConfig
from bot.followups import triage
from bot.followups.queries import claimed_by, listed, most_urgent, unclaimed
from bot.insights.stats import nps
from bot.product.queries import demand
from bot.schedule.plans import last_workday_end
from bot.slack.links import message_link
from bot.slack.mrkdwn import escaped_truncated, slack_date, user_mention
from bot.slack.product_blocks import demand_text
from models import FollowUp, Item, SlackMessage
from models.followup import CLAIMED, OPEN, RESOLVED

LIST_LIMIT = 15

HELP = """*cxloop* — close the loop on customer feedback
• `/cxloop mine` — your open claims, most urgent first
• `/cxloop open [filters]` — unclaimed items of this channel's team, most urgent first (`/cxloop open help`)
• `/cxloop stats [7d|30d]` — NPS, responses by category, open / claimed / resolved
• `/cxloop demand` — linked issues ranked by the customers and ARR behind them
• `/cxloop status [3d|7d]` — a draft status report of your team(s), in your DMs
• `/cxloop help` — this help"""

# Words `/cxloop open` takes for a band (plural or singular), and the bands each selects.
BAND_WORDS: dict[str, tuple[int, ...]] = {
    "escalations": (triage.ESCALATIONS,), "detractors": (triage.VIP_DETRACTORS, triage.DETRACTORS),
    "passives": (triage.PASSIVES,), "promoters": (triage.PROMOTERS,),
}
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
# A bare user id (the sandbox, or a pasted id): with a digit, so a shouted word is not taken for one.
_USER_ID = re.compile(r"^[UW](?=[A-Z0-9]*[0-9])[A-Z0-9]{2,}$")


def open_help(config: AppConfig) -> str:
    teams = ", ".join(f"`{t.name}`" for t in config.teams)
    return ("`/cxloop open` lists the unclaimed items of this channel's team, most urgent first: escalations "
            "(by severity), VIP detractors, detractors, passives, promoters, each oldest first. Narrow it with words:\n"
            "• `escalations`, `detractors`, `passives`, `promoters` (one or more)\n"
            "• `vip` — VIP customers only\n"
            "• `new` — only what arrived since your last workday ended (overnight, or over the weekend)\n"
            f"• `team <name>` — another team's items ({teams})\n"
            "• `mine`, `owner @person` or `@person` — items that person has claimed (all teams unless `team`)\n"
            "e.g. `/cxloop open vip detractors`, `/cxloop open escalations`, `/cxloop open passives team support`, "
            "`/cxloop open mine`")


class OpenWordsError(ValueError):
    """Words `/cxloop open` does not take; str() says which, for the ephemeral."""


@dataclass(frozen=True)
class OpenQuery:
    """What `/cxloop open` lists: bands (empty: all), VIP only, a team (None: see `scope`), an owner
    (None: unclaimed items; else items that person has claimed)."""

    bands: frozenset[int] = frozenset()
    vip: bool = False
    team: str | None = None
    owner: str | None = None
    words: tuple[str, ...] = ()  # the band words as typed, in order, for the heading
    new: bool = False  # only items received since the person's last workday ended


def _band_word(word: str) -> str | None:
    word = word.lower()
    for name in BAND_WORDS:
        if word in (name, name[:-1]):
            return name
    return None


def parse_open_words(words: list[str], *, user_id: str, config: AppConfig) -> OpenQuery:
    """`vip detractors team support` → OpenQuery; anything else raises OpenWordsError naming the word."""
    bands: set[int] = set()
    named: list[str] = []
    vip, team, owner, new = False, None, None, False
    rest = list(words)
    while rest:
        word = rest.pop(0)
        lower = word.lower()
        if (band := _band_word(lower)) is not None:
            bands.update(BAND_WORDS[band])
            if band not in named:
                named.append(band)
        elif lower in ("vip", "vips"):
            vip = True
        elif lower in ("new", "overnight"):
            new = True
        elif lower == "team":
            if not rest:
                raise OpenWordsError("`team` needs a team name after it.")
            name = rest.pop(0)
            match = next((t.name for t in config.teams if t.name.lower() == name.lower()), None)
            if match is None:
                raise OpenWordsError(f"There is no team `{escaped_truncated(name, 40)}`.")
            team = match
        elif lower in ("mine", "owner") or _MENTION.match(word) or _USER_ID.match(word):
            if lower == "owner":
                if not rest:
                    raise OpenWordsError("`owner` needs a person after it (`owner @person`).")
                word = rest.pop(0)
            found = user_id if word.lower() == "mine" else _owner_id(word)
            if found is None:
                raise OpenWordsError(f"`{escaped_truncated(word, 40)}` is not a person: mention them (`@person`).")
            if owner is not None and owner != found:
                raise OpenWordsError("Name one owner at a time.")
            owner = found
        else:
            raise OpenWordsError(f"I don't know `{escaped_truncated(word, 30)}`.")
    return OpenQuery(bands=frozenset(bands), vip=vip, team=team, owner=owner, words=tuple(named), new=new)


def _owner_id(word: str) -> str | None:
    if match := _MENTION.match(word):
        return match.group(1)
    return word if _USER_ID.match(word) else None


def _item_line(item: Item, message: SlackMessage | None, when: datetime) -> str:
    label = escaped_truncated(item_label(item), 120)
    if message is not None:
        label = f"<{message_link(message.channel, message.ts)}|{label}>"
    return f"• {label} — {slack_date(when, '{date_short_pretty}')}"


def _item_list(session: Session, statement, *, title: str, empty: str, more: str) -> str:
    """The first LIST_LIMIT rows of `statement` (Item, SlackMessage, when) in triage order, under `title`
    with the total; past the limit "… and N more" and `more` (how to see them)."""
    total, rows = most_urgent(session, statement, LIST_LIMIT)
    if not total:
        return empty
    lines = [f"{title} ({total}), {triage.ORDER_LABEL}"]
    lines += [_item_line(item, message, when) for item, message, when in rows]
    if total > len(rows):
        lines.append(f"… and {total - len(rows)} more: {more}")
    return "\n".join(lines)


def _listed(statement_columns, *where):
    return listed(Item, SlackMessage, statement_columns).where(*where)


def my_claims(session: Session, *, user_id: str) -> str:
    statement = _listed(FollowUp.claimed_at, *claimed_by(user_id))
    return _item_list(session, statement, title="*Your open claims*", empty="You have no open claims. 🎉",
                      more="`/cxloop open mine detractors` (or `escalations`, `vip`, `team <name>`) narrows "
                           "the list; the dashboard's Open items table with owner filter lists them all.")


def open_items(session: Session, *, config: AppConfig, channel_id: str, now: datetime, user_id: str = "",
               words: list[str] | None = None) -> str:
    try:
        query = parse_open_words(words or [], user_id=user_id, config=config)
    except OpenWordsError as error:
        return f"{error}\n\n{open_help(config)}"
    team = query.team
    if team is None and query.owner is None:
        channel_team = config.team_for_channel(channel_id)
        if channel_team is None:
            teams = ", ".join(f"`{t.name}` (<#{t.channel}>)" for t in config.teams)
            return ("This channel is not a cxloop team channel. Run `/cxloop open` in a team channel, or name "
                    f"the team: `/cxloop open team <name>`. Teams: {teams}.")
        team = channel_team.name
    teams = [team] if team is not None else None
    where = claimed_by(query.owner, teams) if query.owner else unclaimed(teams)
    if query.bands:
        where.append(triage.band().in_(sorted(query.bands)))
    if query.vip:
        where.append(triage.is_vip())
    since = ""
    if query.new:
        timezone = config.timezone_of(user_id)
        ended = last_workday_end(now, timezone, config)
        where.append(Item.received_at >= ended)
        since = f" since your last workday ended ({slack_date(ended, timezone=timezone)})"
    what = ("VIP " if query.vip else "") + (" and ".join(query.words) if query.words else
                                            "customers' items" if query.vip else "items")
    scope = (f"for {team}" if team else "in all teams") + since
    if query.owner is None:
        title = f"*Unclaimed {what} {scope}*"
    elif query.owner == user_id:
        title = f"*Your claimed {what} {scope}*"
    else:
        title = f"*{what[0].upper()}{what[1:]} claimed by {user_mention(query.owner)} {scope}*"
    empty = (f"Nothing unclaimed {scope}. 🎉" if query.owner is None and not query.bands and not query.vip
             else f"{title}: none. 🎉")
    return _item_list(session, _listed(Item.received_at, *where), title=title, empty=empty,
                      more="narrow it (`/cxloop open help`) or see the dashboard's Open items table, which "
                           "lists them all.")


def stats(session: Session, *, config: AppConfig, channel_id: str, period: str, now: datetime) -> str:
    days = {"7d": 7, "30d": 30}.get(period)
    if days is None:
        return f"Unknown period `{escaped_truncated(period, 20)}`: use `7d` or `30d`.\n\n{HELP}"
    team = config.team_for_channel(channel_id)
    # Local days, as the digest and the dashboard count them: the team's, else [schedule].timezone.
    timezone = team.timezone if team else (config.schedule.timezone or "UTC")
    today = local_today(now, timezone)
    start, end = last_days(today, days, timezone)
    scope = [Item.received_at >= start, Item.received_at < end] + ([Item.team == team.name] if team else [])
    where = f"for {team.name}" if team else "for all teams"
    score = nps(session, scope)
    by_kind = dict(session.execute(select(Item.kind, func.count()).where(*scope).group_by(Item.kind)).all())
    by_category = dict(session.execute(
        select(Item.category, func.count()).where(*scope, Item.category.is_not(None)).group_by(Item.category)).all())
    by_status = dict(session.execute(
        select(FollowUp.status, func.count()).join(Item, Item.id == FollowUp.item_id).where(*scope)
        .group_by(FollowUp.status)).all())
    # Open ones that wait for nobody (promoters, by default) are not in the unclaimed queue: said apart.
    waiting = session.scalar(select(func.count()).select_from(FollowUp).join(Item, Item.id == FollowUp.item_id)
                             .where(*scope, *unclaimed())) or 0
    window = window_label(today - timedelta(days=days - 1), today)
    lines = [f"*{window[0].upper()}{window[1:]} {where}*"]
    if score.responses:
        lines.append(f"NPS *{score.score:+d}* from {score.responses} response{'s' if score.responses != 1 else ''}")
    else:
        lines.append("NPS: no NPS responses yet")
    if by_kind:
        lines.append("Responses: " + ", ".join(f"{kind.upper()} {count}" for kind, count in sorted(by_kind.items())))
    lines.append("By category: " + ", ".join(
        f"{name} {by_category.get(name, 0)}" for name in ("detractor", "passive", "promoter")))
    lines.append(f"Follow-ups: {OPEN} {waiting}, no follow-up needed {by_status.get(OPEN, 0) - waiting}, "
                 + ", ".join(f"{name} {by_status.get(name, 0)}" for name in (CLAIMED, RESOLVED)))
    return "\n".join(lines)


def run_cxloop_command(session: Session, *, text: str, user_id: str, channel_id: str, config: AppConfig,
                       now: datetime) -> str:
    words = (text or "").strip().split()
    name = words[0].lower() if words else "help"
    if name == "mine":
        return my_claims(session, user_id=user_id)
    if name == "open":
        if [word.lower() for word in words[1:]] == ["help"]:
            return open_help(config)
        return open_items(session, config=config, channel_id=channel_id, now=now, user_id=user_id,
                          words=words[1:])
    if name == "stats":
        return stats(session, config=config, channel_id=channel_id, period=(words[1] if len(words) > 1 else "7d"),
                     now=now)
    if name == "demand":
        return demand_text(demand(session, config=config, now=now))
    if name == "help":
        return HELP
    return f"I don't know `{escaped_truncated(name, 30)}`.\n\n{HELP}"
