"""Intercom webhooks → CSAT items (conversation ratings) and escalations (tags, priority).

Documentation followed (developers.intercom.com, "Webhooks": "Setting up webhooks" and "Webhook
models", API 2.x; payload shapes checked against the Conversation model of the REST reference):

- Signature — "Signed notifications": `X-Hub-Signature: sha1=<hex>`, the hexadecimal HMAC-SHA1
  (RFC 2104) of the raw JSON body keyed with the app's `client_secret` (Developer Hub → your app →
  Basic information). There is no timestamp, so there is no replay window to check; a replayed
  notification is recognised as a duplicate by its generic id instead.
- Notification object: `{"type": "notification_event", "topic": …, "id": "notif_…", "app_id": …,
  "created_at": …, "delivery_attempts": …, "data": {"type": "notification_event_data", "item": {…}}}`.
  `ping` (item `{"type": "ping", "message": …}`) is sent when the endpoint is saved and periodically.
  Intercom retries a failed delivery once after a minute and throttles endpoints that keep failing.
- Topics acted on (Conversation topics table):
  - `conversation.rating.added` (item: Conversation) → kind csat, score = `conversation_rating.rating`
    (1–5), comment = `conversation_rating.remark`. Generic id `conversation-<id>-rating`, so a remark
    that arrives later updates the same item.
  - `conversation_part.tag.created` (item: Conversation with `tags_added`) → an escalation when an added
    tag is in `options.escalate_tags` (default ["escalation"], compared case-insensitively).
  - `conversation.priority.updated` (item: Conversation) → an escalation when `priority` is in
    `options.escalate_priorities` (default ["priority", "urgent", "high"]: API 2.x says "priority" /
    "not_priority", the Preview API says none/low/medium/high/urgent). Shown as "high" for "priority".
  Both escalation topics use the generic id `conversation-<id>`: tagging and prioritising the same
  conversation make one item, updated. `ping` and every other topic → Ignored with the reason.
- Customer: the conversation's `source.author` when it is a user/lead/contact (API 2.x), or the legacy
  `user` object (API 1.x payloads); when no e-mail is there and the source has an `api_url`
  (https://api.intercom.io) and a token, GET /contacts/<id> fills it in (best effort).
- Link: https://app.intercom.com/a/inbox/<app_id>/inbox/conversation/<id>, with the app id (workspace
  id) from `options.app_id` or the notification's `app_id`.
- Source version: the conversation's `updated_at` (else the notification's `created_at`), then the
  notification's `created_at`. An older notification delivered (or replayed: the signature has no
  timestamp) after a newer one changes nothing.

Options: `app_id`, `escalate_tags`, `escalate_priorities`, `admin_id` (the admin that replies sent from
Slack are posted as; see bot/followups/close_loop.py); `check_options` reports unknown keys and wrong
types at start-up. Every item carries source_ref {"intercom_conversation_id": "<id>"}.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.common.signing import SignatureError
from bot.intake.payload import PayloadError
from bot.intake.providers.base import (
    Fetch,
    Ignored,
    best_effort_fetch,
    decode_json_object,
    email_or_none,
    hmac_digest,
    option_list,
    require_header,
    require_valid_options,
    same,
    string_list,
)

if TYPE_CHECKING:  # bot.config imports the adapters to check their options (config.py)
    from bot.config import SourceConfig

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature"

RATING_TOPIC = "conversation.rating.added"
TAG_TOPIC = "conversation_part.tag.created"
PRIORITY_TOPIC = "conversation.priority.updated"
TOPICS = (RATING_TOPIC, TAG_TOPIC, PRIORITY_TOPIC)

DEFAULT_ESCALATE_TAGS = ("escalation",)
DEFAULT_ESCALATE_PRIORITIES = ("priority", "urgent", "high")
# How a priority value is shown on the item ("priority" is API 2.x's only "on" value).
_SHOWN_PRIORITY = {"priority": "high", "not_priority": None, "none": None}

OPTIONS = ("app_id", "escalate_tags", "escalate_priorities", "admin_id")

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CUSTOMER_TYPES = {"user", "lead", "contact"}

MAX_SUBJECT, MAX_NAME, MAX_TAG, MAX_TAGS, MAX_PRIORITY = 500, 255, 100, 50, 32


def check_options(options: Mapping[str, Any]) -> list[str]:
    """Problems in an intercom source's `options`, one message per key (empty when fine)."""
    problems = []
    unknown = set(options) - set(OPTIONS)
    if unknown:
        problems.append(f"options: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(OPTIONS)})")
    admin_id = options.get("admin_id")
    if admin_id is not None and (isinstance(admin_id, bool) or not str(admin_id).strip().isdigit()):
        problems.append("options.admin_id: must be the numeric id of the Intercom admin replies are sent as")
    app_id = options.get("app_id")
    if app_id is not None and (not isinstance(app_id, str) or not _ID.match(app_id.strip())):
        problems.append("options.app_id: must be your Intercom workspace (app) id, e.g. \"abc123de\"")
    for key in ("escalate_tags", "escalate_priorities"):
        if key in options and string_list(options[key]) is None:
            problems.append(f"options.{key}: must be a list of strings")
    return problems


