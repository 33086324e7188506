"""Delivery: lease an outbox row, make its Slack call, record what Slack said.

Rows are rendered at delivery time from the current database state, so a burst of edits to one
item converges on its latest state. A row leased before (attempts > 1) may already have reached
Slack: before re-posting, the channel's recent history is searched for our message metadata.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import DEFAULT_LEASE_SECONDS, AppConfig
from bot.db import session_scope
from bot.delivery.outbound import CallFailed
from bot.delivery.outbox import (
    HttpCall,
    Payload,
    PostItem,
    PostMessage,
    RedactMessage,
    ThreadReply,
    TrackerCall,
    UploadFile,
    decode,
)
from bot.followups.close_loop import PreparedCall, prepare_call, reply_route, send_call
from bot.followups.home import publish_home
from bot.insights.topics import Similar, similar_items
from bot.logs import request_id_var
from bot.product.flows import perform_tracker_call
from bot.product.service import linked_issues
from bot.slack.blocks import ItemView, item_message
from bot.slack.client import SlackFailure, classify_failure
from models import FollowUp, Item, OutboxMessage, SlackMessage
from models.base import utcnow
from models.delivery import (
    DEAD,
    HTTP_CALL,
    PENDING,
    POST_ITEM,
    POST_MESSAGE,
    PUBLISH_HOME,
    REDACT_MESSAGE,
    REDACT_THREAD,
    SENT,
    THREAD_REPLY,
    TRACKER_CALL,
    UPDATE_ITEM,
    UPLOAD_FILE,
)

log = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "cxloop_item"
OUTBOX_EVENT_TYPE = "cxloop_outbox"
LEASE_SECONDS = DEFAULT_LEASE_SECONDS  # CXLOOP_LEASE_SECONDS sets it per worker
MAX_FAILURES = 15
MAX_BACKOFF_SECONDS = 60
# Updates and thread replies wait for the item's first post; this is how long between looks.
WAIT_FOR_POST_SECONDS = 1.0
HISTORY_LOOKBACK = timedelta(hours=1)
_ADDRESS = re.compile(r"\S+@\S+")


def item_view(item: Item, follow_up: FollowUp, *, reply_via: str | None = None, can_link: bool = False,
              issues: tuple[str, ...] = (), similar: Similar | None = None) -> ItemView:
    return ItemView(
        item_id=item.id, kind=item.kind, score=item.score, category=item.category, comment=item.comment,
        source=item.source, team=item.team, received_at=item.received_at, status=follow_up.status,
        customer_name=item.customer_name, customer_email=item.customer_email, account_name=item.account_name,
        plan=item.plan, segment=item.segment, vip=item.vip, subject=item.subject, priority=item.priority,
        sentiment_label=item.sentiment_label, sentiment_polarity=item.sentiment_polarity,
        sentiment_reason=item.sentiment_reason, theme_matches=tuple((item.theme_matches or {}).items()),
        themes=tuple(item.themes or ()), tags=tuple(item.tags or ()), url=item.url, route_name=item.route_name,
        claimed_by=follow_up.claimed_by, claimed_at=follow_up.claimed_at, resolved_by=follow_up.resolved_by,
        resolved_at=follow_up.resolved_at, outcome=follow_up.outcome, follow_up_on=follow_up.follow_up_on,
        snoozed_until=follow_up.snoozed_until, reply_via=reply_via, version=follow_up.version, can_link=can_link,
        issues=issues,
        needs_follow_up=follow_up.needs_follow_up is not False,
        similar_customers=similar.customers if similar else 0, similar_links=similar.links if similar else (),
    )


@dataclass(frozen=True)
class DeliveryOutcome:
    row_id: int
    channel: str
    result: str  # sent | retry | waiting | dead | rate_limited | unreachable
    retry_after: float = 0.0


def lease_row(session: Session, row_id: int, *, worker_id: str, now: datetime,
              lease_seconds: int = LEASE_SECONDS) -> bool:
    """Compare-and-set lease: only one worker (thread or process) gets a row."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == PENDING,
               or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now))
        .values(locked_until=now + timedelta(seconds=lease_seconds), locked_by=worker_id,
                attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def lease_due_rows(session: Session, *, worker_id: str, now: datetime, limit: int,
                   may_send: Callable[[str], bool] = lambda _channel: True,
                   lease_seconds: int = LEASE_SECONDS) -> list[tuple[int, str]]:
    """Lease at most one due row per channel (channels `may_send` allows), in one short transaction.

    On Postgres the candidates are read `FOR UPDATE SKIP LOCKED`, so concurrent workers in other
    processes pass over each other's rows instead of queueing behind them; on SQLite the clause is
    not rendered and BEGIN IMMEDIATE serialises writers. The compare-and-set in `lease_row` stays
    as the guarantee either way.
    """
    candidates = session.execute(
        select(OutboxMessage.id, OutboxMessage.channel)
        .where(OutboxMessage.status == PENDING, OutboxMessage.available_at <= now,
               or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now))
        .order_by(OutboxMessage.id).limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    picked: dict[str, int] = {}
    for row_id, channel in candidates:
        if channel not in picked and may_send(channel):
            picked[channel] = row_id
    return [(channel, row_id) for channel, row_id in picked.items()
            if lease_row(session, row_id, worker_id=worker_id, now=now, lease_seconds=lease_seconds)]


def _read_channel(client: WebClient, read: Callable[..., Any], channel: str, **kwargs: Any) -> Any:
    """conversations.history/.replies need membership, which chat:write.public posting never gave: on
    `not_in_channel` the bot joins (public channels; channels:join) and reads again. A private channel
    it is not in answers the join with an error that parks the row with its fix (invite the bot)."""
    try:
        return read(channel=channel, **kwargs)
    except SlackApiError as exc:
        if (exc.response.data or {}).get("error") != "not_in_channel" or channel[:1] == "D":
            raise
    client.conversations_join(channel=channel)
    log.info("joined %s to read its history", channel)
    return read(channel=channel, **kwargs)


def _find_posted(client: WebClient, channel: str, item_id: int, since: datetime, *,
                 event_type: str = METADATA_EVENT_TYPE, key: str = "item_id") -> str | None:
    """The ts of our earlier post (found by its metadata), if an attempt reached Slack but was not recorded.

    Every page back to `oldest` is read: in a busy channel the post may sit below more than one page
    (200 messages) of newer ones, and stopping at the first page would post it a second time.
    """
    cursor = None
    while True:
        response = _read_channel(client, client.conversations_history, channel, limit=200, include_all_metadata=True,
                                 oldest=f"{(since - HISTORY_LOOKBACK).timestamp():.6f}", cursor=cursor)
        for message in response.get("messages", []):
            metadata = message.get("metadata") or {}
            if (metadata.get("event_type") == event_type
                    and str((metadata.get("event_payload") or {}).get(key)) == str(item_id)):
                return message.get("ts")
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not response.get("has_more") or not cursor:
            return None


def _conversation(client: WebClient, channel: str) -> str:
    """A user id means their DM with the app: open it (idempotent on Slack's side) to get its channel id."""
    if channel[:1] in ("U", "W"):
        return client.conversations_open(users=channel)["channel"]["id"]
    return channel


def deliver_row(factory: sessionmaker[Session], client: WebClient, row_id: int,
                config: AppConfig | None = None, *, before_call: Callable[[], None] | None = None,
                clock: Callable[[], datetime] = utcnow) -> DeliveryOutcome:
    """Perform one leased row through its kind's handler (`HANDLERS`). Slack (or any other service) is
    called outside any transaction. `clock` gives the time each outcome is recorded at.

    A row of a kind this version does not know is parked dead at once, with the kind in `cxloop outbox`.

    Any exception nobody expected (a bad stored address, a payload a handler cannot read) counts as a
    failed attempt like a 5xx: backoff, then parked dead after MAX_FAILURES, with the reason in
    `cxloop outbox`. Without this the row was retaken at each lease end, for ever."""
    try:
        return _deliver_row(factory, client, row_id, config, before_call=before_call, clock=clock)
    except Exception as exc:  # noqa: BLE001 — recorded on the row, never lost, never retried for ever
        reason = unexpected_reason(exc)
        log.warning("outbox row %s failed unexpectedly: %s", row_id, reason)
        with session_scope(factory) as session:
            row = session.get(OutboxMessage, row_id)
            channel = row.channel if row is not None else ""
        return _record_failure(factory, row_id, channel, SlackFailure("transient", reason), now=clock())


def unexpected_reason(exc: BaseException) -> str:
    """The exception's type and a short message, on one line, with e-mail addresses masked: it is shown
    in `cxloop outbox` and logged, and must not carry a customer's address or a forged log line."""
    message = " ".join(_ADDRESS.sub("<address>", str(exc)).split())[:120]
    return f"unexpected {type(exc).__name__}" + (f": {message}" if message else "")


@dataclass(frozen=True)
class Delivery:
    """One leased row on its way out: what its kind's handler is given."""

    factory: sessionmaker[Session]
    client: WebClient
    config: AppConfig | None
    clock: Callable[[], datetime]
    row_id: int
    kind: str
    channel: str
    item_id: int | None
    attempts: int  # above 1: an earlier attempt may have reached Slack
    created_at: datetime
    payload: Payload | None = None

    def finish(self, result: str, **kwargs: Any) -> DeliveryOutcome:
        return _finish(self.factory, self.row_id, self.channel, result, now=self.clock(), **kwargs)

    def fail(self, failure: SlackFailure) -> DeliveryOutcome:
        return _record_failure(self.factory, self.row_id, self.channel, failure, now=self.clock())


@dataclass(frozen=True)
class ItemState:
    """The item a row is about, read in the lease's transaction."""

    view: ItemView | None       # None: the item (or its follow-up) is gone
    posted: SlackMessage | None  # where its message lives, once posted
    post_state: str | None       # the status of its POST_ITEM row while it is not posted yet


@dataclass(frozen=True)
class Handler:
    """How one kind is delivered: `load` reads what it needs inside a transaction, `send` makes the call
    after it (outside any transaction) and records the outcome."""

    send: Callable[[Delivery, Any], DeliveryOutcome]
    load: Callable[[Session, Delivery], Any] | None = None
    # A Slack call: the worker paces the channel from `before_call`, and any exception is classified as
    # Slack's (rate limit, 5xx, permanent). Calls to sources classify their own failures (CallFailed).
    slack: bool = True


def _deliver_row(factory: sessionmaker[Session], client: WebClient, row_id: int,
                 config: AppConfig | None = None, *, before_call: Callable[[], None] | None = None,
                 clock: Callable[[], datetime] = utcnow) -> DeliveryOutcome:
    request_id_var.set(None)  # pool threads are reused: no id from the previous row
    with session_scope(factory) as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        delivery = Delivery(factory, client, config, clock, row.id, row.kind, row.channel, row.item_id, row.attempts,
                            row.created_at)
        handler = HANDLERS.get(row.kind)
        if handler is not None:
            payload = decode(row.kind, row.payload)
            if isinstance(payload, PostItem):
                # The webhook's request id, so this row's log lines join the intake's (see bot/logs.py).
                request_id_var.set(payload.request_id)
            delivery = replace(delivery, payload=payload)
            loaded = handler.load(session, delivery) if handler.load is not None else None
    if handler is None:
        log.error("outbox row %s has unknown kind %r: parked as dead", row_id, delivery.kind)
        return delivery.finish("dead", error=f"unknown outbox kind {delivery.kind!r}")
    if not handler.slack:
        return handler.send(delivery, loaded)
    if before_call is not None:
        before_call()  # the worker paces each channel from this moment (see bot/delivery/worker.py)
    try:
        return handler.send(delivery, loaded)
    except Exception as exc:  # noqa: BLE001 — every failure is classified and recorded on the row
        failure = classify_failure(exc)
        log.warning("outbox row %s (%s to %s) failed: %s", row_id, delivery.kind, delivery.channel, failure.error)
        return delivery.fail(failure)


# -- loading, inside the lease's transaction ---------------------------------------------------
def _load_item(session: Session, d: Delivery) -> ItemState:
    item = session.get(Item, d.item_id) if d.item_id else None
    follow_up = session.scalar(select(FollowUp).where(FollowUp.item_id == d.item_id)) if item else None
    posted = session.scalar(select(SlackMessage).where(SlackMessage.item_id == d.item_id)) if item else None
    route = reply_route(item, d.config) if item and d.config else None
    issues = linked_issues(session, item.id, d.config) if item and d.config and d.kind in (POST_ITEM, UPDATE_ITEM) \
        else ()
    similar = similar_or_none(session, item.id, d.clock()) if item and d.kind in (POST_ITEM, UPDATE_ITEM) else None
    view = item_view(item, follow_up, reply_via=route.via if route else None,
                     can_link=bool(d.config and d.config.trackers), issues=issues,
                     similar=similar) if item and follow_up else None
    post_state = None
    if d.kind != POST_ITEM and posted is None and item is not None:
        post_state = session.scalar(select(OutboxMessage.status).where(
            OutboxMessage.item_id == item.id, OutboxMessage.kind == POST_ITEM))
    return ItemState(view, posted, post_state)


def similar_or_none(session: Session, item_id: int, now: datetime) -> Similar | None:
    """"N other customers said something similar" for the card, computed at render (bot.insights.topics).
    A card is never held back by it: on failure the card goes without the line."""
    try:
        with session.begin_nested():
            return similar_items(session, item_id, now=now)
    except Exception:  # noqa: BLE001 — an optional line of the card; logged, and the card goes without it
        log.exception("similar comments of item %s could not be computed", item_id)
        return None


def _load_original(session: Session, d: Delivery) -> tuple[int, str, datetime, dict] | None:
    """The POST_MESSAGE row a REDACT_MESSAGE rewrites: its id, channel, time and (scrubbed) payload."""
    assert isinstance(d.payload, RedactMessage)
    original = session.get(OutboxMessage, d.payload.outbox_id) if d.payload.outbox_id is not None else None
    if original is None:
        return None
    return original.id, original.channel, original.created_at, dict(original.payload or {})


def _prepare_http_call(session: Session, d: Delivery) -> PreparedCall | CallFailed:
    if d.config is None:
        return CallFailed("this worker has no configuration", retryable=True)
    assert isinstance(d.payload, HttpCall)
    try:
        return prepare_call(session, d.payload, d.item_id, d.config)
    except CallFailed as exc:
        return exc


# -- one handler per kind ----------------------------------------------------------------------
def _send_post_item(d: Delivery, state: ItemState) -> DeliveryOutcome:
    view, posted = state.view, state.posted
    if view is None:
        return d.finish("sent", note="item gone")
    if posted is not None:
        return d.finish("sent", note="already posted")
    ts = _find_posted(d.client, d.channel, view.item_id, d.created_at) if d.attempts > 1 else None
    note = None if ts is None else "found in history"  # as POST_MESSAGE notes it: `cxloop outbox` shows it
    if ts is None:
        text, blocks = item_message(view)
        response = d.client.chat_postMessage(
            channel=d.channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False,
            metadata={"event_type": METADATA_EVENT_TYPE, "event_payload": {"item_id": view.item_id}},
        )
        ts = response["ts"]
        log.info("posted item %s to %s (ts %s)", view.item_id, d.channel, ts)
    else:
        log.info("item %s was already in %s (ts %s); recorded, not re-posted", view.item_id, d.channel, ts)
    return d.finish("sent", item_id=view.item_id, posted_ts=ts, note=note)


def _not_postable_yet(d: Delivery, state: ItemState) -> DeliveryOutcome | None:
    """Updates and thread replies need the item's message: gone, waiting for it, or never to be posted."""
    if state.view is None:
        return d.finish("sent", note="item gone")
    if state.posted is None:
        if state.post_state == DEAD:
            return d.finish("dead", error="the item's message was never posted")
        return d.finish("waiting")
    return None


def _send_update_item(d: Delivery, state: ItemState) -> DeliveryOutcome:
    if (outcome := _not_postable_yet(d, state)) is not None:
        return outcome
    text, blocks = item_message(state.view)
    d.client.chat_update(channel=state.posted.channel, ts=state.posted.ts, text=text, blocks=blocks)
    return d.finish("sent")


def _send_thread_reply(d: Delivery, state: ItemState) -> DeliveryOutcome:
    if (outcome := _not_postable_yet(d, state)) is not None:
        return outcome
    reply = d.payload
    assert isinstance(reply, ThreadReply)
    d.client.chat_postMessage(channel=state.posted.channel, thread_ts=state.posted.ts, text=reply.text or " ",
                              blocks=reply.blocks, unfurl_links=False, reply_broadcast=bool(reply.reply_broadcast))
    return d.finish("sent")


def _send_post_message(d: Delivery, _loaded: None) -> DeliveryOutcome:
    message = d.payload
    assert isinstance(message, PostMessage)
    channel_id = _conversation(d.client, d.channel)
    if d.attempts > 1 and channel_id[0] in "CG" and _find_posted(
            d.client, channel_id, d.row_id, d.created_at, event_type=OUTBOX_EVENT_TYPE, key="outbox_id"):
        return d.finish("sent", note="found in history")
    response = d.client.chat_postMessage(
        channel=channel_id, text=message.text or " ", blocks=message.blocks,
        thread_ts=message.thread_ts, unfurl_links=False, unfurl_media=False,
        metadata={"event_type": OUTBOX_EVENT_TYPE, "event_payload": {"outbox_id": d.row_id}})
    # Where it landed, so an erasure can rewrite it without searching the channel's history.
    return d.finish("sent", posted_at={"channel": response.get("channel") or channel_id, "ts": response.get("ts")})


def _send_publish_home(d: Delivery, _loaded: None) -> DeliveryOutcome:
    if d.config is None:
        return d.fail(SlackFailure("transient", "this worker has no configuration"))
    publish_home(d.factory, d.client, user_id=d.channel, config=d.config, now=d.clock())
    return d.finish("sent")


def _send_upload_file(d: Delivery, _loaded: None) -> DeliveryOutcome:
    upload = d.payload
    assert isinstance(upload, UploadFile)
    d.client.files_upload_v2(channel=_conversation(d.client, d.channel), filename=upload.filename,
                             title=upload.title, initial_comment=upload.initial_comment, file=upload.content)
    return d.finish("sent")


def _send_redact_thread(d: Delivery, state: ItemState) -> DeliveryOutcome:
    if state.posted is not None:
        _redact_thread(d.client, state.posted.channel, state.posted.ts)
    return d.finish("sent", note=None if state.posted else "nothing was posted")


def _send_redact_message(d: Delivery, original: tuple[int, str, datetime, dict] | None) -> DeliveryOutcome:
    """Rewrite an earlier POST_MESSAGE (found by its outbox metadata) with its now-scrubbed payload."""
    if original is None:
        return d.finish("sent", note="the original row is gone")
    original_id, original_channel, created_at, scrubbed = original
    posted = scrubbed.get("posted") or {}
    channel_id, ts = posted.get("channel"), posted.get("ts")
    if not (channel_id and ts):  # posted before its place was recorded: search for it
        channel_id = _conversation(d.client, original_channel)
        ts = _find_posted(d.client, channel_id, original_id, created_at, event_type=OUTBOX_EVENT_TYPE,
                          key="outbox_id")
    if ts is None:
        return d.finish("sent", note="not found in the channel's recent history")
    d.client.chat_update(channel=channel_id, ts=ts, text=scrubbed.get("text") or " ", blocks=scrubbed.get("blocks"))
    return d.finish("sent")


def _send_http_call(d: Delivery, call: PreparedCall | CallFailed) -> DeliveryOutcome:
    try:
        if isinstance(call, CallFailed):
            raise call
        send_call(call, d.config)
    except CallFailed as exc:
        log.warning("outbox row %s (%s) failed: %s", d.row_id, d.channel, exc)
        return d.fail(SlackFailure("transient" if exc.retryable else "permanent", str(exc)[:500]))
    return d.finish("sent")


def _send_tracker_call(d: Delivery, _: None) -> DeliveryOutcome:
    assert isinstance(d.payload, TrackerCall)
    try:
        note = perform_tracker_call(d.factory, d.payload.to_json(), d.config, d.clock())
    except CallFailed as exc:
        log.warning("outbox row %s (%s) failed: %s", d.row_id, d.channel, exc)
        return d.fail(SlackFailure("transient" if exc.retryable else "permanent", str(exc)[:500]))
    return d.finish("sent", note=note)


HANDLERS: dict[str, Handler] = {
    POST_ITEM: Handler(_send_post_item, load=_load_item),
    UPDATE_ITEM: Handler(_send_update_item, load=_load_item),
    THREAD_REPLY: Handler(_send_thread_reply, load=_load_item),
    REDACT_THREAD: Handler(_send_redact_thread, load=_load_item),
    POST_MESSAGE: Handler(_send_post_message),
    PUBLISH_HOME: Handler(_send_publish_home),
    UPLOAD_FILE: Handler(_send_upload_file),
    REDACT_MESSAGE: Handler(_send_redact_message, load=_load_original),
    HTTP_CALL: Handler(_send_http_call, load=_prepare_http_call, slack=False),
    TRACKER_CALL: Handler(_send_tracker_call, slack=False),
}


def _redact_quotes(text: str) -> str:
    lines, out = text.split("\n"), []
    for line in lines:
        if line.startswith(">"):
            if not out or out[-1] != "> [erased]":
                out.append("> [erased]")
        else:
            out.append(line)
    return "\n".join(out)


def _redact_thread(client: WebClient, channel: str, ts: str) -> None:
    """Blank the quoted notes in our replies in an item's thread (notes and replies quote the customer)."""
    replies = _read_channel(client, client.conversations_replies, channel, ts=ts, limit=200).get("messages", [])
    for message in replies:
        if message.get("ts") == ts or not message.get("bot_id"):
            continue  # the item's own message is re-rendered by UPDATE_ITEM; people's replies are theirs
        blocks = message.get("blocks") or []
        new_blocks = [{**b, "text": {**b["text"], "text": _redact_quotes(b["text"].get("text", ""))}}
                      if b.get("type") == "section" and isinstance(b.get("text"), dict) else b for b in blocks]
        if new_blocks != blocks:
            client.chat_update(channel=channel, ts=message["ts"], text=_redact_quotes(message.get("text") or " "),
                               blocks=new_blocks)


def _finish(factory, row_id: int, channel: str, result: str, *, now: datetime, item_id: int | None = None,
            posted_ts: str | None = None, note: str | None = None, error: str | None = None,
            posted_at: dict | None = None) -> DeliveryOutcome:
    with session_scope(factory) as session:
        row = session.get(OutboxMessage, row_id)
        row.locked_until, row.locked_by = None, None
        if result == "waiting":
            # Not a failure: the post it depends on is still in the queue.
            row.available_at = now + timedelta(seconds=WAIT_FOR_POST_SECONDS)
            row.attempts = max(0, row.attempts - 1)
        elif result == "dead":
            row.status, row.last_error = DEAD, error
        else:
            row.status, row.sent_at, row.last_error = SENT, now, note
            if posted_at is not None and posted_at.get("ts"):
                row.payload = {**(row.payload or {}), "posted": posted_at}
        if posted_ts is not None:
            # In the same transaction as 'sent': a crash between two commits would leave the row sent and
            # the message unrecorded, and the item's updates and thread replies would wait for it forever.
            try:
                with session.begin_nested():
                    session.add(SlackMessage(item_id=item_id, channel=channel, ts=posted_ts, posted_at=now))
            except IntegrityError:
                pass  # another worker recorded the same post first
    return DeliveryOutcome(row_id, channel, result)


def _record_failure(factory, row_id: int, channel: str, failure: SlackFailure, *, now: datetime) -> DeliveryOutcome:
    with session_scope(factory) as session:
        row = session.get(OutboxMessage, row_id)
        row.locked_until, row.locked_by, row.last_error = None, None, failure.error
        if failure.kind == "rate_limited":
            row.available_at = now + timedelta(seconds=failure.retry_after)
            row.attempts = max(0, row.attempts - 1)  # a 429 means Slack did not post it: no history check needed
            return DeliveryOutcome(row_id, channel, "rate_limited", failure.retry_after)
        if failure.kind == "unreachable":
            # Slack (or the network) is down, not this row: it waits for the worker's next probe.
            return DeliveryOutcome(row_id, channel, "unreachable")
        row.failures += 1
        if failure.kind == "permanent" or row.failures >= MAX_FAILURES:
            row.status = DEAD
            log.error("outbox row %s parked as dead after %s failure(s): %s", row_id, row.failures, failure.error)
            return DeliveryOutcome(row_id, channel, "dead")
        # 1, 2, 4 … 60 s: Slack's 5xx are brief; after MAX_FAILURES (about 10 minutes of them) the row is parked.
        backoff = min(MAX_BACKOFF_SECONDS, 2 ** (row.failures - 1)) * random.uniform(0.8, 1.2)
        row.available_at = now + timedelta(seconds=backoff)
        return DeliveryOutcome(row_id, channel, "retry", backoff)


def requeue_dead(session: Session, *, row_id: int | None = None, now: datetime) -> int:
    """`cxloop outbox retry`: dead rows become pending again with a fresh failure budget."""
    statement = update(OutboxMessage).where(OutboxMessage.status == DEAD)
    if row_id is not None:
        statement = statement.where(OutboxMessage.id == row_id)
    result = session.execute(statement.values(status=PENDING, failures=0, available_at=now, locked_until=None)
                             .execution_options(synchronize_session=False))
    return result.rowcount
