"""Intake: a webhook body becomes a stored, scored, routed item with its outbox row — one transaction.

The caller (bot/intake/receive.py) verifies the signature and owns the session; nothing here talks to
Slack. A retried webhook (same source and id) is a duplicate; a changed one updates the stored item
and queues an edit of its Slack message instead of a second post — only when its source version is
newer than the stored one (see source_version), and merged: what it does not carry keeps its value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.config import AppConfig, SegmentsConfig
from bot.delivery.outbox import PostItem, ThreadReply, UpdateItem, enqueue
from bot.followups.close_loop import queue_promoter_hand_off
from bot.intake.payload import GenericPayload, day_or_none
from bot.intake.providers.base import PLAN_NAMES, SEGMENT_NAMES, normalise_key, short_text
from bot.intake.routing import RouteDecision, RoutingFacts, needs_follow_up, route_item
from bot.intake.scoring import Scored, score_response
from bot.slack.mrkdwn import mention_target
from bot.vip.accounts import find_account_for_item
from models import FollowUp, Item
from models.followup import OPEN

_VERSION_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IngestResult:
    item_id: int
    status: Literal["accepted", "duplicate"]
    updated: bool = False  # a duplicate whose content changed: the stored item and its message were updated
    stale: bool = False  # a duplicate whose source version is not newer than the stored one: nothing changed

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.item_id, "status": self.status}
        if self.status == "duplicate":
            body["updated"] = self.updated
        if self.stale:
            body["stale"] = True
        return body


def source_version(payload: GenericPayload, now: datetime) -> str:
    """The sender's version of a payload as text that sorts like (updated time, sequence).

    The time is the payload's updated_at; without one, the arrival time `now` (so, as before, the later
    arrival wins), unless the payload carries only a `version`, which is then compared alone. Fixed
    width (ISO 8601 UTC with microseconds, 19 digits), so comparing the strings compares the versions."""
    at = payload.updated_at or (_VERSION_EPOCH if payload.version is not None else now)
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return f"{at.isoformat(timespec='microseconds')}/{payload.version or 0:019d}"


def _content_fields(payload: GenericPayload) -> dict[str, Any]:
    customer = payload.customer
    return {
        "kind": payload.kind, "score": payload.score, "comment": payload.comment,
        "subject": payload.subject, "priority": payload.priority,
        "customer_email": customer.email, "customer_name": customer.name,
        "account_name": customer.account,
        "account_external_id": None if customer.account_id is None else str(customer.account_id),
        "plan": customer.plan, "segment": customer.segment, "vip": customer.vip,
        "properties": customer.properties, "tags": list(payload.tags), "url": payload.url,
        "source_created_at": payload.created_at, "source_ref": payload.source_ref,
        "agent": payload.agent, "role": customer.role, "customer_since": customer.since,
    }


# Segment fields a payload may set itself or leave to its customer properties ([segments] in the config).
_SEGMENT_NAMES = {
    "plan": ("plan_property", PLAN_NAMES, 100),
    "segment": ("segment_property", SEGMENT_NAMES, 100),
    "role": ("role_property", ("role", "user role", "job role", "job title"), 100),
    "customer_since": ("since_property", ("customer since", "customer since date", "since", "signup date",
                                          "signed up at", "sign up date"), None),
    "agent": ("agent_property", ("agent", "agent email", "agent name", "assignee"), 255),
}


def with_segments(fields: dict[str, Any], segments: SegmentsConfig) -> dict[str, Any]:
    """`fields` with plan, segment, role, customer_since and agent read from the customer properties: the
    property [segments] names wins when the response carries it (an admin named it for a reason); else
    what the payload or its adapter set; else the first of the usual property names."""
    properties = fields.get("properties") or {}
    if not properties:
        return fields
    filled = dict(fields)
    by_name = {normalise_key(str(k)): v for k, v in properties.items()}  # once, not once per field
    for key, (option, usual, limit) in _SEGMENT_NAMES.items():
        configured = getattr(segments, option)
        names = ((normalise_key(configured),) if configured else ()) if filled.get(key) is not None else (
            ((normalise_key(configured),) if configured else ()) + usual)
        value = next((by_name[n] for n in names if by_name.get(n) not in (None, "")), None)
        value = day_or_none(value) if limit is None else short_text(value, limit)
        if value is not None:
            filled[key] = value
    return filled


def fingerprint_of(fields: dict[str, Any]) -> str:
    # Without the segment fields when they are empty, so a response stored before they existed keeps its
    # fingerprint and its retry stays a retry.
    return _fingerprint({k: v for k, v in fields.items() if not (k in _NEW_KEYS and v is None)})


_NEW_KEYS = ("agent", "role", "customer_since")


# json.dumps(fields, sort_keys=True, default=str), without building the encoder for every item.
_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True, default=str)


def _fingerprint(fields: dict[str, Any]) -> str:
    return hashlib.sha256(_FINGERPRINT_JSON.encode(fields).encode()).hexdigest()


def analyse_payload(payload: GenericPayload, config: AppConfig) -> Scored:
    """The analysis ingest_item stores for `payload` (category, sentiment, themes): pure CPU work, so a
    caller may run it before the transaction and pass it in (`scored=`), keeping the database's write
    lock free while it runs."""
    return score_response(payload.kind, payload.score, payload.comment, config.themes, config.sentiment_words)


def _scoring_for(kind: str, score: int | None, comment: str | None, config: AppConfig,
                 scored: Scored | None, payload: GenericPayload | None) -> Scored:
    """`scored` when it was computed for this very (kind, score, comment), else computed now."""
    if scored is not None and payload is not None and (payload.kind, payload.score, payload.comment) == (
            kind, score, comment):
        return scored
    return score_response(kind, score, comment, config.themes, config.sentiment_words)


def _apply_scoring(item: Item, config: AppConfig, scored: Scored | None = None,
                   payload: GenericPayload | None = None) -> None:
    scored = _scoring_for(item.kind, item.score, item.comment, config, scored, payload)
    item.category = scored.category
    item.sentiment_polarity = scored.sentiment_polarity
    item.sentiment_label = scored.sentiment_label
    item.themes = list(scored.themes)
    item.sentiment_reason = scored.sentiment_reason or None
    item.theme_matches = dict(scored.theme_matches)


def ingest_item(session: Session, *, source: str, payload: GenericPayload, config: AppConfig,
                now: datetime, team: str | None = None, request_id: str | None = None,
                scored: Scored | None = None) -> IngestResult:
    """Store a new item (with follow-up and outbox rows) or recognise a retry/edit of a stored one.

    `scored`: analyse_payload(payload, config) when the caller ran it already (outside the transaction)."""
    fields = with_segments(_content_fields(payload), config.segments)
    fingerprint = fingerprint_of(fields)
    version = source_version(payload, now)
    item = Item(source=source, external_id=payload.id, received_at=now, updated_at=now,
                content_hash=fingerprint, revision=1, source_version=version, **fields)
    # No autoflush in the reads and the insert below: they need none of the rows still pending, and
    # with group commit the follow-up and outbox rows of a whole batch are then flushed at its
    # commit, two multi-row INSERTs instead of two per webhook.
    with session.no_autoflush:
        account = find_account_for_item(session, account_external_id=item.account_external_id,
                                        email=item.customer_email)
    if account is not None:
        # The VIP book knows the customer: its VIP flag feeds routing and the badge.
        item.account_id = account.id
        item.vip = item.vip or account.vip
        item.account_name = item.account_name or account.name
        item.plan = item.plan or account.plan
    _apply_scoring(item, config, scored, payload)
    facts = _routing_facts(item, source)
    decision = route_item(facts, config)
    if team is not None and team != decision.team:
        # Someone chose the team by hand (the Slack escalation modal): that beats the routes.
        chosen = config.team(team)
        decision = RouteDecision(team=chosen.name, channel=chosen.channel, route_name=None, mention=chosen.mention)
    item.team, item.channel = decision.team, decision.channel
    item.route_name, item.mention = decision.route_name, decision.mention
    with session.no_autoflush:
        item_id = _insert_unless_stored(session, item)
    if item_id is None:
        # Stored already: a retry or an edit of that webhook, or a concurrent retry won the insert.
        existing = session.scalar(select(Item).where(Item.source == source, Item.external_id == payload.id))
        if existing is None:  # the conflicting insert was rolled back after all: let the sender retry
            raise RuntimeError(f"item {source}/{payload.id[:40]} conflicted but is not stored")
        # Without a version of its own, the event's arrival time is its version, and of two arriving at
        # the same instant (a frozen clock) the one written last wins, as it always did.
        by_arrival = payload.updated_at is None and payload.version is None
        return _update_existing(session, existing, fields, fingerprint, version, by_arrival, config, now,
                                scored=scored, payload=payload)
    item.id = item_id

    session.add(FollowUp(item_id=item.id, status=OPEN, updated_at=now, version=1,
                         needs_follow_up=needs_follow_up(facts, decision)))
    # The request id rides on the outbox row so the worker's log of the Slack post carries it too.
    enqueue(session, PostItem(request_id=request_id or None), channel=item.channel, item_id=item.id, now=now)
    mentions = []
    if item.mention:
        mentions.append(mention_target(item.mention))
    if account is not None and account.owner and account.owner != item.mention:
        # The person who knows this customer sees it, whichever team it was routed to.
        mentions.append(f"<@{account.owner}> (account owner)")
    if mentions:
        enqueue(session, ThreadReply(text="cc " + ", ".join(mentions)), channel=item.channel, item_id=item.id,
                now=now)
    queue_promoter_hand_off(session, item=item, config=config, now=now)
    return IngestResult(item_id=item.id, status="accepted")


def _routing_facts(item: Item, source: str) -> RoutingFacts:
    return RoutingFacts(
        kind=item.kind, source=source, score=item.score, category=item.category,
        sentiment=item.sentiment_label, themes=tuple(item.themes or ()), tags=tuple(item.tags or ()),
        plan=item.plan, segment=item.segment, vip=item.vip, comment=item.comment,
    )


def _requeue_if_needed(session: Session, item: Item, config: AppConfig, now: datetime) -> None:
    """After an edit, an unclaimed item is queued or not as the routes decide for it now: a promoter
    edited into a detractor (Delighted's score update) waits for a Claim again, and the other way round.
    The team stays (see _update_existing); a claimed or resolved item is left as a person left it."""
    facts = _routing_facts(item, item.source)
    needed = needs_follow_up(facts, route_item(facts, config))
    session.execute(
        update(FollowUp)
        .where(FollowUp.item_id == item.id, FollowUp.status == OPEN, FollowUp.needs_follow_up.is_not(needed))
        .values(needs_follow_up=needed, updated_at=now, version=FollowUp.version + 1)
        .execution_options(synchronize_session=False))


_ITEM_COLUMNS = tuple(sa_inspect(Item).column_attrs)


def _insert_unless_stored(session: Session, item: Item) -> int | None:
    """INSERT … ON CONFLICT (source, external_id) DO NOTHING RETURNING id: the new row's id, or None.

    One statement where a look-up, a savepoint, an insert and a release were four (every webhook pays
    it); `item` stays outside the session, so the ORM never inserts it a second time."""
    values = {attr.columns[0].name: item.__dict__[attr.key] for attr in _ITEM_COLUMNS if attr.key in item.__dict__}
    connection = session.connection()
    return connection.scalar(_insert_item_statement(connection.dialect.name), values)


@lru_cache(maxsize=4)
def _insert_item_statement(dialect: str):
    # Built once, values bound at execution: building it per webhook (with its ~30 values inlined)
    # cost more than running it.
    table = Item.__table__
    insert_for = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # On the table, not the ORM entity: the ORM's bulk-insert path costs more than the savepoint it replaces.
    return (insert_for(table).on_conflict_do_nothing(index_elements=[table.c.source, table.c.external_id])
            .returning(table.c.id))


# Fields an event may leave out without meaning "clear it": the stored value stays (an edit that only
# adds a comment must not drop the customer, the VIP badge or the tags).
_MERGED_DICTS = ("properties", "source_ref")
# How many times an edit is recomputed when another writer changed the item in between.
MAX_EDIT_ATTEMPTS = 5


def _merged(item: Item, fields: dict[str, Any]) -> dict[str, Any]:
    """The stored item's content with what this event carries laid over it."""
    merged: dict[str, Any] = {}
    for key, value in fields.items():
        stored = getattr(item, key)
        if key in _MERGED_DICTS:
            merged[key] = {**(stored or {}), **value}
        elif key == "vip":
            # No sender says "not VIP any more" by leaving the flag out; the VIP book keeps it too.
            merged[key] = bool(stored) or value
        elif key == "agent":
            # The rating belongs to whoever handled the conversation when it was rated: a later event
            # (a comment added after the ticket changed hands) names the new holder, not the rated agent.
            merged[key] = stored or value
        elif value is None or value == []:
            merged[key] = stored
        else:
            merged[key] = value
    return merged


def _update_existing(session: Session, item: Item, fields: dict[str, Any], fingerprint: str, version: str,
                     by_arrival: bool, config: AppConfig, now: datetime, *, scored: Scored | None = None,
                     payload: GenericPayload | None = None) -> IngestResult:
    """Apply an event to a stored item when it is newer, merged; compare-and-set on the item's revision."""
    for _attempt in range(MAX_EDIT_ATTEMPTS):
        if item.erased_at is not None:
            # `cxloop forget` removed this customer's data: a resent webhook must not bring it back.
            return IngestResult(item_id=item.id, status="duplicate")
        newer = (item.source_version is None or version > item.source_version
                 or (by_arrival and version == item.source_version))
        if item.content_hash == fingerprint:
            # A retry: nothing to show. A newer version of the same content still raises the bar, so an
            # older event that arrives after it stays older.
            raised = item.source_version is None or version > item.source_version
            changes: dict[str, Any] = {"source_version": version} if raised else {}
            result = IngestResult(item_id=item.id, status="duplicate", updated=False)
        elif not newer:
            # Older than (or as old as) what is stored: a late or replayed event. Nothing changes.
            return IngestResult(item_id=item.id, status="duplicate", updated=False, stale=True)
        else:
            changes = _edit(session, item, fields, config, scored=scored, payload=payload)
            changes.update(content_hash=fingerprint, source_version=version)
            edited = any(key not in ("content_hash", "source_version") for key in changes)
            if edited:
                changes.update(updated_at=now, revision=item.revision + 1)
            result = IngestResult(item_id=item.id, status="duplicate", updated=edited)
        if not changes:
            return result
        if _compare_and_set(session, item, changes):
            if result.updated:
                # The route stays: the message already lives in its channel and the team may be working on it.
                _requeue_if_needed(session, item, config, now)
                enqueue(session, UpdateItem(reason="edited"), channel=item.channel, item_id=item.id, now=now)
                # An edit can make a promoter (e.g. Delighted's score update); the hand-off still happens once.
                queue_promoter_hand_off(session, item=item, config=config, now=now)
            return result
        # Another writer changed the item since it was read: read it again and decide again.
        item = session.scalar(select(Item).where(Item.id == item.id).execution_options(populate_existing=True))
        if item is None:
            raise RuntimeError("an edited item disappeared")
    raise RuntimeError(f"item {item.id} kept changing while an edit was applied")


def _edit(session: Session, item: Item, fields: dict[str, Any], config: AppConfig, *, scored: Scored | None = None,
          payload: GenericPayload | None = None) -> dict[str, Any]:
    """The columns that change when `fields` is merged into the stored item (scores recomputed)."""
    merged = _merged(item, fields)
    if item.account_id is None:
        # Not linked yet: the event may name a customer the VIP book knows (the link is never undone).
        with session.no_autoflush:
            account = find_account_for_item(session, account_external_id=merged["account_external_id"],
                                            email=merged["customer_email"])
        if account is not None:
            merged.update(account_id=account.id, vip=merged["vip"] or account.vip,
                          account_name=merged["account_name"] or account.name, plan=merged["plan"] or account.plan)
    scored = _scoring_for(merged["kind"], merged["score"], merged["comment"], config, scored, payload)
    merged.update(category=scored.category, sentiment_polarity=scored.sentiment_polarity,
                  sentiment_label=scored.sentiment_label, themes=list(scored.themes),
                  sentiment_reason=scored.sentiment_reason or None, theme_matches=dict(scored.theme_matches))
    return {key: value for key, value in merged.items() if getattr(item, key) != value}


def _compare_and_set(session: Session, item: Item, changes: dict[str, Any]) -> bool:
    """UPDATE the item WHERE its revision and version are still the ones read; False when another
    writer came first (the caller reads again and decides again)."""
    same_version = (Item.source_version.is_(None) if item.source_version is None
                    else Item.source_version == item.source_version)
    done = session.execute(
        update(Item).where(Item.id == item.id, Item.revision == item.revision, same_version,
                           Item.erased_at.is_(None))
        .values(**changes).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return False
    for key, value in changes.items():
        set_committed_value(item, key, value)
    return True
