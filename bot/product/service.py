"""Issue links and issue state: queries and compare-and-set changes. Never commits; the caller does.

Many items link to one issue. An issue closed as completed "ships" once (`shipped_at`); each linked
item's person to tell is recorded once (`notified_at`), and each customer is told (or skipped) once
(`told_at` / `skipped_at`), every one of them a conditional UPDATE whose row count decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import AppConfig, TrackerConfig
from bot.delivery.outbox import ThreadReply, TrackerCall, UpdateItem, enqueue
from bot.followups.service import MAX_NOTE_CHARS
from bot.product.adapters import adapter_for
from bot.product.trackers import IssueFacts, IssueRef, issue_label
from bot.slack.blocks import is_link_url, thread_note
from bot.slack.mrkdwn import escaped_truncated, user_mention
from models import Account, FollowUp, IssueLink, Item, TrackerIssue, WebhookEventSeen
from models.product import COMPLETED, CREATING, ISSUE_CLOSED, ISSUE_OPEN

CREATE, FETCH = "create", "fetch"
SIMILAR_LIMIT = 5


@dataclass(frozen=True)
class LinkResult:
    linked: bool
    issue_id: int | None = None
    reason: str | None = None  # why nothing was linked, for the person


def issue_url(tracker: TrackerConfig | None, issue: TrackerIssue) -> str | None:
    if issue.url:
        return issue.url
    if tracker is not None and issue.key:
        return adapter_for(tracker.type).web_url(tracker, issue.key)
    return None


def _link(url: str | None, label: str) -> str:
    """mrkdwn `<url|label>`; a URL that could break out of the link (`|`, `>`, spaces) is left out."""
    label = escaped_truncated(label, 200)
    if url and is_link_url(url) and not any(c in url for c in "<>|"):
        return f"<{url}|{label}>"
    return label


def issue_link_text(config: AppConfig, issue: TrackerIssue) -> str:
    """`<url|acme/app#42>` (mrkdwn), or the plain label while the issue is being created."""
    tracker = config.tracker(issue.tracker)
    return _link(issue_url(tracker, issue), issue_label(tracker, issue.key))


def status_label(issue: TrackerIssue) -> str:
    if issue.state == ISSUE_CLOSED:
        return "shipped" if issue.state_reason == COMPLETED else "closed, not planned"
    return "being created" if issue.state == CREATING else "open"


def linked_issues(session: Session, item_id: int, config: AppConfig) -> tuple[str, ...]:
    """The item's issues with their live status, for its message: `<url|acme/app#42> (open)`."""
    issues = session.scalars(select(TrackerIssue).join(IssueLink, IssueLink.issue_id == TrackerIssue.id)
                             .where(IssueLink.item_id == item_id).order_by(IssueLink.id).limit(5)).all()
    return tuple(f"{issue_link_text(config, issue)} ({status_label(issue)})" for issue in issues)


_GITHUB_ISSUE_URL = re.compile(r"^https://github\.com/([^/\s]+/[^/\s]+)/issues/(\d+)$")


def account_issues(session: Session, account_id: int, limit: int = 5) -> tuple[str, ...]:
    """The issues an account's feedback is linked to, newest link first, for its VIP card. Labelled from
    what is stored (the card is built without the configuration): `<url|acme/app#42> (open)`, `ENG-7`."""
    issues = session.execute(select(TrackerIssue).join(IssueLink, IssueLink.issue_id == TrackerIssue.id)
                             .join(Item, Item.id == IssueLink.item_id).where(Item.account_id == account_id)
                             .order_by(IssueLink.id.desc())).scalars().unique().all()[:limit]
    return tuple(f"{_stored_link(issue)} ({status_label(issue)})" for issue in issues)


def _stored_link(issue: TrackerIssue) -> str:
    """The issue as mrkdwn from what is stored, for views built without the configuration."""
    match = _GITHUB_ISSUE_URL.match(issue.url or "")
    return _link(issue.url, f"{match.group(1)}#{match.group(2)}" if match else issue.key or "new issue")


def team_active_issues(session: Session, *, team: str, limit: int = 5) -> tuple[str, ...]:
    """Open issues the team's feedback is linked to, most customers first: `<url|acme/app#42> (3 customers)`."""
    customers = func.count(func.distinct(func.coalesce(Item.customer_email, func.cast(Item.id, String))))
    rows = session.execute(select(TrackerIssue, customers).join(IssueLink, IssueLink.issue_id == TrackerIssue.id)
                           .join(Item, Item.id == IssueLink.item_id)
                           .where(Item.team == team, TrackerIssue.state != ISSUE_CLOSED)
                           .group_by(TrackerIssue.id).order_by(customers.desc(), TrackerIssue.id)
                           .limit(limit)).all()
    return tuple(f"{_stored_link(issue)} ({count} customer{'s' if count != 1 else ''})" for issue, count in rows)


