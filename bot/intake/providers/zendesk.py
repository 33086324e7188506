"""Zendesk Support webhooks → escalations and CSAT items.

Documentation followed (Zendesk developer docs, as published on developer.zendesk.com / support.zendesk.com):

- Signature — "Verifying webhook authenticity" (developer.zendesk.com/documentation/webhooks/verifying/):
  every request carries `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(signing secret,
  TIMESTAMP + BODY)) and `X-Zendesk-Webhook-Signature-Timestamp`, the timestamp used in the signature,
  an ISO 8601 UTC time such as `2021-03-25T05:09:27Z` ("Anatomy of a webhook request"). The timestamp
  and the raw body are concatenated with no separator. We refuse timestamps more than
  MAX_SKEW_SECONDS from now (the docs say the signature "helps prevent replay attacks"). The signing
  secret is shown under Admin Center → Apps and integrations → Webhooks → (webhook) → Signing secret.
  Zendesk's "Test webhook" button signs with a fixed test secret, not the webhook's own.
- Event-subscription payloads — "Webhook event types" and "Ticket events"
  (developer.zendesk.com/api-reference/webhooks/event-types/): a JSON object with `type`
  (`zen:event-type:ticket.created`, `…ticket.priority_changed`, `…ticket.tags_changed`, …),
  `account_id`, `id`, `time`, `zendesk_event_version`, `subject` (`zen:ticket:<id>`), `detail` (the
  ticket: `id` as a string, `subject`, `description`, `priority`, `status`, `tags`, `requester_id`,
  `organization_id`, `created_at`, …) and `event` (the change, e.g. `{"current": "URGENT",
  "previous": "HIGH"}` for a priority change, `{"tags_added": […], "tags_removed": […]}` for tags).
  Enum values arrive upper-case here ("URGENT") and lower-case elsewhere: priorities are compared
  lower-cased. The detail carries ids only; when the source has an `api_url` (and API credentials) the
  requester and organization are looked up with GET /api/v2/users/<id>.json and
  /api/v2/organizations/<id>.json. A failed look-up never holds an escalation back.
- Trigger/automation payloads — "Creating webhooks … connecting a webhook to a trigger or automation"
  and the "Zendesk placeholders reference" (support.zendesk.com/hc/en-us/articles/4408886858138): the
  admin writes the JSON body with placeholders. cxloop documents this body (README; a copy lives in
  tests/fixtures/providers/zendesk/trigger_template.json):

      {"ticket": {"id": "{{ticket.id}}", "title": "{{ticket.title}}",
                  "priority": "{{ticket.priority}}", "status": "{{ticket.status}}",
                  "tags": "{{ticket.tags}}", "link": "{{ticket.link}}",
                  "created_at": "{{ticket.created_at_with_timestamp}}",
                  "updated_at": "{{ticket.updated_at_with_timestamp}}",
                  "requester": {"email": "{{ticket.requester.email}}", "name": "{{ticket.requester.name}}"},
                  "organization": {"name": "{{ticket.organization.name}}",
                                   "external_id": "{{ticket.organization.external_id}}"}},
       "satisfaction": {"rating": "{{satisfaction.current_rating}}",
                        "comment": "{{satisfaction.current_comment}}",
                        "assignee": {"email": "{{ticket.assignee.email}}", "name": "{{ticket.assignee.name}}"}}}

  The `assignee` of the satisfaction object is rendered when the rating trigger fires, so it is the agent
  the ticket was assigned to at the time of the rating (the Satisfaction Ratings API's `assignee_id`, "the
  id of agent assigned to at the time of rating", is read too): the item's agent. A later delivery about the
  same rating (a comment added after the ticket was reassigned) does not move it (bot/intake/ingest.py).

  Placeholders render as display text: `{{ticket.priority}}` as "Urgent", `{{ticket.tags}}` as
  space-separated tags, `{{satisfaction.current_rating}}` as "Good, I'm satisfied" / "Bad, I'm
  unsatisfied" (or "Offered"/"Unoffered"); values follow the requester's language. A rating that starts
  with "good" or "bad" (any case) is understood; admins of non-English accounts can write the literal
  "good"/"bad" in two triggers conditioned on Satisfaction instead.

What becomes an item:
- escalation: a ticket whose priority is in `options.escalate_priorities` (default urgent, high) or
  that carries a tag in `options.escalate_tags` (default escalation, escalated). Generic id
  `ticket-<id>`: the same ticket again (a retry, a later priority change) is the same item, updated.
- csat: a "bad" rating → score 1 (detractor), "good" → 5, comment = the satisfaction comment. Generic id
  `ticket-<id>-csat`, so a retried webhook is a duplicate and a comment added after the rating updates
  the same item instead of posting twice.
- anything else (other events, a normal-priority ticket without a rating) → Ignored with the reason.

Source version (an older event delivered after a newer one changes nothing): the ticket's `updated_at`
(event detail or trigger body; the event's `time` when absent), then the signed
`X-Zendesk-Webhook-Signature-Timestamp`, which orders two deliveries within the same minute (trigger
placeholders render times to the minute).

Options: `subdomain` ("acme" or "acme.zendesk.com": ticket links become
https://acme.zendesk.com/agent/tickets/<id>; otherwise the payload's `{{ticket.link}}` or `api_url`),
`escalate_priorities`, `escalate_tags` (lists of strings, compared lower-cased); `check_options` reports
unknown keys and wrong types at start-up. Every item carries source_ref {"zendesk_ticket_id": <int>} so a
resolve can post an internal note on the ticket.
"""

