"""Erasure and retention: `cxloop forget EMAIL` and `cxloop purge --older-than 400d`.

Forgetting a customer removes their personal data (comment, name, e-mail, subject, free-form
properties, notes about them, their VIP-book contact) from every row, keeps the anonymous facts
(score, category, themes, timings) so reports stay true, and queues the Slack side through the
outbox: the item's message is re-rendered showing "[erased]", quotes in its thread are blanked, and
digests that quoted the comment are rewritten. An erased item ignores later webhooks for it, so a
provider's retry cannot bring the data back. Both commands are idempotent and write an audit entry
that records counts and a hash of the e-mail, never the data itself.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from bot.slack.mrkdwn import escape_mrkdwn
from models import (
    AuditEntry,
    Contact,
    FollowUp,
    FollowUpEvent,
    Item,
    JobRun,
    OutboxMessage,
    SlackMessage,
    Touch,
)
from models.delivery import (
    DEAD,
    HTTP_CALL,
    PENDING,
    POST_MESSAGE,
    REDACT_MESSAGE,
    REDACT_THREAD,
    SENT,
    THREAD_REPLY,
    UPDATE_ITEM,
)

ERASED = "[erased]"
# Parts of a comment shorter than this are not searched for in digests: they would match other text.
MIN_NEEDLE_CHARS = 12
MIN_NAME_CHARS = 8
# How much of a (possibly truncated) quoted comment identifies it inside a digest's text.
NEEDLE_PREFIX_CHARS = 40
RETENTION_PATTERN = re.compile(r"^(\d{1,5})d$")


def email_hash(email: str) -> str:
    """What the audit log keeps of an erased address: enough to answer "was X erased?", not to read X."""
    return "sha256:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ForgetReport:
    items: int = 0
    contacts: int = 0
    notes: int = 0
    slack_updates: int = 0
    cancelled_replies: int = 0

    @property
    def changed(self) -> bool:
        return any(asdict(self).values())


def _needles(items: list[Item], email: str) -> list[str]:
    """Strings whose presence in a stored message means it quotes this customer."""
    found = {email.lower()}
    for item in items:
        # A full name only (two words or more): a lone first name or a ticket subject ("Billing issue")
        # would match other customers' lines too, and erase what is not hers.
        name = (item.customer_name or "").strip()
        if len(name) >= MIN_NAME_CHARS and " " in name:
            found.add(name.lower())
        comment = (item.comment or "").strip()
        if len(comment) >= MIN_NEEDLE_CHARS:
            # Digests show the comment escaped and cut short: look for the start of both forms.
            found.add(comment[:NEEDLE_PREFIX_CHARS].lower())
            found.add(escape_mrkdwn(comment)[:NEEDLE_PREFIX_CHARS].lower())
    return sorted(found, key=len, reverse=True)


def _scrub_blocks(value: Any, needles: list[str]) -> tuple[Any, bool]:
    """Every string that contains a needle becomes "[erased]" (a quote cannot be cut out cleanly once
    escaped and truncated, so the whole text goes)."""
    if isinstance(value, str):
        lowered = value.lower()
        return (ERASED, True) if any(needle in lowered for needle in needles) else (value, False)
    if isinstance(value, list):
        pairs = [_scrub_blocks(v, needles) for v in value]
        return [v for v, _ in pairs], any(c for _, c in pairs)
    if isinstance(value, dict):
        pairs = {k: _scrub_blocks(v, needles) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(c for _, c in pairs.values())
    return value, False


def forget_customer(session: Session, *, email: str, actor: str, now: datetime) -> ForgetReport:
    email = email.strip()
    items = list(session.scalars(select(Item).where(func.lower(Item.customer_email) == email.lower())))
    needles = _needles(items, email)
    item_ids = [item.id for item in items]
    slack_updates = cancelled = notes = 0

    for item in items:
        item.comment = ERASED if item.comment else None
        item.subject = ERASED if item.subject else None
        item.customer_name = item.customer_email = None
        item.properties, item.source_ref, item.url = {}, {}, None
        item.erased_at = item.erased_at or now
    if item_ids:
        follow_ups = list(session.scalars(select(FollowUp).where(FollowUp.item_id.in_(item_ids))))
        for follow_up in follow_ups:
            if follow_up.resolution_note:
                follow_up.resolution_note, notes = ERASED, notes + 1
        events = session.scalars(select(FollowUpEvent).where(
            FollowUpEvent.follow_up_id.in_([f.id for f in follow_ups])))
        for event in events:
            detail = dict(event.detail or {})
            for key in ("note", "text", "reply"):
                if detail.get(key) and detail[key] != ERASED:
                    detail[key], notes = ERASED, notes + 1
            event.detail = detail
        for touch in session.scalars(select(Touch).where(Touch.item_id.in_(item_ids), Touch.note.is_not(None))):
            if touch.note != ERASED:
                touch.note, notes = ERASED, notes + 1
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.item_id.in_(item_ids))):
            if row.kind == HTTP_CALL and row.status == PENDING:
                # A reply to the customer not yet sent: they asked to be forgotten, so it is not sent.
                row.status, row.last_error, cancelled = DEAD, "cancelled: the customer's data was erased", cancelled + 1
            if row.kind not in (UPDATE_ITEM, REDACT_THREAD):
                row.payload = {"text": ERASED} if row.kind == THREAD_REPLY and row.status == PENDING else {}
        posted = session.scalars(select(SlackMessage).where(SlackMessage.item_id.in_(item_ids)))
        for message in posted:
            session.add_all([
                OutboxMessage(kind=UPDATE_ITEM, item_id=message.item_id, channel=message.channel, available_at=now,
                              created_at=now, payload={"reason": "erased"}),
                OutboxMessage(kind=REDACT_THREAD, item_id=message.item_id, channel=message.channel,
                              available_at=now, created_at=now, payload={}),
            ])
            slack_updates += 2

    # Digests and DMs that quoted the customer: scrub what we store; rewrite what Slack already shows.
    for row in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == POST_MESSAGE)
                               .execution_options(yield_per=500)):
        scrubbed, changed = _scrub_blocks(copy.deepcopy(row.payload or {}), needles)
        if not changed:
            continue
        row.payload = scrubbed
        if row.status == SENT:
            session.add(OutboxMessage(kind=REDACT_MESSAGE, channel=row.channel, available_at=now, created_at=now,
                                      payload={"outbox_id": row.id}))
            slack_updates += 1

    contacts = session.execute(delete(Contact).where(func.lower(Contact.email) == email.lower())).rowcount
    report = ForgetReport(items=len(items), contacts=contacts, notes=notes, slack_updates=slack_updates,
                          cancelled_replies=cancelled)
    session.add(AuditEntry(action="forget", actor=actor[:100], subject=email_hash(email), detail=asdict(report),
                           created_at=now))
    return report


def parse_retention(text: str) -> timedelta:
    """ "400d" → 400 days. Days only: a retention policy is stated in days."""
    match = RETENTION_PATTERN.match(text.strip())
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"expected a number of days such as '400d', got {text[:20]!r}")
    return timedelta(days=int(match.group(1)))


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime
    items: int = 0
    outbox_rows: int = 0
    job_runs: int = 0
    touches: int = 0


def purge_item_batch(session: Session, *, cutoff: datetime, batch_size: int = 1000) -> int:
    """Delete up to `batch_size` items received before `cutoff`, with their follow-ups, events, outbox
    rows and Slack message records (ON DELETE CASCADE). The caller commits each batch, so a first
    purge of a big database never holds the write lock for long (intake and delivery go on)."""
    ids = list(session.scalars(select(Item.id).where(Item.received_at < cutoff).limit(batch_size)))
    return session.execute(delete(Item).where(Item.id.in_(ids))).rowcount if ids else 0


def purge_rest(session: Session, *, cutoff: datetime, items: int, actor: str, now: datetime) -> PurgeReport:
    """After the item batches: delivered outbox rows, job-ledger rows and touches older than `cutoff`,
    and the audit entry. Slack's copies stay in Slack, under the workspace's own retention settings."""
    outbox = session.execute(delete(OutboxMessage).where(
        OutboxMessage.created_at < cutoff, or_(OutboxMessage.status == SENT, OutboxMessage.status == DEAD))).rowcount
    runs = session.execute(delete(JobRun).where(JobRun.claimed_at < cutoff)).rowcount
    touches = session.execute(delete(Touch).where(Touch.created_at < cutoff)).rowcount
    report = PurgeReport(cutoff=cutoff, items=items, outbox_rows=outbox, job_runs=runs, touches=touches)
    session.add(AuditEntry(action="purge", actor=actor[:100], subject=f"before {cutoff:%Y-%m-%d}",
                           detail=json.loads(json.dumps(asdict(report), default=str)), created_at=now))
    return report
