"""`/vip`: look a VIP up, list my due check-ins, log a touch, and (admins) add accounts or set owners.

Every answer is a Reply the listener sends back in its ack, so Slack gets it within its 3 seconds.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.common.labels import item_label
from bot.config import AppConfig
from bot.product.service import account_issues
from bot.schedule.plans import queue_message
from bot.slack.links import message_link
from bot.slack.mrkdwn import escape_mrkdwn, escaped_truncated, user_mention
from bot.slack.vip_blocks import (
    AccountCard,
    ItemLine,
    TouchView,
    account_card,
    account_choices,
    due_list,
    no_match,
    open_items_list,
    pick_line,
)
from bot.vip.accounts import (
    OpenItem,
    cadence_status,
    due_accounts,
    last_touch,
    log_touch,
    open_items,
    search_key,
)
from bot.vip.book import AccountRecord, ImportRowError, upsert_account
from bot.vip.picks import daily_picks
from bot.vip.search import search_accounts
from models import Account, AccountDomain, Item

HELP = """*/vip* — your VIP book in Slack
• `/vip acme` — look an account up (name, domain or contact e-mail; typos are fine)
• `/vip items acme` — every open item of an account, escalations and detractors first
• `/vip picks` — your VIPs to touch, ranked by risk and value (open detractors and escalations, renewal, ARR, days overdue), each with why
• `/vip due` — your VIPs due or overdue for a check-in, most overdue first
• `/vip touch acme called about renewal` — log a touch (`"acme corp"` in quotes for several words; start the note with call, email, meeting, social or slack to say how — default call)
• `/vip add acme.com @owner [tier]` — add an account (admins)
• `/vip owner acme @someone` — set an account's owner (admins)"""

_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_RAW_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$")
# The first word of a touch note may say how the touch happened.
_TOUCH_WORDS = {
    "call": "call", "called": "call", "phoned": "call", "phone": "call", "rang": "call",
    "email": "email", "emailed": "email", "mailed": "email", "e-mailed": "email",
    "meeting": "meeting", "met": "meeting", "meet": "meeting", "visited": "meeting",
    "social": "social", "linkedin": "social", "twitter": "social",
    "slack": "slack", "slacked": "slack", "dm": "slack", "dmed": "slack",
}
DEFAULT_TOUCH_CHANNEL = "call"
CARD_ITEMS_LOADED = 200  # more than the card's sections can ever show
ALL_ITEMS_LOADED = 1000  # more than `/vip items` can ever show


@dataclass(frozen=True)
class Reply:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"

    @classmethod
    def plain(cls, text: str) -> Reply:
        return cls(text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}])


def parse_user(token: str) -> str | None:
    """'<@U0ANA|ana>' (how Slack escapes a mention in a command) or a bare 'U0ANA' → 'U0ANA'."""
    match = _MENTION.match(token)
    if match:
        return match.group(1)
    return token if _RAW_USER_ID.match(token) else None


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: fall back to plain words
        return text.split()


def load_card(session: Session, account: Account, *, now: datetime) -> AccountCard:
    touch = last_touch(session, account.id)
    domains = tuple(session.scalars(select(AccountDomain.domain).where(AccountDomain.account_id == account.id)
                                    .order_by(AccountDomain.domain)))
    scored = session.execute(select(Item.received_at, Item.kind, Item.score)
                             .where(Item.account_id == account.id, Item.score.is_not(None))
                             .order_by(Item.received_at.desc(), Item.id.desc()).limit(5)).all()
    open_count, open_rows = open_items(session, account.id, limit=CARD_ITEMS_LOADED)
    comments = session.execute(select(Item.received_at, Item.comment, Item.id)
                               .where(Item.account_id == account.id, Item.comment.is_not(None))
                               .order_by(Item.received_at.desc(), Item.id.desc()).limit(3)).all()

    return AccountCard(
        account_id=account.id, name=account.name, vip=account.vip, tier=account.tier, owner=account.owner,
        plan=account.plan, arr=account.arr, renewal_on=account.renewal_on, domains=domains,
        cadence_days=account.cadence_days, cadence_status=cadence_status(account, now),
        last_touch=TouchView(touch.touched_at, touch.actor, touch.channel, touch.note) if touch else None,
        scores=tuple((when, kind, score) for when, kind, score in scored),
        open_items=tuple(map(_item_line, open_rows)), open_count=open_count,
        all_items_hint=f"`/vip items {_command_name(account.name)}` lists them all",
        comments=tuple((when, comment) for when, comment, _ in comments),
        quoted_items=tuple(sorted({row.item.id for row in open_rows} | {item_id for _, _, item_id in comments})),
        issues=account_issues(session, account.id),
    )


