"""The VIP book's domain: link items to accounts, log touches, and say who is due for a check-in.

An account is due when its last touch (or, never touched, its creation) is `cadence_days` old.
`next_due_at` is kept in step here, so a due list is one indexed range over (owner, next_due_at).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from bot.common.email_address import email_or_none
from bot.followups.queries import unresolved
from bot.followups.triage import triage_order
from models import Account, AccountDomain, Contact, FollowUp, Item, SlackMessage, Touch
from models.account import TOUCH_CHANNELS

MAX_TOUCH_NOTE_CHARS = 2900
_NON_WORD = re.compile(r"[^\w@.]+", re.UNICODE)


class TouchError(ValueError):
    """A touch we refuse, with a message for the person who tried."""


def search_key(text: str | None) -> str:
    """'ACME, Inc.' → 'acme inc.': lower-case, punctuation folded to single spaces."""
    return _NON_WORD.sub(" ", (text or "").lower()).strip()


def email_domain(email: str | None) -> str | None:
    """The domain of a valid address (bot.common.email_address, the one check); None for anything else."""
    address = email_or_none(email)
    return address.rsplit("@", 1)[1] if address else None


def due_at(account: Account) -> datetime:
    base = account.last_touch_at or account.created_at
    return base + timedelta(days=account.cadence_days)


def refresh_due(account: Account) -> None:
    account.next_due_at = due_at(account)


def find_account_for_item(session: Session, *, account_external_id: str | None,
                          email: str | None) -> Account | None:
    """The account an item belongs to: its account id, then a contact's e-mail, then the e-mail's domain.

    One round trip answers all three (every webhook asks, and most customers are in no VIP book);
    a second loads the account only when one matched."""
    domain = email_domain(email)
    asked = {"external_id": account_external_id or None, "email": email.lower() if email else None,
             "domain": domain}
    given = tuple(name for name, value in asked.items() if value is not None)
    if not given:
        return None
    # On the session's connection (Core): the ORM's statement handling cost more than the query.
    row = session.connection().execute(_account_link_statement(given), {name: asked[name] for name in given}).one()
    found = next((account_id for account_id in row if account_id is not None), None)
    return session.get(Account, found) if found is not None else None


@lru_cache(maxsize=8)
def _account_link_statement(given: tuple[str, ...]):
    # Built once per combination of what the webhook gave, values bound at execution: building the
    # statement per webhook cost more than running it.
    queries = {
        "external_id": select(Account.id).where(Account.external_id == bindparam("external_id")),
        "email": select(Contact.account_id).where(Contact.email == bindparam("email")),
        "domain": select(AccountDomain.account_id).where(AccountDomain.domain == bindparam("domain")),
    }
    return select(*(queries[name].limit(1).scalar_subquery() for name in given))


def log_touch(session: Session, *, account_id: int, actor: str, channel: str, note: str | None,
              now: datetime, item_id: int | None = None, touched_at: datetime | None = None) -> Touch:
    if channel not in TOUCH_CHANNELS:
        raise TouchError(f"Unknown touch channel {channel[:20]!r}: use one of {', '.join(TOUCH_CHANNELS)}.")
    account = session.get(Account, account_id)
    if account is None:
        raise TouchError("That account no longer exists.")
    touched_at = touched_at or now
    if touched_at > now + timedelta(minutes=5):
        raise TouchError("A touch cannot be in the future.")
    touch = Touch(account_id=account_id, actor=actor, channel=channel,
                  note=(note or "").strip()[:MAX_TOUCH_NOTE_CHARS] or None, item_id=item_id,
                  touched_at=touched_at, created_at=now)
    session.add(touch)
    # A back-dated touch must not move "last touch" backwards.
    if account.last_touch_at is None or touched_at > account.last_touch_at:
        account.last_touch_at = touched_at
        refresh_due(account)
    account.updated_at = now
    return touch


@dataclass(frozen=True)
class DueAccount:
    account: Account
    days_overdue: int  # 0: due today; negative: due in that many days


def days_overdue(account: Account, now: datetime) -> int:
    """Whole calendar days past due, counted in the timezone of `now` (the reader's day)."""
    due = account.next_due_at.astimezone(now.tzinfo) if now.tzinfo is not None else account.next_due_at
    return (now.date() - due.date()).days


def due_accounts(session: Session, *, owner: str, now: datetime, limit: int = 20,
                 include_snoozed: bool = False) -> list[DueAccount]:
    """The owner's VIP accounts due today or overdue, most overdue first."""
    end_of_today = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
    statement = (select(Account).where(Account.owner == owner, Account.vip.is_(True),
                                       Account.next_due_at < end_of_today)
                 .order_by(Account.next_due_at, Account.id).limit(limit))
    if not include_snoozed:
        statement = statement.where((Account.checkin_snoozed_until.is_(None))
                                    | (Account.checkin_snoozed_until <= now))
    return [DueAccount(account, days_overdue(account, now)) for account in session.scalars(statement)]


def cadence_status(account: Account, now: datetime) -> str:
    """'due today', 'due in 3 days', '5 days overdue'."""
    days = days_overdue(account, now)
    if days == 0:
        return "due today"
    if days < 0:
        return f"due in {-days} day{'s' if days != -1 else ''}"
    return f"{days} day{'s' if days != 1 else ''} overdue"


def last_touch(session: Session, account_id: int) -> Touch | None:
    return session.scalar(select(Touch).where(Touch.account_id == account_id)
                          .order_by(Touch.touched_at.desc(), Touch.id.desc()).limit(1))


def recent_items(session: Session, account_id: int, limit: int = 5) -> list[Item]:
    return list(session.scalars(select(Item).where(Item.account_id == account_id)
                                .order_by(Item.received_at.desc(), Item.id.desc()).limit(limit)))


@dataclass(frozen=True)
class OpenItem:
    item: Item
    follow_up: FollowUp
    message: SlackMessage | None


def open_items(session: Session, account_id: int, *, limit: int) -> tuple[int, list[OpenItem]]:
    """(how many of the account's items are open, the first `limit` of them in the triage order of
    bot.followups.triage: escalations by severity, VIP detractors, detractors, passives, promoters; oldest first)."""
    # What still waits for someone (a thanked promoter does not): the one definition the lists share.
    is_open = (Item.account_id == account_id, *unresolved())
    total = session.scalar(select(func.count()).select_from(Item).join(FollowUp, FollowUp.item_id == Item.id)
                           .where(*is_open)) or 0
    rows = session.execute(
        select(Item, FollowUp, SlackMessage).join(FollowUp, FollowUp.item_id == Item.id)
        .outerjoin(SlackMessage, SlackMessage.item_id == Item.id).where(*is_open)
        .order_by(*triage_order()).limit(limit)).all()
    return total, [OpenItem(item, follow_up, message) for item, follow_up, message in rows]
