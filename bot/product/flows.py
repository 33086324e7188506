"""Orchestration of the product loop: a tracker event → who tells which customer; Send / Skip; the
tracker API calls the outbox makes; the demand ranking."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AppConfig
from bot.db import session_scope
from bot.delivery.outbound import CallFailed
from bot.followups.close_loop import queue_customer_reply, reply_route
from bot.product import service as product
from bot.product.adapters import adapter_for
from bot.product.trackers import Credentials, IssueEvent
from bot.schedule.plans import queue_message
from bot.slack import product_blocks
from bot.slack.product_blocks import ShipEntry
from models import IssueLink, Item, TrackerIssue
from models.product import COMPLETED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventOutcome:
    status: str  # applied | duplicate | unknown_issue | unchanged
    asked: int = 0  # people asked to tell their customers
    reported: int = 0  # threads told (not planned / reopened)

    def as_json(self) -> dict:
        return {"status": self.status, "asked": self.asked, "reported": self.reported}


def apply_issue_event(session: Session, *, tracker: str, event: IssueEvent, config: AppConfig,
                      now: datetime) -> EventOutcome:
    """A verified tracker event, once per delivery id and once per state change."""
    if not product.claim_delivery(session, tracker=tracker, delivery_id=event.delivery_id, now=now):
        return EventOutcome("duplicate")
    issue = product.find_issue(session, tracker=tracker, key=event.key)
    if issue is None:
        return EventOutcome("unknown_issue")
    if event.action == "reopened":
        if not product.reopen_issue(session, issue=issue, now=now):
            return EventOutcome("unchanged")
        return EventOutcome("applied", reported=_report(session, issue, config, now, "🔁 {link} was reopened."))
    if not product.close_issue(session, issue=issue, reason=event.state_reason, title=event.title, url=event.url,
                               now=now):
        return EventOutcome("unchanged")
    if event.state_reason != COMPLETED:
        # Closed as not planned (or without a reason): the threads hear it; nobody is asked to send anything.
        why = "as not planned" if event.state_reason == "not_planned" else "without being completed"
        return EventOutcome("applied", reported=_report(session, issue, config, now, f"🚫 {{link}} was closed {why}."))
    handed = product.mark_to_notify(session, issue_id=issue.id, now=now)
    for recipient in handed:
        text, blocks, item_ids = shipped_message(session, issue=issue, recipient=recipient, config=config)
        queue_message(session, channel=recipient, text=text, blocks=blocks, now=now, quotes=item_ids)
    _report(session, issue, config, now, "🚀 {link} shipped.", with_owner=True)
    return EventOutcome("applied", asked=len(handed))


def _report(session: Session, issue: TrackerIssue, config: AppConfig, now: datetime, template: str,
            with_owner: bool = False) -> int:
    link = product.issue_link_text(config, issue)
    rows = session.execute(select(Item, IssueLink.notify_to).join(IssueLink, IssueLink.item_id == Item.id)
                           .where(IssueLink.issue_id == issue.id).order_by(Item.id)).all()
    for item, notify_to in rows:
        text = template.format(link=link)
        if with_owner and notify_to:
            who = f"<@{notify_to}>" if notify_to[:1] in "UW" else "this channel"
            text += f" {who} is asked to tell the customer."
        product._thread_reply(session, item, text, now)
    return len(rows)


def draft_reply(item: Item, issue: TrackerIssue) -> str:
    name = (item.customer_name or "").split(" ")[0].strip()
    what = (issue.title or "the change you asked about").strip()
    return (f"Hi {name or 'there'},\n\nThank you again for your feedback. Good news: {what} has just shipped. "
            "We would love to hear whether it works for you.\n")


def _entries(session: Session, *, issue: TrackerIssue, recipient: str, config: AppConfig) -> list[ShipEntry]:
    rows = session.execute(select(IssueLink, Item).join(Item, Item.id == IssueLink.item_id)
                           .where(IssueLink.issue_id == issue.id, IssueLink.notify_to == recipient)
                           .order_by(IssueLink.id)).all()
    entries = []
    for link, item in rows:
        route = reply_route(item, config)
        status = "told" if link.told_at else "skipped" if link.skipped_at else "pending"
        entries.append(ShipEntry(link_id=link.id, item_id=item.id, customer=item.customer_name or item.customer_email,
                                 account=item.account_name, comment=item.comment, draft=draft_reply(item, issue),
                                 via=route.via if route else None, status=status, by=link.told_by))
    return entries


def shipped_message(session: Session, *, issue: TrackerIssue, recipient: str,
                    config: AppConfig) -> tuple[str, list[dict], list[int]]:
    entries = _entries(session, issue=issue, recipient=recipient, config=config)
    text, blocks = product_blocks.shipped_message(issue_id=issue.id, link=product.issue_link_text(config, issue),
                                                  title=issue.title, entries=entries)
    return text, blocks, [e.item_id for e in entries]


@dataclass(frozen=True)
class TellResult:
    told: int
    refused: list[str]  # one line per customer who could not be told, for the person


def tell_customers(session: Session, *, link_ids: list[int], user_id: str, config: AppConfig,
                   now: datetime) -> TellResult:
    """Send each link's drafted reply through the item's reply channel, once (compare-and-set on the link).
    Permission is checked by the caller, per item, in this transaction."""
    told, refused = 0, []
    for link_id in link_ids:
        link = session.get(IssueLink, link_id)
        item = session.get(Item, link.item_id) if link else None
        issue = session.get(TrackerIssue, link.issue_id) if link else None
        if link is None or item is None or issue is None:
            continue
        who = item.customer_name or item.customer_email or f"item #{item.id}"
        if reply_route(item, config) is None:
            refused.append(f"{who}: cannot be reached from here (no ticket, conversation or e-mail)")
            continue
        if not product.mark_told(session, link_id=link_id, user_id=user_id, now=now):
            continue  # told or skipped already (a second click, another person)
        queue_customer_reply(session, item_id=item.id, user_id=user_id, text=draft_reply(item, issue),
                             config=config, now=now)
        told += 1
    return TellResult(told, refused)


@dataclass(frozen=True)
class ShipTargets:
    """What a Send / Send to all / Skip click acts on: the issue, whose message it is, each link's item."""

    issue_id: int
    recipient: str
    items: dict[int, int]  # link id → item id