class IntercomAdapter:
    check_options = staticmethod(check_options)

    def verify(self, source: SourceConfig, secret: str, body: bytes, headers: Mapping[str, str],
               now: float) -> None:
        given = require_header(headers, SIGNATURE_HEADER).strip()
        if not given.lower().startswith("sha1="):
            raise SignatureError(f"{SIGNATURE_HEADER} must be sha1=<hex digest>")
        expected = "sha1=" + hmac_digest(secret, body, "sha1").hex()
        if not same(expected, "sha1=" + given[5:].lower()):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, source: SourceConfig, body: bytes, headers: Mapping[str, str],
              fetch: Fetch) -> list[dict[str, Any]] | Ignored:
        # Normally caught at start-up; 500 so Intercom records a failed delivery until it is fixed.
        require_valid_options(source, check_options)
        data = decode_json_object(body)
        topic = data.get("topic")
        if not isinstance(topic, str) or not topic.strip():
            raise PayloadError(422, "an Intercom notification needs its topic", field="topic")
        if topic == "ping":
            return Ignored("ping: Intercom is checking the endpoint")
        if topic not in TOPICS:
            return Ignored(f"Intercom topic {topic[:100]} is not one cxloop acts on ({', '.join(TOPICS)})")
        container = data.get("data")
        item = container.get("item") if isinstance(container, dict) else None
        if not isinstance(item, dict):
            raise PayloadError(422, f"{topic} needs data.item", field="data.item")
        if item.get("type") != "conversation":
            raise PayloadError(422, f"{topic}: expected a conversation, got {str(item.get('type'))[:40]!r}",
                               field="data.item.type")
        conversation_id = _text(item.get("id"))
        if not conversation_id or not _ID.match(conversation_id):
            raise PayloadError(422, "must be the Intercom conversation id", field="data.item.id")
        conversation = _Conversation(source, data, item, conversation_id)
        if topic == RATING_TOPIC:
            parsed = conversation.rating(fetch)
        elif topic == TAG_TOPIC:
            parsed = conversation.tagged(fetch)
        else:
            parsed = conversation.prioritised(fetch)
        if isinstance(parsed, Ignored):
            return parsed
        notified = _seconds(data.get("created_at"))
        updated_at = _unix(item.get("updated_at")) or _unix(notified)
        return [{**payload, "updated_at": updated_at, "version": notified} for payload in parsed]


ADAPTER = IntercomAdapter()