def days_to_ship(first_feedback: datetime, shipped_at: datetime) -> float:
    """Time from feedback to shipped: from an issue's first linked feedback to its completion, in days
    (the dashboard's demand table and the digest)."""
    return (shipped_at - first_feedback).total_seconds() / 86400


def customers_told(session: Session, *, team: str, start: datetime, end: datetime) -> int:
    """The team's linked items whose customer was told in [start, end) that their issue shipped."""
    return int(session.scalar(select(func.count()).select_from(IssueLink).join(Item, Item.id == IssueLink.item_id)
                              .where(Item.team == team, IssueLink.told_at >= start, IssueLink.told_at < end)) or 0)


def shipped_between(session: Session, *, team: str, start: datetime, end: datetime,
                    limit: int = 5) -> list[tuple[str, float]]:
    """Issues the team's feedback is linked to that shipped in [start, end): (`<url|acme/app#42>`, days
    from its first linked feedback of this team to shipped), first shipped first."""
    rows = session.execute(select(TrackerIssue, func.min(Item.received_at))
                           .join(IssueLink, IssueLink.issue_id == TrackerIssue.id)
                           .join(Item, Item.id == IssueLink.item_id)
                           .where(Item.team == team, TrackerIssue.shipped_at >= start, TrackerIssue.shipped_at < end)
                           .group_by(TrackerIssue.id).order_by(TrackerIssue.shipped_at, TrackerIssue.id)
                           .limit(limit)).all()
    return [(_stored_link(issue), days_to_ship(first, issue.shipped_at)) for issue, first in rows]


def refresh_items(session: Session, issue_id: int, now: datetime) -> None:
    """Re-render the messages of an issue's items (their issue line shows its status)."""
    for item in _linked_items(session, issue_id):
        enqueue(session, UpdateItem(reason="issue"), channel=item.channel, item_id=item.id, now=now)


def _thread_reply(session: Session, item: Item, text: str, now: datetime, quote: str | None = None) -> None:
    body, blocks = thread_note(text, quote)
    enqueue(session, ThreadReply(text=body, blocks=blocks), channel=item.channel, item_id=item.id, now=now)


def _queue_call(session: Session, tracker: str, issue_id: int, purpose: str, now: datetime,
                **fields: str | None) -> None:
    enqueue(session, TrackerCall(purpose=purpose, tracker=tracker, issue_id=issue_id, **fields),
            channel=TrackerCall.channel_for(tracker), now=now)


