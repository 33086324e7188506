"""Erasure and retention: `cxloop forget EMAIL` and `cxloop purge --older-than 400d`.

Forgetting a customer removes their personal data (comment, name, e-mail, subject, free-form
properties, notes about them, their VIP-book contact) from every row, keeps the anonymous facts
(score, category, themes, timings) so reports stay true, and queues the Slack side through the
outbox: the item's message is re-rendered showing "[erased]", quotes in its thread are blanked, and
every other message that showed the item (digests, weekly reports' topic quotes, DMs, App Homes;
recorded in message_quotes when it was queued or published, whatever its text) is rebuilt from the
erased data and edited in place. Her items leave the week's topics (membership rows deleted; a topic
she was the quote of takes the next closest member's comment).
An erased item ignores later webhooks for it, so a provider's retry cannot bring the data back.

A retention purge keeps open and claimed items (unless told otherwise) and each VIP account's latest
touch, and `purge_plan` says what it would delete before anything is. Both commands are idempotent and write an audit entry
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

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from bot.common.labels import item_label
from bot.delivery.outbox import PublishHome, RedactMessage, RedactThread, UpdateItem, enqueue
from bot.insights.digest import (
    DIGEST_RENDERER,
    REPORT_RENDERER,
    digest_data,
    digest_from_data,
    digest_message,
    quoted_items,
    report_data,
    report_from_data,
    report_message,
    report_without_items,
    without_items,
)
from bot.insights.topics import forget_in_topics
from bot.schedule.reminders import FOLLOW_UP_RENDERER, follow_up_due_message
from bot.slack.mrkdwn import escape_mrkdwn
from models import (
    AuditEntry,
    Contact,
    FollowUp,
    FollowUpEvent,
    Item,
    JobRun,
    MessageQuote,
    OutboxMessage,
    SlackMessage,
    Touch,
)
from models.delivery import (
    DEAD,
    HTTP_CALL,
    PENDING,
    POST_MESSAGE,
    REDACT_THREAD,
    SENT,
    THREAD_REPLY,
    UPDATE_ITEM,
)
from models.followup import RESOLVED

ERASED = "[erased]"
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


ERASED_NOTICE = "This message quoted a customer whose data has been erased."


def _rerender(session: Session, payload: dict[str, Any], erased_ids: set[int]) -> dict[str, Any]:
    """A quoting message's payload rebuilt from the erased data by the builder that made it (its
    "render" entry); a message no builder can rebuild is replaced by a notice. Where it was posted
    ("posted", "thread_ts") is kept, so the message is edited in place."""

    render = payload.get("render") or {}
    kept = {key: payload[key] for key in ("posted", "thread_ts") if key in payload}
    text, blocks = ERASED_NOTICE, [{"type": "section", "text": {"type": "mrkdwn", "text": ERASED_NOTICE}}]
    if render.get("name") == DIGEST_RENDERER and render.get("data"):
        digest = digest_from_data(render["data"])
        quoted = set(quoted_items(digest))
        items = {item.id: item for item in session.scalars(select(Item).where(Item.id.in_(quoted & erased_ids)))}
        labels = {item_id: item_label(items[item_id]) if item_id in items else ERASED
                  for item_id in quoted & erased_ids}
        digest = without_items(digest, labels, ERASED)
        text, blocks = digest_message(digest)
        render = {**render, "data": digest_data(digest)}
    elif render.get("name") == REPORT_RENDERER and render.get("data"):
        report = report_without_items(report_from_data(render["data"]), erased_ids)
        text, blocks = report_message(report)
        render = {**render, "data": report_data(report)}
    elif render.get("name") == FOLLOW_UP_RENDERER and render.get("item_id") is not None:
        item = session.get(Item, render["item_id"])
        if item is not None:
            message = session.scalar(select(SlackMessage).where(SlackMessage.item_id == item.id))
            text, blocks = follow_up_due_message(item, message)
    else:
        render = {}
    return {"text": text, "blocks": blocks, **({"render": render} if render else {}), **kept}


# Legacy: messages queued before message_quotes existed carry no record of what they quote. They are
# searched as before, with whitespace folded as the digest folds it; a matching string becomes "[erased]".
LEGACY_NAME_CHARS = 8
LEGACY_COMMENT_CHARS = 12
LEGACY_PREFIX_CHARS = 40
_SPACES = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACES.sub(" ", text).strip().lower()


def _legacy_needles(items: list[Item], email: str) -> list[str]:
    found = {_fold(email)}
    for item in items:
        name = _fold(item.customer_name or "")
        if len(name) >= LEGACY_NAME_CHARS and " " in name:  # a lone first name would match others' lines
            found.add(name)
        comment = _fold(item.comment or "")
        if len(comment) >= LEGACY_COMMENT_CHARS:
            found.add(comment[:LEGACY_PREFIX_CHARS])
            found.add(_fold(escape_mrkdwn(item.comment or ""))[:LEGACY_PREFIX_CHARS])
    return sorted(found, key=len, reverse=True)


def _legacy_scrub(value: Any, needles: list[str]) -> tuple[Any, bool]:
    if isinstance(value, str):
        folded = _fold(value)
        return (ERASED, True) if any(needle in folded for needle in needles) else (value, False)
    if isinstance(value, list):
        pairs = [_legacy_scrub(v, needles) for v in value]
        return [v for v, _ in pairs], any(c for _, c in pairs)
    if isinstance(value, dict):
        pairs = {k: _legacy_scrub(v, needles) if k != "posted" else (v, False) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(c for _, c in pairs.values())
    return value, False


def forget_customer(session: Session, *, email: str, actor: str, now: datetime) -> ForgetReport:
    email = email.strip()
    items = list(session.scalars(select(Item).where(func.lower(Item.customer_email) == email.lower())))
    legacy_needles = _legacy_needles(items, email)  # before the items are erased
    item_ids = [item.id for item in items]
    slack_updates = cancelled = notes = 0

    for item in items:
        item.comment = ERASED if item.comment else None
        item.subject = ERASED if item.subject else None
        item.customer_name = item.customer_email = None
        item.properties, item.source_ref, item.url = {}, {}, None
        # The sentiment reason and theme matches quote the comment's words.
        item.sentiment_reason = item.theme_matches = None
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
            enqueue(session, UpdateItem(reason="erased"), channel=message.channel, item_id=message.item_id, now=now)
            enqueue(session, RedactThread(), channel=message.channel, item_id=message.item_id, now=now)
            slack_updates += 2
        # Topics: her membership rows go, and a topic she was the quote of gets the next closest member's.
        forget_in_topics(session, item_ids)
        session.flush()  # the erased items, before messages are re-rendered from them

        # Messages that quoted her (digests, DMs): found by what they recorded when they were queued,
        # rebuilt from the erased data, and rewritten where Slack shows them.
        erased_ids = set(item_ids)
        quoting = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(
            select(MessageQuote.outbox_id).where(MessageQuote.item_id.in_(item_ids)))).order_by(OutboxMessage.id))
        for row in quoting:
            row.payload = _rerender(session, dict(row.payload or {}), erased_ids)
            if row.status == SENT or (row.status == PENDING and row.attempts > 0):
                # A row being delivered right now may reach Slack with its old text: rewrite it after.
                enqueue(session, RedactMessage(outbox_id=row.id), channel=row.channel, now=now)
                slack_updates += 1
        # Each App Home that showed her items is published again from the database.
        homes = session.scalars(select(MessageQuote.home_user).distinct().where(
            MessageQuote.item_id.in_(item_ids), MessageQuote.home_user.is_not(None)))
        for user_id in sorted(homes):
            enqueue(session, PublishHome(), channel=user_id, now=now)
            slack_updates += 1

    if item_ids:
        recorded = select(MessageQuote.id).where(MessageQuote.outbox_id == OutboxMessage.id)
        legacy = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == POST_MESSAGE, ~exists(recorded))
                                 .order_by(OutboxMessage.id).execution_options(yield_per=500))
        for row in legacy:
            if "render" in (row.payload or {}):
                continue  # queued with a renderer: it records its quotes, and quoted none of hers
            scrubbed, changed = _legacy_scrub(copy.deepcopy(row.payload or {}), legacy_needles)
            if not changed:
                continue
            row.payload = scrubbed
            if row.status == SENT or (row.status == PENDING and row.attempts > 0):
                enqueue(session, RedactMessage(outbox_id=row.id), channel=row.channel, now=now)
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
    include_open: bool = False


def _purgeable_items(cutoff: datetime, include_open: bool):
    """Items received before `cutoff`; unless `include_open`, only those whose follow-up is resolved
    (an open or claimed item is work in progress, whatever its age)."""
    conditions = [Item.received_at < cutoff]
    if not include_open:
        conditions.append(~exists().where(FollowUp.item_id == Item.id, FollowUp.status != RESOLVED))
    return select(Item.id).where(*conditions)


def _purgeable_outbox(cutoff: datetime, include_open: bool):
    """Delivered (sent or dead) rows created before `cutoff`, except those of a purged item (they go with
    it) and those quoting an item that is kept (a later `forget` must still find and rewrite them)."""
    purged = _purgeable_items(cutoff, include_open)
    return select(OutboxMessage.id).where(
        OutboxMessage.created_at < cutoff, OutboxMessage.status.in_((SENT, DEAD)),
        or_(OutboxMessage.item_id.is_(None), OutboxMessage.item_id.not_in(purged)),
        ~exists().where(MessageQuote.outbox_id == OutboxMessage.id, MessageQuote.item_id.not_in(purged)))


def _purgeable_touches(cutoff: datetime):
    """Touches created before `cutoff`, except each account's latest: "last touched" stays true."""
    newer = aliased(Touch)
    latest = (select(newer.id).where(newer.account_id == Touch.account_id)
              .order_by(newer.touched_at.desc(), newer.id.desc()).limit(1).scalar_subquery())
    return select(Touch.id).where(Touch.created_at < cutoff, Touch.id != latest)