from __future__ import annotations

import base64
import html
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.common.signing import MAX_SKEW_SECONDS, SignatureError
from bot.intake.payload import PayloadError
from bot.intake.providers.base import (
    Fetch,
    Ignored,
    best_effort_fetch,
    check_timestamp,
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

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"

DEFAULT_ESCALATE_PRIORITIES = ("urgent", "high")
DEFAULT_ESCALATE_TAGS = ("escalation", "escalated")

EVENT_PREFIX = "zen:event-type:"
# Ticket events whose ticket may have just become escalation-worthy.
ESCALATING_EVENTS = (
    "zen:event-type:ticket.created",
    "zen:event-type:ticket.priority_changed",
    "zen:event-type:ticket.tags_changed",
)

OPTIONS = ("subdomain", "escalate_priorities", "escalate_tags")

_SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_DIGITS = re.compile(r"^[0-9]{1,20}$")
_NO_RATING = {"", "-", "offered", "unoffered"}

MAX_SUBJECT, MAX_NAME, MAX_TAG, MAX_TAGS, MAX_PRIORITY = 500, 255, 100, 50, 32


def check_options(options: Mapping[str, Any]) -> list[str]:
    """Problems in a zendesk source's `options`, one message per key (empty when fine)."""
    problems = []
    unknown = set(options) - set(OPTIONS)
    if unknown:
        problems.append(f"options: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(OPTIONS)})")
    subdomain = options.get("subdomain")
    if subdomain is not None and _subdomain(subdomain) is None:
        problems.append('options.subdomain: must be your Zendesk subdomain, e.g. "acme" for acme.zendesk.com')
    for key in ("escalate_priorities", "escalate_tags"):
        if key in options and string_list(options[key]) is None:
            problems.append(f"options.{key}: must be a list of strings")
    return problems


class ZendeskAdapter:
    check_options = staticmethod(check_options)

    # --- signature -------------------------------------------------------------------------------

    def verify(self, source: SourceConfig, secret: str, body: bytes, headers: Mapping[str, str],
               now: float) -> None:
        signature = require_header(headers, SIGNATURE_HEADER)
        timestamp = require_header(headers, TIMESTAMP_HEADER)
        _check_fresh(timestamp, now)
        # base64(HMAC-SHA256(secret, TIMESTAMP + BODY)), no separator, over the raw bytes received.
        expected = base64.b64encode(hmac_digest(secret, timestamp.encode() + body)).decode()
        if not same(expected, signature):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")

    # --- payload ---------------------------------------------------------------------------------

    def parse(self, source: SourceConfig, body: bytes, headers: Mapping[str, str],
              fetch: Fetch) -> list[dict[str, Any]] | Ignored:
        # Normally caught at start-up; 500 so Zendesk shows a failed delivery until it is fixed.
        require_valid_options(source, check_options)
        data = decode_json_object(body)
        # verify() checked this header: the moment Zendesk signed this delivery.
        signed_at = _signed_at(headers.get(TIMESTAMP_HEADER.lower(), ""))
        event_type = data.get("type")
        if isinstance(event_type, str) and event_type.startswith(EVENT_PREFIX):
            return _versioned(_parse_event(source, data, event_type, fetch),
                              _time(_dict(data.get("detail")).get("updated_at")) or _time(data.get("time")), signed_at)
        if "ticket" in data:
            return _versioned(_parse_trigger(source, data), _time(_dict(data.get("ticket")).get("updated_at")),
                              signed_at)
        raise PayloadError(422, 'expected a Zendesk event ("type": "zen:event-type:…") or the cxloop '
                                'trigger body (a "ticket" object, see the README)', field="ticket")


ADAPTER = ZendeskAdapter()


def _check_fresh(raw: str, now: float) -> None:
    """Zendesk sends ISO 8601 UTC ("2021-03-25T05:09:27Z"); unix seconds are accepted too."""
    raw = raw.strip()
    if raw.isascii() and raw.isdigit():
        check_timestamp(raw, now, name=TIMESTAMP_HEADER)
        return
    moment = _signed_at(raw)
    if moment is None:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be an ISO 8601 time such as 2021-03-25T05:09:27Z")
    if abs(now - moment) > MAX_SKEW_SECONDS:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than {MAX_SKEW_SECONDS} seconds from now")


def _signed_at(raw: str) -> int | None:
    """The signature timestamp header as unix seconds (ISO 8601 or unix seconds), or None."""
    raw = raw.strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 12:
        return int(raw)
    try:
        moment = datetime.fromisoformat(raw) if len(raw) <= 40 else None
    except ValueError:
        return None
    if moment is None:
        return None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _versioned(parsed: list[dict[str, Any]] | Ignored, updated_at: str | None,
               signed_at: int | None) -> list[dict[str, Any]] | Ignored:
    """Each item with the source version: the ticket's update time, then when this delivery was signed."""
    if isinstance(parsed, Ignored):
        return parsed
    return [{**item, "updated_at": updated_at, "version": signed_at if signed_at and signed_at > 0 else None}
            for item in parsed]


# --- event subscriptions ---------------------------------------------------------------------------

def _parse_event(source: SourceConfig, data: dict[str, Any], event_type: str,
                 fetch: Fetch) -> list[dict[str, Any]] | Ignored:
    if not event_type.startswith(EVENT_PREFIX + "ticket."):
        return Ignored(f"Zendesk event {event_type[:100]} is not a ticket event")
    if event_type not in ESCALATING_EVENTS:
        names = ", ".join(t.removeprefix(EVENT_PREFIX) for t in ESCALATING_EVENTS)
        return Ignored(f"Zendesk event {event_type[:100]} is not one cxloop acts on ({names})")
    detail = data.get("detail")
    if not isinstance(detail, dict):
        raise PayloadError(422, "a Zendesk ticket event needs a detail object", field="detail")
    ticket_id = _ticket_id(detail.get("id"), "detail.id")
    event = data.get("event") if isinstance(data.get("event"), dict) else {}

    priority = _priority(detail.get("priority"))
    if event_type.endswith(".priority_changed") and _text(event.get("current")):
        priority = _priority(event.get("current"))
    tags = _tags(detail.get("tags"))
    if event_type.endswith(".tags_changed"):
        removed = set(_tags(event.get("tags_removed")))
        tags = [t for t in _unique(tags + _tags(event.get("tags_added"))) if t not in removed]

    why_not = _not_escalated(source, priority, tags)
    if why_not:
        return Ignored(f"Zendesk ticket {ticket_id}: {why_not}")

    customer = _event_customer(source, detail, fetch)
    subject = _text(detail.get("subject"))
    comment = _text(detail.get("description"))
    return [_escalation(source, ticket_id, subject=subject, comment=comment, priority=priority, tags=tags,
                        customer=customer, link=None, created_at=_time(detail.get("created_at")))]


def _event_customer(source: SourceConfig, detail: dict[str, Any], fetch: Fetch) -> dict[str, Any]:
    requester_id = _id_text(detail.get("requester_id"))
    organization_id = _id_text(detail.get("organization_id"))
    customer: dict[str, Any] = {"properties": {}}
    if requester_id:
        customer["properties"]["zendesk_requester_id"] = requester_id
    if organization_id:
        customer["properties"]["zendesk_organization_id"] = organization_id
        customer["account_id"] = organization_id
    if not source.api_url:
        return customer
    # The event detail has ids only; the API has the names. Best effort: an escalation must not wait
    # for (or fail with) a look-up.
    user = _look_up(fetch, f"/api/v2/users/{requester_id}.json", "user") if requester_id else {}
    customer["email"] = _email(user.get("email"))
    customer["name"] = _clip(_text(user.get("name")), MAX_NAME)
    organization = (_look_up(fetch, f"/api/v2/organizations/{organization_id}.json", "organization")
                    if organization_id else {})
    customer["account"] = _clip(_text(organization.get("name")), MAX_NAME)
    external_id = _clip(_text(organization.get("external_id")), MAX_NAME)
    if external_id:
        customer["account_id"] = external_id
    return customer


def _look_up(fetch: Fetch, path: str, key: str) -> dict[str, Any]:
    value = best_effort_fetch(fetch, path, log=log, provider="zendesk").get(key)
    return value if isinstance(value, dict) else {}


# --- trigger / automation body (cxloop's documented template) ---------------------------------------

def _parse_trigger(source: SourceConfig, data: dict[str, Any]) -> list[dict[str, Any]] | Ignored:
    ticket = data.get("ticket")
    if not isinstance(ticket, dict):
        raise PayloadError(422, "ticket must be an object (see the README's Zendesk trigger body)", field="ticket")
    ticket_id = _ticket_id(ticket.get("id"), "ticket.id")
    priority = _priority(ticket.get("priority"))
    tags = _tags(ticket.get("tags"))
    requester = ticket.get("requester") if isinstance(ticket.get("requester"), dict) else {}
    organization = ticket.get("organization") if isinstance(ticket.get("organization"), dict) else {}
    customer: dict[str, Any] = {
        "email": _email(requester.get("email")),
        "name": _clip(_text(requester.get("name")), MAX_NAME),
        "account": _clip(_text(organization.get("name")), MAX_NAME),
        "account_id": _clip(_text(organization.get("external_id")), MAX_NAME),
    }
    subject = _text(ticket.get("title")) or _text(ticket.get("subject"))
    link = _link_from_payload(ticket.get("link")) or _link_from_payload(ticket.get("url"))
    items: list[dict[str, Any]] = []
    reasons: list[str] = []

    why_not = _not_escalated(source, priority, tags)
    if why_not:
        reasons.append(why_not)
    else:
        items.append(_escalation(source, ticket_id, subject=subject, comment=_text(ticket.get("description")),
                                 priority=priority, tags=tags, customer=customer, link=link,
                                 created_at=_time(ticket.get("created_at"))))

    satisfaction = data.get("satisfaction") if isinstance(data.get("satisfaction"), dict) else {}
    raw_rating = satisfaction.get("rating", satisfaction.get("current_rating"))
    rating = _rating(raw_rating)
    if rating is not None:
        items.append({
            "id": f"ticket-{ticket_id}-csat", "kind": "csat", "score": 5 if rating == "good" else 1,
            "comment": _text(satisfaction.get("comment", satisfaction.get("current_comment"))),
            "subject": _clip(subject, MAX_SUBJECT), "customer": customer, "tags": tags,
            "url": _ticket_url(source, ticket_id, link),
            "created_at": _time(ticket.get("updated_at")),
            "source_ref": {"zendesk_ticket_id": ticket_id},
            "agent": _rated_agent(ticket, satisfaction),
        })
    elif _text(raw_rating) and _text(raw_rating).lower() not in _NO_RATING:
        reasons.append(f"satisfaction rating {_text(raw_rating)[:60]!r} is neither good nor bad")
    else:
        reasons.append("no good/bad satisfaction rating")
    return items or Ignored(f"Zendesk ticket {ticket_id}: " + "; ".join(reasons))


def _rated_agent(ticket: dict[str, Any], satisfaction: dict[str, Any]) -> str | None:
    """Who the rating is about: the ticket's assignee when the rating trigger fired (`ticket.assignee` or
    `satisfaction.assignee`, {{ticket.assignee.email}} / {{ticket.assignee.name}} in the template), else
    the rating's `assignee_id` ("the id of agent assigned to at the time of rating", Satisfaction
    Ratings API). An e-mail first (stable), then the name, then "zendesk:<id>"."""
    for holder in (satisfaction.get("assignee"), ticket.get("assignee")):
        if isinstance(holder, dict):
            found = _email(holder.get("email")) or _clip(_text(holder.get("name")), MAX_NAME)
            if found:
                return found
    assignee_id = _id_text(satisfaction.get("assignee_id")) or _id_text(_dict(satisfaction.get("assignee")).get("id"))
    return f"zendesk:{assignee_id}" if assignee_id else None


# --- shared -----------------------------------------------------------------------------------------

def _escalation(source: SourceConfig, ticket_id: int, *, subject: str | None, comment: str | None,
                priority: str | None, tags: list[str], customer: dict[str, Any], link: str | None,
                created_at: str | None) -> dict[str, Any]:
    return {
        "id": f"ticket-{ticket_id}", "kind": "escalation",
        "subject": _clip(subject, MAX_SUBJECT) or f"Zendesk ticket #{ticket_id}",
        "comment": comment, "priority": priority, "tags": tags, "customer": customer,
        "url": _ticket_url(source, ticket_id, link), "created_at": created_at,
        "source_ref": {"zendesk_ticket_id": ticket_id},
    }


def _not_escalated(source: SourceConfig, priority: str | None, tags: list[str]) -> str | None:
    """None when the ticket is an escalation, else why it is not."""
    priorities = option_list(source, "escalate_priorities", DEFAULT_ESCALATE_PRIORITIES)
    escalate_tags = option_list(source, "escalate_tags", DEFAULT_ESCALATE_TAGS)
    if priority in priorities or any(tag in escalate_tags for tag in tags):
        return None
    return (f"priority {priority or 'none'} is not in escalate_priorities ({', '.join(priorities) or '-'}) "
            f"and no tag is in escalate_tags ({', '.join(escalate_tags) or '-'})")


def _subdomain(value: Any) -> str | None:
    """"acme", "acme.zendesk.com" or "https://acme.zendesk.com/" → "acme"; None when not a subdomain."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower().removeprefix("https://").removesuffix("/").removesuffix(".zendesk.com")
    return value if _SUBDOMAIN.match(value) else None


def _ticket_url(source: SourceConfig, ticket_id: int, link: str | None) -> str | None:
    subdomain = _subdomain(source.options.get("subdomain"))
    if subdomain:
        return f"https://{subdomain}.zendesk.com/agent/tickets/{ticket_id}"
    if link:
        return link
    if source.api_url:
        return f"{source.api_url.rstrip('/')}/agent/tickets/{ticket_id}"
    return None


def _link_from_payload(value: Any) -> str | None:
    text = _text(value)
    if not text or len(text) > 3000 or any(c.isspace() for c in text):
        return None
    if text.lower().startswith(("https://", "http://")):
        return text
    # {{ticket.url}} renders without the scheme ("acme.zendesk.com/agent/tickets/35436").
    if re.match(r"^[a-z0-9.-]+\.[a-z]{2,}/", text, re.IGNORECASE):
        return "https://" + text
    return None


def _text(value: Any) -> str | None:
    """A trimmed string; blank, non-text and unrendered placeholders ("{{ticket.x}}") are absent."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or (value.startswith("{{") and value.endswith("}}")):
        return None
    return value


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else value


def _id_text(value: Any) -> str | None:
    text = _text(value)
    return text if text and _DIGITS.match(text) and int(text) > 0 else None


def _ticket_id(value: Any, field: str) -> int:
    text = _text(value)
    if not text or not _DIGITS.match(text) or int(text) <= 0:
        raise PayloadError(422, "must be the Zendesk ticket id (a positive whole number)", field=field)
    return int(text)


def _priority(value: Any) -> str | None:
    # "URGENT" (events), "urgent" (API), "Urgent" ({{ticket.priority}}), "-" when unset.
    text = _text(value)
    if not text or text == "-":
        return None
    return text.lower()[:MAX_PRIORITY]


def _tags(value: Any) -> list[str]:
    # A list (events, API) or the space-separated text of {{ticket.tags}}.
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list):
        return []
    tags = [t.lower() for t in (_text(v) for v in value) if t and len(t) <= MAX_TAG]
    return _unique(tags)[:MAX_TAGS]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _email(value: Any) -> str | None:
    return email_or_none(_text(value))  # an unrendered placeholder is no address


def _rating(value: Any) -> str | None:
    """'good' | 'bad' from "good", "Bad", "Good, I'm satisfied", "Bad, I'm unsatisfied"; else None."""
    text = _text(value)
    if not text:
        return None
    text = html.unescape(text).strip().strip("\"'").strip().lower()
    for rating in ("good", "bad"):
        if text == rating or re.match(rf"^{rating}\b", text):
            return rating
    return None


def _time(value: Any) -> str | None:
    """An ISO 8601 time (e.g. {{ticket.created_at_with_timestamp}} = 2013-12-12T05:35Z), else absent."""
    text = _text(value)
    if not text or len(text) > 40:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()
