"""The outbox: the one writer of `OutboxMessage` rows, each kind with a typed payload.

A domain function decides what Slack (or a source) should be told and calls `enqueue` in its own
transaction; the delivery worker performs the row after the commit (bot/delivery/handlers.py keeps one
handler per kind). Rows store ids and what cannot be re-read at delivery time, never credentials.

Low-level on purpose: it imports only `models`, so every package may queue a row.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import MessageQuote, OutboxMessage
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


class UnknownKind(ValueError):
    """A stored row of a kind this version does not know: it is parked dead, never guessed at."""


@dataclass(frozen=True)
class _Payload:
    kind: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        """The stored form: every field that is set (None is left out, as the rows always did)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> _Payload:
        """Read a stored payload; keys this kind does not use are ignored, a missing required one raises."""
        data = data or {}
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


@dataclass(frozen=True)
class PostItem(_Payload):
    """The item's channel message (rendered from the database at delivery time)."""
    kind: ClassVar[str] = POST_ITEM
    request_id: str | None = None  # the webhook's, so the worker's log of the post joins the intake's


@dataclass(frozen=True)
class UpdateItem(_Payload):
    """Re-render the item's channel message in place."""
    kind: ClassVar[str] = UPDATE_ITEM
    reason: str | None = None  # what changed (an action, "edited", "erased"): for `cxloop outbox`


@dataclass(frozen=True)
class ThreadReply(_Payload):
    """A reply in the item's thread (waits for the item's message to be posted)."""
    kind: ClassVar[str] = THREAD_REPLY
    text: str | None = None
    blocks: list[dict[str, Any]] | None = None
    reply_broadcast: bool = False


@dataclass(frozen=True)
class PostMessage(_Payload):
    """A message not tied to an item: digests, reports, DMs (the channel may be a user id)."""
    kind: ClassVar[str] = POST_MESSAGE
    text: str | None = None
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    render: dict[str, Any] | None = None  # how `cxloop forget` rebuilds it (bot/privacy/erasure.py)
    posted: dict[str, Any] | None = None  # where it landed ({"channel", "ts"}), recorded once sent


@dataclass(frozen=True)
class UploadFile(_Payload):
    """A file (a report's chart) through Slack's external upload flow."""
    kind: ClassVar[str] = UPLOAD_FILE
    filename: str
    content_b64: str
    title: str | None = None
    initial_comment: str | None = None

    @classmethod
    def of(cls, content: bytes, *, filename: str, title: str | None = None,
           initial_comment: str | None = None) -> UploadFile:
        return cls(filename=filename, content_b64=base64.b64encode(content).decode(), title=title,
                   initial_comment=initial_comment)

    @property
    def content(self) -> bytes:
        return base64.b64decode(self.content_b64)


@dataclass(frozen=True)
class RedactThread(_Payload):
    """Blank the quotes in our replies in an item's thread (`cxloop forget`)."""
    kind: ClassVar[str] = REDACT_THREAD


@dataclass(frozen=True)
class RedactMessage(_Payload):
    """Rewrite an earlier POST_MESSAGE row's message with its (now scrubbed) payload."""
    kind: ClassVar[str] = REDACT_MESSAGE
    outbox_id: int | None = None


@dataclass(frozen=True)
class PublishHome(_Payload):
    """Publish one user's App Home again from the database (the row's channel is their user id)."""
    kind: ClassVar[str] = PUBLISH_HOME


@dataclass(frozen=True)
class HttpCall(_Payload):
    """A call back to a source (bot/followups/close_loop.py): a purpose and ids; the URL and the
    credentials are read from the configuration when the call is made."""
    kind: ClassVar[str] = HTTP_CALL
    purpose: str | None = None
    source: str | None = None
    text: str | None = None  # a reply to the customer
    by: str | None = None    # who wrote that reply

    @staticmethod
    def channel_for(source: str) -> str:
        """Calls to one source are paced and retried as one channel."""
        return f"http:{source}"



@dataclass(frozen=True)
class TrackerCall(_Payload):
    """A call to an issue tracker (bot/product/flows.py): fetch a linked issue, or create one. The row's
    channel is `tracker:<name>`; the credentials are read from the configuration when the call is made."""
    kind: ClassVar[str] = TRACKER_CALL
    purpose: str
    tracker: str
    issue_id: int
    title: str | None = None  # a new issue's, prefilled from the feedback
    body: str | None = None
    by: str | None = None     # who asked for it

    @staticmethod
    def channel_for(tracker: str) -> str:
        return f"tracker:{tracker}"


Payload = PostItem | UpdateItem | ThreadReply | PostMessage | UploadFile | RedactThread | RedactMessage | \
    PublishHome | HttpCall | TrackerCall


PAYLOADS: dict[str, type[_Payload]] = {cls.kind: cls for cls in (
    PostItem, UpdateItem, ThreadReply, PostMessage, UploadFile, RedactThread, RedactMessage, PublishHome, HttpCall,
    TrackerCall)}
KINDS: tuple[str, ...] = tuple(PAYLOADS)


def decode(kind: str, data: dict[str, Any] | None) -> Payload:
    """The typed payload of a stored row; UnknownKind for a kind this version does not know."""
    cls = PAYLOADS.get(kind)
    if cls is None:
        raise UnknownKind(f"unknown outbox kind {kind!r}")
    return cls.from_json(dict(data or {}))  # type: ignore[return-value]


def enqueue(session: Session, payload: Payload, *, channel: str, now: datetime, item_id: int | None = None,
            available_at: datetime | None = None) -> OutboxMessage:
    """Add the row to the caller's transaction (never commits). It is delivered from `available_at`
    (default: now) once that transaction has committed."""
    row = OutboxMessage(kind=payload.kind, item_id=item_id, channel=channel, payload=payload.to_json(),
                        available_at=available_at or now, created_at=now)
    session.add(row)
    return row


def enqueue_message(session: Session, message: PostMessage, *, channel: str, now: datetime,
                    quotes: Iterable[int] = ()) -> OutboxMessage:
    """Queue a POST_MESSAGE. `quotes`: the items whose customer data it shows, recorded in message_quotes
    in this transaction, so `cxloop forget` knows exactly which messages to re-render."""
    row = enqueue(session, message, channel=channel, now=now)
    item_ids = sorted(set(quotes))
    if item_ids:
        session.flush()  # the row's id, for its quotes
        session.add_all([MessageQuote(outbox_id=row.id, item_id=item_id, created_at=now) for item_id in item_ids])
    return row


def enqueue_message_naming_itself(session: Session, build: Callable[[int], PostMessage], *, channel: str,
                                  now: datetime, quotes: Iterable[int] = ()) -> OutboxMessage:
    """Queue a POST_MESSAGE whose content names its own row (`build(row_id)`): buttons that later act on
    what this row holds. Flushes for the id; still never commits."""
    row = enqueue_message(session, PostMessage(), channel=channel, now=now, quotes=quotes)
    session.flush()
    row.payload = build(row.id).to_json()
    return row


def outbox_backlog(session: Session) -> dict[str, int]:
    """Pending and dead rows only: two indexed counts, cheap however many rows were ever sent."""
    return {status: session.scalar(select(func.count()).where(OutboxMessage.status == status)) or 0
            for status in (PENDING, DEAD)}


def outbox_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    counts = {PENDING: 0, SENT: 0, DEAD: 0}
    counts.update({status: count for status, count in rows})
    return counts