def _item_line(row: OpenItem) -> ItemLine:
    link = message_link(row.message.channel, row.message.ts) if row.message else None
    return ItemLine(row.item.id, item_label(row.item, customer=False), link, row.item.received_at, claimed_by=row.follow_up.claimed_by)


def _command_name(name: str) -> str:
    """An account name as `/vip` takes it back: quoted when it has spaces, escaped for mrkdwn."""
    words = " ".join(name.split()).replace('"', "")[:100]
    return escape_mrkdwn(f'"{words}"' if " " in words else words)


def all_open_items(session: Session, words: list[str]) -> Reply:
    """`/vip items acme`: every open item of one account, in the card's order."""
    account, problem = _one_account(session, " ".join(words))
    if account is None:
        return Reply.plain(problem or "")
    total, rows = open_items(session, account.id, limit=ALL_ITEMS_LOADED)
    return Reply(text=f"{escaped_truncated(account.name, 200)}: {total} open item(s)",
                 blocks=open_items_list(account.id, account.name, [_item_line(r) for r in rows], total=total))


def card_reply(session: Session, account: Account, *, now: datetime, shareable: bool = True) -> Reply:
    # The fallback text is parsed for mentions too (and a shared card is posted in the channel): escaped.
    return Reply(text=f"{escaped_truncated(account.name, 200)}: {cadence_status(account, now)}",
                 blocks=account_card(load_card(session, account, now=now), shareable=shareable))


def share_card(session: Session, account: Account, *, channel: str, now: datetime) -> None:
    """Post the account's card in the channel through the outbox, recording the items it quotes, so
    `cxloop forget` reaches it as it reaches digests (a response_url post could never be edited again)."""
    card = load_card(session, account, now=now)
    queue_message(session, channel=channel, text=f"{escaped_truncated(account.name, 200)}: {card.cadence_status}",
                  blocks=account_card(card, shareable=False), now=now, quotes=card.quoted_items)


def look_up(session: Session, query: str, *, now: datetime) -> Reply:
    result = search_accounts(session, query)
    if result.kind == "one":
        return card_reply(session, session.get(Account, result.matches[0].account_id), now=now)
    if result.kind == "several":
        return Reply(text=f"Several accounts match '{escaped_truncated(query, 100)}'",
                     blocks=account_choices(result.matches, query))
    return Reply(text=f"No account matches '{escaped_truncated(query, 100)}'", blocks=no_match(query, result.matches))


def my_due(session: Session, *, user_id: str, now: datetime) -> Reply:
    due = due_accounts(session, owner=user_id, now=now, limit=25)
    rows = [(d.account.id, d.account.name, cadence_status(d.account, now)) for d in due]
    return Reply(text=f"{len(rows)} VIP check-in(s) due", blocks=due_list(rows, title="Your VIPs due or overdue"))


PICKS_LISTED = 40  # one block each, within Slack's 50 blocks per message


def my_picks(session: Session, *, user_id: str, config: AppConfig, now: datetime) -> Reply:
    """Every account due or at risk, ranked as today's picks are (the DM and App Home show the first few)."""
    today = daily_picks(session, owner=user_id, now=now.astimezone(ZoneInfo(config.timezone_of(user_id))),
                        limit=PICKS_LISTED)
    if not today.picks:
        return Reply.plain("No VIP of yours is due for a check-in or has anything open. 🎉")
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text":
                                     f"*Your VIPs to touch, ranked by risk and value* ({today.candidates})"}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text":
                f"{rank}. {pick_line(pick.account.name, pick.reasons)}"}}
               for rank, pick in enumerate(today.picks, 1)]
    more = today.candidates - len(today.picks)
    if more > 0:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       f"… and {more} more: `/vip due` lists every check-in due."}]})
    return Reply(text=f"{today.candidates} VIP(s) to touch", blocks=blocks)


def _one_account(session: Session, query: str) -> tuple[Account | None, str | None]:
    """The one account `query` names (a typo is fine when one account is the clear best match), or why not.

    The same search as a `/vip acme` look-up, so what the card finds, `/vip touch` and `/vip owner` act on."""
    result = search_accounts(session, query)
    if result.kind == "one":
        return session.get(Account, result.matches[0].account_id), None
    if result.kind == "several":
        names = ", ".join(f"*{escaped_truncated(m.name, 60)}*" for m in result.matches)
        return None, f"Several accounts match `{escaped_truncated(query, 60)}`: {names}. Be more specific " \
                     "(quote a name with spaces: `/vip touch \"acme corp\" …`)."
    return None, f"No account matches `{escaped_truncated(query, 60)}`. Try `/vip {escape_mrkdwn(query[:60])}`."