def purge_plan(session: Session, *, cutoff: datetime, include_open: bool) -> PurgeReport:
    """What a purge would delete now, per kind: told to the admin before anything is deleted."""
    def count(ids) -> int:
        return session.scalar(select(func.count()).select_from(ids.subquery())) or 0

    return PurgeReport(cutoff=cutoff, items=count(_purgeable_items(cutoff, include_open)),
                       outbox_rows=count(_purgeable_outbox(cutoff, include_open)),
                       job_runs=count(select(JobRun.id).where(JobRun.claimed_at < cutoff)),
                       touches=count(_purgeable_touches(cutoff)), include_open=include_open)


def purge_item_batch(session: Session, *, cutoff: datetime, include_open: bool = False,
                     batch_size: int = 1000) -> int:
    """Delete up to `batch_size` purgeable items, with their follow-ups, events, outbox rows, quote
    records and Slack message records (ON DELETE CASCADE). The caller commits each batch, so a first
    purge of a big database never holds the write lock for long (intake and delivery go on)."""
    ids = list(session.scalars(_purgeable_items(cutoff, include_open).limit(batch_size)))
    return session.execute(delete(Item).where(Item.id.in_(ids))).rowcount if ids else 0


def purge_rest(session: Session, *, cutoff: datetime, items: int, actor: str, now: datetime,
               include_open: bool = False) -> PurgeReport:
    """After the item batches: delivered outbox rows, job-ledger rows and touches older than `cutoff`,
    and the audit entry. Slack's copies stay in Slack, under the workspace's own retention settings."""
    outbox = session.execute(delete(OutboxMessage).where(
        OutboxMessage.id.in_(_purgeable_outbox(cutoff, include_open))).execution_options(
        synchronize_session=False)).rowcount
    runs = session.execute(delete(JobRun).where(JobRun.claimed_at < cutoff)).rowcount
    # Materialised first: a DELETE reading its own table in a subquery is refused by some databases.
    touch_ids = list(session.scalars(_purgeable_touches(cutoff)))
    touches = session.execute(delete(Touch).where(Touch.id.in_(touch_ids)).execution_options(
        synchronize_session=False)).rowcount if touch_ids else 0
    report = PurgeReport(cutoff=cutoff, items=items, outbox_rows=outbox, job_runs=runs, touches=touches,
                         include_open=include_open)
    session.add(AuditEntry(action="purge", actor=actor[:100], subject=f"before {cutoff:%Y-%m-%d}",
                           detail=json.loads(json.dumps(asdict(report), default=str)), created_at=now))
    return report