class _Conversation:
    def __init__(self, source: SourceConfig, notification: dict[str, Any], item: dict[str, Any],
                 conversation_id: str):
        self.source, self.notification, self.item, self.id = source, notification, item, conversation_id

    # --- the three topics ----------------------------------------------------------------------------

    def rating(self, fetch: Fetch) -> list[dict[str, Any]]:
        rating = self.item.get("conversation_rating")
        if not isinstance(rating, dict):
            raise PayloadError(422, "conversation.rating.added needs the conversation's rating",
                               field="data.item.conversation_rating")
        score = rating.get("rating")
        if isinstance(score, str) and score.strip().isdigit():
            score = int(score.strip())
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise PayloadError(422, "must be the 1–5 conversation rating",
                               field="data.item.conversation_rating.rating")
        rater = rating.get("contact") or rating.get("customer")  # API 2.x / 1.x
        rater_id = _text(rater.get("id")) if isinstance(rater, dict) else None
        return [{
            "id": f"conversation-{self.id}-rating", "kind": "csat", "score": score,
            "comment": _text(rating.get("remark")), "subject": self.subject(),
            "customer": self.customer(fetch, rater_id), "tags": self.tags(), "url": self.url(),
            "created_at": _unix(rating.get("created_at")),
            "source_ref": {"intercom_conversation_id": self.id},
            "agent": self.rated_teammate(fetch, rating.get("teammate")),
        }]

    def tagged(self, fetch: Fetch) -> list[dict[str, Any]] | Ignored:
        added = _tag_names(self.item.get("tags_added"))
        escalate = option_list(self.source, "escalate_tags", DEFAULT_ESCALATE_TAGS)
        if not any(tag.lower() in escalate for tag in added):
            return Ignored(f"Intercom conversation {self.id}: added tag(s) {', '.join(added) or '-'} include "
                           f"none of escalate_tags ({', '.join(escalate) or '-'})")
        return [self.escalation(fetch)]

    def prioritised(self, fetch: Fetch) -> list[dict[str, Any]] | Ignored:
        priority = (_text(self.item.get("priority")) or "").lower()
        escalate = option_list(self.source, "escalate_priorities", DEFAULT_ESCALATE_PRIORITIES)
        if priority not in escalate:
            return Ignored(f"Intercom conversation {self.id}: priority {priority or 'none'} is not in "
                           f"escalate_priorities ({', '.join(escalate) or '-'})")
        return [self.escalation(fetch)]

    def escalation(self, fetch: Fetch) -> dict[str, Any]:
        priority = (_text(self.item.get("priority")) or "").lower()
        return {
            "id": f"conversation-{self.id}", "kind": "escalation",
            "subject": self.subject() or f"Intercom conversation {self.id}",
            "comment": self.first_message(),
            "priority": _SHOWN_PRIORITY.get(priority, priority[:MAX_PRIORITY] or None),
            "tags": self.tags(), "customer": self.customer(fetch, None), "url": self.url(),
            "created_at": _unix(self.item.get("created_at")),
            "source_ref": {"intercom_conversation_id": self.id},
        }

    # --- pieces --------------------------------------------------------------------------------------

    def rated_teammate(self, fetch: Fetch, teammate: Any) -> str | None:
        """`conversation_rating.teammate`: "the Intercom teammate associated with the conversation when it
        was rated" (Conversation Rating model), not whoever is assigned when the webhook is read. Its
        e-mail (else name) from GET /admins/<id> when the source has an api_url, else "intercom:<id>"."""
        admin_id = _text(teammate.get("id")) if isinstance(teammate, dict) else None
        if not admin_id or not _ID.match(admin_id):
            return None
        if self.source.api_url:
            found = best_effort_fetch(fetch, f"/admins/{admin_id}", log=log, provider="intercom")
            named = email_or_none(found.get("email")) or _text(found.get("name"))
            if named:
                return named[:MAX_NAME]
        return f"intercom:{admin_id}"

    def _source_message(self) -> dict[str, Any]:
        # API 2.x: "source"; API 1.x: "conversation_message".
        for key in ("source", "conversation_message"):
            value = self.item.get(key)
            if isinstance(value, dict):
                return value
        return {}

    def subject(self) -> str | None:
        title = _text(self.item.get("title")) or _plain(self._source_message().get("subject"))
        return title[:MAX_SUBJECT] if title else None

    def first_message(self) -> str | None:
        return _plain(self._source_message().get("body"))

    def tags(self) -> list[str]:
        names = _tag_names(self.item.get("tags")) + _tag_names(self.item.get("tags_added"))
        return list(dict.fromkeys(n for n in names if len(n) <= MAX_TAG))[:MAX_TAGS]

    def url(self) -> str | None:
        app_id = _text(self.source.options.get("app_id")) or _text(self.notification.get("app_id"))
        if not app_id or not _ID.match(app_id):
            return None
        return f"https://app.intercom.com/a/inbox/{app_id}/inbox/conversation/{self.id}"

    def customer(self, fetch: Fetch, contact_id: str | None) -> dict[str, Any]:
        email = name = None
        candidates = []
        author = self._source_message().get("author")
        if isinstance(author, dict) and author.get("type") in _CUSTOMER_TYPES:
            candidates.append(author)
        legacy_user = self.item.get("user")  # API 1.x payloads
        if isinstance(legacy_user, dict) and legacy_user.get("type") in _CUSTOMER_TYPES:
            candidates.append(legacy_user)
        for person in candidates:
            email = email or email_or_none(person.get("email"))
            name = name or _text(person.get("name"))
            contact_id = contact_id or _text(person.get("id"))
        contacts = self.item.get("contacts")
        listed = contacts.get("contacts") if isinstance(contacts, dict) else contacts  # 2.x / 2.0 list
        if not contact_id and isinstance(listed, list) and listed and isinstance(listed[0], dict):
            contact_id = _text(listed[0].get("id"))
        if contact_id and not _ID.match(contact_id):
            contact_id = None
        if not email and contact_id and self.source.api_url:
            found = best_effort_fetch(fetch, f"/contacts/{contact_id}", log=log, provider="intercom")
            email, name = email_or_none(found.get("email")), name or _text(found.get("name"))
        customer: dict[str, Any] = {"email": email, "name": name[:MAX_NAME] if name else None, "properties": {}}
        if contact_id:
            customer["properties"]["intercom_contact_id"] = contact_id
        return customer


def _tag_names(value: Any) -> list[str]:
    # {"type": "tag.list", "tags": [{"type": "tag", "id": …, "name": …}]}, or a bare list.
    tags = value.get("tags") if isinstance(value, dict) else value
    if not isinstance(tags, list):
        return []
    names = (_text(t.get("name")) if isinstance(t, dict) else _text(t) for t in tags)
    return [n for n in names if n]


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    return value.strip() or None


_BREAKS = re.compile(r"<br\s*/?>|</p>|</div>|</li>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,2000}>")


def _plain(value: Any) -> str | None:
    """Intercom message bodies are HTML ("<p>Hi</p>"): the text, one line per paragraph."""
    text = _text(value)
    if not text:
        return None
    text = html.unescape(_TAG.sub("", _BREAKS.sub("\n", text)))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line) or None


def _seconds(value: Any) -> int | None:
    return None if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 10**11 else value


def _unix(value: Any) -> str | None:
    seconds = _seconds(value)
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat()