def ship_targets(session: Session, *, prefix: str, record_id: int, user_id: str,
                 channel_id: str | None) -> ShipTargets | None:
    """`link:N` (one customer) or `issue:N` (every customer of that issue handed to this person, or to
    the channel the message is in)."""
    if prefix == "link":
        link = session.get(IssueLink, record_id)
        if link is None or link.notify_to is None:
            return None
        return ShipTargets(link.issue_id, link.notify_to, {link.id: link.item_id})
    if prefix != "issue":
        return None
    for recipient in (user_id, channel_id):
        if recipient:
            links = session.execute(select(IssueLink.id, IssueLink.item_id).where(
                IssueLink.id.in_(product.pending_links(session, issue_id=record_id, recipients=[recipient])))).all()
            if links:
                return ShipTargets(record_id, recipient, dict(links))
    return ShipTargets(record_id, user_id, {})


def apply_ship_choice(session: Session, *, targets: ShipTargets, link_ids: list[int], skip: bool, user_id: str,
                      config: AppConfig, now: datetime) -> tuple[TellResult, str, list[dict]]:
    """Send (or skip) the allowed links, then the message re-rendered with what is done."""
    if skip:
        result = TellResult(sum(product.mark_skipped(session, link_id=link_id, user_id=user_id, now=now)
                                for link_id in link_ids), [])
    else:
        result = tell_customers(session, link_ids=link_ids, user_id=user_id, config=config, now=now)
    issue = session.get(TrackerIssue, targets.issue_id)
    text, blocks, _ = shipped_message(session, issue=issue, recipient=targets.recipient, config=config)
    return result, text, blocks


# --- the outbox's tracker calls ----------------------------------------------------------------------


def perform_tracker_call(factory: sessionmaker[Session], payload: dict, config: AppConfig | None,
                         now: datetime) -> str | None:
    """Make one queued tracker call and record its answer. Raises CallFailed (retryable or not).
    Returns a note for `cxloop outbox`."""
    if config is None:
        raise CallFailed("this worker has no configuration", retryable=True)
    tracker = config.tracker(str(payload.get("tracker", "")))
    if tracker is None:
        raise CallFailed(f"tracker {payload.get('tracker')!r} is no longer configured", retryable=False)
    with session_scope(factory) as session:
        issue = session.get(TrackerIssue, payload.get("issue_id"))
        issue_id, key = (issue.id, issue.key) if issue else (None, None)
    if issue_id is None:
        return "the issue is gone"
    adapter = adapter_for(tracker.type)
    stored = config.tracker_credentials.get(tracker.name, {})
    credentials = Credentials(token=stored.get("token", ""), user=stored.get("user", ""))
    purpose = payload.get("purpose")
    if purpose == product.CREATE:
        if key is not None:
            return "already created"  # a retry after the answer was recorded
        facts = adapter.create(tracker, credentials, title=payload.get("title") or "Customer feedback",
                               body=payload.get("body") or "")
    elif purpose == product.FETCH:
        facts = adapter.fetch(tracker, credentials, key)
    else:
        raise CallFailed(f"unknown tracker call {purpose!r}", retryable=False)
    with session_scope(factory) as session:
        if not product.apply_facts(session, issue_id=issue_id, facts=facts, config=config, now=now,
                                   created_by=payload.get("by")):
            return f"{facts.key} was already linked; this row kept its own"
    log.info("tracker %s: %s issue %s", tracker.name, purpose, facts.key)
    return None


# --- demand ---------------------------------------------------------------------------------------------