def _issue_for(session: Session, ref: IssueRef, now: datetime) -> tuple[TrackerIssue, bool]:
    """The stored issue for a reference, made if new (a concurrent maker's row is used instead)."""
    found = session.scalar(select(TrackerIssue).where(TrackerIssue.tracker == ref.tracker, TrackerIssue.key == ref.key))
    if found is not None:
        return found, False
    issue = TrackerIssue(tracker=ref.tracker, key=ref.key, state=ISSUE_OPEN, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(issue)
    except IntegrityError:
        found = session.scalar(select(TrackerIssue).where(TrackerIssue.tracker == ref.tracker,
                                                          TrackerIssue.key == ref.key))
        assert found is not None
        return found, False
    return issue, True


def _add_link(session: Session, issue: TrackerIssue, item_id: int, user_id: str, now: datetime) -> bool:
    try:
        with session.begin_nested():
            session.add(IssueLink(issue_id=issue.id, item_id=item_id, linked_by=user_id, linked_at=now))
    except IntegrityError:
        return False
    return True


def link_existing(session: Session, *, item_id: int, ref: IssueRef, user_id: str, config: AppConfig,
                  now: datetime) -> LinkResult:
    """Link an item to an issue that exists in the tracker; its title and state are read through the outbox."""
    item = session.get(Item, item_id)
    if item is None:
        return LinkResult(False, reason="This item no longer exists.")
    issue, new = _issue_for(session, ref, now)
    if not _add_link(session, issue, item_id, user_id, now):
        return LinkResult(False, issue.id, reason=f"Already linked to {issue_label(config.tracker(ref.tracker), ref.key)}.")
    if new:
        _queue_call(session, ref.tracker, issue.id, FETCH, now)
    _thread_reply(session, item, f"🔗 {user_mention(user_id) or user_id} linked this to "
                                 f"{issue_link_text(config, issue)}", now)
    _refresh_item(session, item, now)  # its message's issue line
    return LinkResult(True, issue.id)


def _refresh_item(session: Session, item: Item, now: datetime) -> None:
    enqueue(session, UpdateItem(reason="issue"), channel=item.channel, item_id=item.id, now=now)


def link_new(session: Session, *, item_id: int, tracker: TrackerConfig, title: str, body: str, user_id: str,
             now: datetime) -> LinkResult:
    """Link an item to a new issue, created in the tracker by the outbox worker."""
    item = session.get(Item, item_id)
    if item is None:
        return LinkResult(False, reason="This item no longer exists.")
    issue = TrackerIssue(tracker=tracker.name, key=None, title=title[:500], state=CREATING, created_at=now,
                         updated_at=now)
    session.add(issue)
    session.flush()
    _add_link(session, issue, item_id, user_id, now)
    _queue_call(session, tracker.name, issue.id, CREATE, now, title=title[:500], body=body[:60000], by=user_id)
    _refresh_item(session, item, now)
    return LinkResult(True, issue.id)


def apply_facts(session: Session, *, issue_id: int, facts: IssueFacts, config: AppConfig, now: datetime,
                created_by: str | None = None) -> bool:
    """What the tracker answered (after a create or a fetch). A created issue gets its key once, and its
    items' threads say so. Returns False when the key is taken (linked meanwhile by URL)."""
    issue = session.get(TrackerIssue, issue_id)
    if issue is None:
        return False
    values = {"url": facts.url, "title": facts.title or issue.title, "updated_at": now}
    if issue.state == CREATING:
        values.update(key=facts.key, state=facts.state, state_reason=facts.state_reason)
        try:
            with session.begin_nested():
                changed = session.execute(update(TrackerIssue).where(
                    TrackerIssue.id == issue_id, TrackerIssue.state == CREATING).values(**values)
                    .execution_options(synchronize_session=False)).rowcount
        except IntegrityError:
            return False
        session.refresh(issue)
        if changed:
            for item in _linked_items(session, issue_id):
                _thread_reply(session, item, f"🔗 {user_mention(created_by) or 'Someone'} created "
                                             f"{issue_link_text(config, issue)} for this", now)
            refresh_items(session, issue_id, now)
        return True
    # A fetch fills in the title and url. Later states come from webhooks; an issue already closed when it
    # was linked is recorded as closed (never shipped: nobody is asked to tell anyone about old news).
    session.execute(update(TrackerIssue).where(TrackerIssue.id == issue_id).values(**values)
                    .execution_options(synchronize_session=False))
    if facts.state == ISSUE_CLOSED:
        session.execute(update(TrackerIssue).where(TrackerIssue.id == issue_id, TrackerIssue.state == ISSUE_OPEN)
                        .values(state=ISSUE_CLOSED, state_reason=facts.state_reason)
                        .execution_options(synchronize_session=False))
    refresh_items(session, issue_id, now)
    return True


def _linked_items(session: Session, issue_id: int) -> list[Item]:
    return list(session.scalars(select(Item).join(IssueLink, IssueLink.item_id == Item.id)
                                .where(IssueLink.issue_id == issue_id).order_by(Item.id)))


def claim_delivery(session: Session, *, tracker: str, delivery_id: str, now: datetime) -> bool:
    """Record a tracker delivery id; False when it was recorded before (a redelivery: change nothing)."""
    insert = postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT DO NOTHING through SQLAlchemy.
    inserted = session.execute(insert(WebhookEventSeen).values(source=tracker, event_id=delivery_id[:128], created_at=now)
                               .on_conflict_do_nothing(index_elements=["source", "event_id"])
                               .returning(WebhookEventSeen.event_id)).scalar()
    return inserted is not None


def find_issue(session: Session, *, tracker: str, key: str) -> TrackerIssue | None:
    return session.scalar(select(TrackerIssue).where(TrackerIssue.tracker == tracker, TrackerIssue.key == key))


def close_issue(session: Session, *, issue: TrackerIssue, reason: str | None, title: str | None, url: str | None,
                now: datetime) -> bool:
    """open → closed, once; a closed-as-completed issue is shipped (shipped_at set once). False: no change."""
    values = {"state": ISSUE_CLOSED, "state_reason": reason, "updated_at": now}
    if title:
        values["title"] = title
    if url:
        values["url"] = url
    changed = session.execute(update(TrackerIssue).where(TrackerIssue.id == issue.id, TrackerIssue.state == ISSUE_OPEN)
                              .values(**values).execution_options(synchronize_session=False)).rowcount == 1
    if changed and reason == COMPLETED:
        session.execute(update(TrackerIssue).where(TrackerIssue.id == issue.id, TrackerIssue.shipped_at.is_(None))
                        .values(shipped_at=now).execution_options(synchronize_session=False))
    session.refresh(issue)
    if changed:
        refresh_items(session, issue.id, now)
    return changed


def reopen_issue(session: Session, *, issue: TrackerIssue, now: datetime) -> bool:
    changed = session.execute(update(TrackerIssue).where(TrackerIssue.id == issue.id, TrackerIssue.state == ISSUE_CLOSED)
                              .values(state=ISSUE_OPEN, state_reason=None, updated_at=now)
                              .execution_options(synchronize_session=False)).rowcount == 1
    session.refresh(issue)
    if changed:
        refresh_items(session, issue.id, now)
    return changed


def who_tells(item: Item, follow_up: FollowUp | None, account: Account | None) -> str:
    """Whoever should tell the customer: the claimer or resolver, else the account owner, else the team channel."""
    if follow_up is not None and (follow_up.claimed_by or follow_up.resolved_by):
        return follow_up.claimed_by or follow_up.resolved_by
    if account is not None and account.owner:
        return account.owner
    return item.channel


def mark_to_notify(session: Session, *, issue_id: int, now: datetime) -> dict[str, list[int]]:
    """Each linked item not yet handed to anyone: recorded with its person, once. {recipient: [link ids]}."""
    rows = session.execute(select(IssueLink, Item, FollowUp, Account)
                           .join(Item, Item.id == IssueLink.item_id)
                           .outerjoin(FollowUp, FollowUp.item_id == Item.id)
                           .outerjoin(Account, Account.id == Item.account_id)
                           .where(IssueLink.issue_id == issue_id, IssueLink.notified_at.is_(None))
                           .order_by(IssueLink.id)).all()
    by_recipient: dict[str, list[int]] = {}
    for link, item, follow_up, account in rows:
        recipient = who_tells(item, follow_up, account)
        won = session.execute(update(IssueLink).where(IssueLink.id == link.id, IssueLink.notified_at.is_(None))
                              .values(notified_at=now, notify_to=recipient)
                              .execution_options(synchronize_session=False)).rowcount == 1
        if won:
            by_recipient.setdefault(recipient, []).append(link.id)
    return by_recipient


def mark_told(session: Session, *, link_id: int, user_id: str, now: datetime) -> bool:
    return session.execute(update(IssueLink).where(IssueLink.id == link_id, IssueLink.told_at.is_(None),
                                                   IssueLink.skipped_at.is_(None))
                           .values(told_at=now, told_by=user_id)
                           .execution_options(synchronize_session=False)).rowcount == 1


def mark_skipped(session: Session, *, link_id: int, user_id: str, now: datetime) -> bool:
    return session.execute(update(IssueLink).where(IssueLink.id == link_id, IssueLink.told_at.is_(None),
                                                   IssueLink.skipped_at.is_(None))
                           .values(skipped_at=now, told_by=user_id)
                           .execution_options(synchronize_session=False)).rowcount == 1


def pending_links(session: Session, *, issue_id: int, recipients: Iterable[str]) -> list[int]:
    """Links of an issue handed to these recipients whose customer is neither told nor skipped."""
    return list(session.scalars(select(IssueLink.id).where(
        IssueLink.issue_id == issue_id, IssueLink.notify_to.in_(list(recipients)), IssueLink.told_at.is_(None),
        IssueLink.skipped_at.is_(None)).order_by(IssueLink.id)))


def similar_count(session: Session, item: Item) -> int:
    """How many other items of the last 90 days share a theme with this one (for the issue's body)."""
    if not item.themes:
        return 0
    candidates = session.scalars(select(Item.themes).where(Item.id != item.id, Item.kind == item.kind)
                                 .order_by(Item.id.desc()).limit(2000)).all()
    wanted = set(item.themes)
    return sum(1 for themes in candidates if wanted & set(themes or ()))


def draft_issue(session: Session, item: Item) -> tuple[str, str]:
    """A new issue's title and body, prefilled from the item: comment, customer, account, ARR, similar ones."""
    comment = " ".join((item.comment or item.subject or "").split())
    title = (comment[:80] + ("…" if len(comment) > 80 else "")) or f"Feedback from {item.account_name or 'a customer'}"
    account = session.get(Account, item.account_id) if item.account_id else None
    head = f"{item.kind.upper()} {item.score}" if item.score is not None else item.kind.capitalize()
    lines = [f"**Customer feedback** ({head}{', ' + item.category if item.category else ''})", ""]
    if item.comment or item.subject:
        lines += ["> " + line for line in (item.comment or item.subject or "").strip()[:MAX_NOTE_CHARS].splitlines()]
        lines.append("")
    who = item.customer_name or item.customer_email or "unknown"
    lines.append(f"- Customer: {who}")
    if item.account_name or account is not None:
        lines.append(f"- Account: {(account.name if account else item.account_name)}"
                     + (" (VIP)" if item.vip else ""))
    if account is not None and account.arr is not None:
        lines.append(f"- ARR: ${account.arr:,.0f}")
    similar = similar_count(session, item)
    if similar:
        lines.append(f"- {similar} other customer(s) said something similar ({', '.join(item.themes)})")
    lines.append(f"- cxloop item #{item.id}")
    return title, "\n".join(lines)