def _used_for(account: Account, query: str) -> str:
    """' (best match for `aceme`)' when the account's name is not what was typed: say which was used."""
    if search_key(account.name).rstrip(".") == search_key(query).rstrip("."):
        return ""
    return f" (best match for `{escaped_truncated(query, 60)}`)"


def touch(session: Session, words: list[str], *, user_id: str, now: datetime) -> Reply:
    if not words:
        return Reply.plain("Which account? `/vip touch acme called about renewal`")
    account, problem = _one_account(session, words[0])
    if account is None:
        return Reply.plain(problem or "")
    note_words = words[1:]
    channel = DEFAULT_TOUCH_CHANNEL
    if note_words and note_words[0].lower().strip(":,.") in _TOUCH_WORDS:
        channel = _TOUCH_WORDS[note_words[0].lower().strip(":,.")]
    log_touch(session, account_id=account.id, actor=user_id, channel=channel, note=" ".join(note_words), now=now)
    return Reply.plain(f"Logged a {channel} with *{escaped_truncated(account.name, 100)}*"
                       f"{_used_for(account, words[0])}. Next check-in {cadence_status(account, now)}.")


def add_account(session: Session, words: list[str], *, config: AppConfig, user_id: str, now: datetime) -> Reply:
    if not config.is_admin(user_id):
        return Reply.plain(_refusal("add accounts", config))
    if len(words) < 2:
        return Reply.plain("Usage: `/vip add acme.com @owner [tier]`")
    domain = words[0].lower().removeprefix("https://").removeprefix("http://").removeprefix("www.").strip("/")
    owner = parse_user(words[1])
    if not _DOMAIN.match(domain):
        return Reply.plain(f"`{escaped_truncated(words[0], 60)}` is not a domain like `acme.com`.")
    if owner is None:
        return Reply.plain(f"`{escaped_truncated(words[1], 60)}` is not a person: mention them, like `@ana`.")
    if session.scalar(select(AccountDomain).where(AccountDomain.domain == domain)) is not None:
        return Reply.plain(f"`{domain}` is already in the VIP book: `/vip {domain}` shows it.")
    name = domain.split(".")[0].replace("-", " ").title()
    try:
        upsert_account(session, AccountRecord(name=name, domains=(domain,), owner=owner,
                                              tier=" ".join(words[2:]) or None), now=now)
    except ImportRowError as exc:
        return Reply.plain(f"Could not add {domain}: {escape_mrkdwn(str(exc))}")
    return Reply.plain(f"Added *{escaped_truncated(name, 100)}* ({domain}), owned by {user_mention(owner)}.")


def set_owner(session: Session, words: list[str], *, config: AppConfig, user_id: str, now: datetime) -> Reply:
    if not config.is_admin(user_id):
        return Reply.plain(_refusal("change owners", config))
    if len(words) < 2 or parse_user(words[-1]) is None:
        return Reply.plain("Usage: `/vip owner acme @someone`")
    account, problem = _one_account(session, " ".join(words[:-1]))
    if account is None:
        return Reply.plain(problem or "")
    assign_owner(account, parse_user(words[-1]), now=now)
    return Reply.plain(f"{user_mention(account.owner)} now owns *{escaped_truncated(account.name, 100)}*"
                       f"{_used_for(account, ' '.join(words[:-1]))}.")


def assign_owner(account: Account, owner: str | None, *, now: datetime) -> None:
    account.owner, account.updated_at = owner, now


def _refusal(what: str, config: AppConfig) -> str:
    admins = ", ".join(user_mention(a) for a in config.admins[:5])
    return (f"Sorry, only cxloop admins can {what}."
            + (f" Ask {admins}." if admins else " No admins are configured yet (`admins` in cxloop.toml)."))


def run_vip_command(session: Session, *, text: str, user_id: str, config: AppConfig, now: datetime) -> Reply:
    # NUL cannot be stored or even compared on Postgres (a DataError); nobody types one on purpose.
    words = _split((text or "").replace("\x00", "").strip())
    if not words or words[0].lower() == "help":
        return Reply.plain(HELP)
    verb, rest = words[0].lower(), words[1:]
    if verb == "picks" and not rest:
        return my_picks(session, user_id=user_id, config=config, now=now)
    if verb == "due" and not rest:
        return my_due(session, user_id=user_id, now=now)
    if verb == "items" and rest:
        return all_open_items(session, rest)
    if verb == "touch":
        return touch(session, rest, user_id=user_id, now=now)
    if verb == "add":
        return add_account(session, rest, config=config, user_id=user_id, now=now)
    if verb == "owner":
        return set_owner(session, rest, config=config, user_id=user_id, now=now)
    return look_up(session, " ".join(words), now=now)


