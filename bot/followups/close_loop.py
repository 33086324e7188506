"""Close the loop where the customer lives: calls back to a source when its item is resolved, and a
hand-off when a promoter arrives. Queued in the outbox (retried, never lost) and performed by the
delivery worker with httpx.

Rows store a purpose and ids only. The URL and the credentials are looked up in the configuration
when the call is made, so no request can point cxloop at another host and no secret sits in the
database.
"""

from __future__ import annotations

import json
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.common.email_address import email_or_none
from bot.common.signing import sign_webhook
from bot.config import AppConfig, SourceConfig
from bot.delivery.outbound import TIMEOUT, USER_AGENT, CallFailed, api_auth
from bot.delivery.outbox import HttpCall, enqueue
from bot.followups.service import log_reply
from bot.schedule.ledger import claim_run
from bot.slack.ids import OUTCOMES
from bot.vip.accounts import log_touch
from models import FollowUp, Item

ZENDESK_NOTE, RESOLVED_WEBHOOK, PROMOTER = "zendesk_note", "resolved_webhook", "promoter"
ZENDESK_REPLY, INTERCOM_REPLY, EMAIL_REPLY = "zendesk_reply", "intercom_reply", "email_reply"
REPLY_MAX_CHARS = 2900


def _queue(session: Session, item: Item, purpose: str, now: datetime, *, text: str | None = None,
           by: str | None = None) -> None:
    enqueue(session, HttpCall(purpose=purpose, source=item.source, text=text, by=by),
            channel=HttpCall.channel_for(item.source), item_id=item.id, now=now)


def queue_promoter_hand_off(session: Session, *, item: Item, config: AppConfig, now: datetime) -> bool:
    """A promoter (score ≥ the source's promoter_min_score) → one POST to its promoter_url, ever."""
    source = config.source(item.source)
    if (source is None or not source.promoter_url or item.category != "promoter" or item.score is None
            or (item.kind == "nps" and item.score < source.promoter_min_score)):
        return False
    if not claim_run(session, job=PROMOTER, target=f"item:{item.id}", period="once", scheduled_for=now, now=now,
                     claimed_by="intake"):
        return False
    _queue(session, item, PROMOTER, now)
    return True


def queue_resolution_callbacks(session: Session, *, item_id: int, config: AppConfig, now: datetime) -> int:
    """After a resolve: an internal note on the Zendesk ticket, and/or the source's resolved webhook."""
    item = session.get(Item, item_id)
    source = config.source(item.source) if item else None
    if item is None or source is None:
        return 0
    queued = 0
    if source.type == "zendesk" and source.api_url and str((item.source_ref or {}).get("zendesk_ticket_id", "")).isdigit():
        _queue(session, item, ZENDESK_NOTE, now)
        queued += 1
    if source.resolved_url:
        _queue(session, item, RESOLVED_WEBHOOK, now)
        queued += 1
    return queued


@dataclass(frozen=True)
class ReplyRoute:
    purpose: str
    via: str  # shown to the sender: "Zendesk (public comment)", "Intercom", "e-mail"
    to: str


def reply_route(item: Item, config: AppConfig) -> ReplyRoute | None:
    """How a reply to this item's customer would go: through its source where it can, else by e-mail."""
    source = config.source(item.source)
    ref = item.source_ref or {}
    who = item.customer_name or item.customer_email or "the customer"
    if source is not None and source.api_url:
        if source.type == "zendesk" and str(ref.get("zendesk_ticket_id", "")).isdigit():
            return ReplyRoute(ZENDESK_REPLY, "Zendesk (public comment on the ticket)", who)
        if source.type == "intercom" and ref.get("intercom_conversation_id") and source.options.get("admin_id"):
            return ReplyRoute(INTERCOM_REPLY, "Intercom (conversation reply)", who)
    # An address stored before addresses were checked (a list, a line break) is no way to reach anyone.
    address = email_or_none(item.customer_email) if config.email is not None else None
    if address is not None:
        return ReplyRoute(EMAIL_REPLY, f"e-mail from {config.email.sender}", address)
    return None


def queue_customer_reply(session: Session, *, item_id: int, user_id: str, text: str, config: AppConfig,
                         now: datetime) -> ReplyRoute | None:
    """Queue the reply, log it in the item's thread and audit trail, and count it as a touch on the account."""
    item = session.get(Item, item_id)
    text = (text or "").strip()[:REPLY_MAX_CHARS]
    route = reply_route(item, config) if item is not None and text else None
    if route is None:
        return None
    _queue(session, item, route.purpose, now, text=text, by=user_id)
    log_reply(session, item_id=item.id, user_id=user_id, text=text, via=route.via, now=now)
    if item.account_id is not None:
        log_touch(session, account_id=item.account_id, actor=user_id, channel="email", note=f"Reply: {text}",
                  now=now, item_id=item.id)
    return route


def _item_json(item: Item, follow_up: FollowUp | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": item.id, "source": item.source, "external_id": item.external_id, "kind": item.kind,
        "score": item.score, "category": item.category, "url": item.url,
        "customer": {"email": item.customer_email, "name": item.customer_name, "account": item.account_name},
        "source_ref": item.source_ref or {},
    }
    if follow_up is not None:
        body.update(status=follow_up.status, claimed_by=follow_up.claimed_by, resolved_by=follow_up.resolved_by,
                    resolved_at=follow_up.resolved_at.isoformat() if follow_up.resolved_at else None,
                    outcome=follow_up.outcome, note=follow_up.resolution_note)
    return body


def _zendesk_note(item: Item, follow_up: FollowUp) -> str:
    lines = [f"Resolved in Slack by {follow_up.resolved_by} (cxloop): {OUTCOMES.get(follow_up.outcome or '', '–')}"]
    if follow_up.resolution_note:
        lines += ["", follow_up.resolution_note]
    return "\n".join(lines)


@dataclass(frozen=True)
class PreparedCall:
    source: SourceConfig
    method: str
    url: str
    body: dict[str, Any]
    api: bool  # the provider's API (its credentials) rather than a webhook we sign


def prepare_call(session: Session, row_payload: HttpCall, item_id: int | None,
                 config: AppConfig) -> PreparedCall:
    """Read what a queued call needs (inside a transaction); raise CallFailed if it can never be made."""
    purpose = row_payload.purpose
    source = config.source(row_payload.source or "")
    if source is None and purpose != EMAIL_REPLY:
        raise CallFailed(f"source {row_payload.source!r} is no longer configured", retryable=False)
    item = session.get(Item, item_id) if item_id else None
    if item is None:
        raise CallFailed("the item no longer exists", retryable=False)
    if source is None and purpose == EMAIL_REPLY:
        source = SourceConfig(name=item.source, secret_env="UNUSED")
    follow_up = session.scalar(select(FollowUp).where(FollowUp.item_id == item.id))
    if purpose == ZENDESK_NOTE:
        ticket_id = int(item.source_ref["zendesk_ticket_id"])
        url = f"{source.api_url.rstrip('/')}/api/v2/tickets/{ticket_id}.json"
        return PreparedCall(source, "PUT", url, {"ticket": {"comment": {
            "body": _zendesk_note(item, follow_up), "public": False}}}, api=True)
    if purpose == ZENDESK_REPLY:
        ticket_id = int(item.source_ref["zendesk_ticket_id"])
        url = f"{source.api_url.rstrip('/')}/api/v2/tickets/{ticket_id}.json"
        return PreparedCall(source, "PUT", url, {"ticket": {"comment": {"body": _reply_text(row_payload), "public": True}}},
                            api=True)
    if purpose == INTERCOM_REPLY:
        conversation = str(item.source_ref["intercom_conversation_id"])
        if not conversation.isalnum():
            raise CallFailed(f"not an Intercom conversation id: {conversation[:40]!r}", retryable=False)
        url = f"{source.api_url.rstrip('/')}/conversations/{conversation}/reply"
        return PreparedCall(source, "POST", url, {"message_type": "comment", "type": "admin",
                                                  "admin_id": str(source.options.get("admin_id")),
                                                  "body": _reply_text(row_payload)}, api=True)
    if purpose == EMAIL_REPLY:
        address = email_or_none(item.customer_email)
        if config.email is None or address is None:
            raise CallFailed("no [email] configuration, or the customer has no valid e-mail address", retryable=False)
        subject = f"Re: {item.subject}" if item.subject else "About your feedback"
        return PreparedCall(source, "SMTP", address, {"subject": subject, "text": _reply_text(row_payload)}, api=False)
    if purpose == RESOLVED_WEBHOOK and source.resolved_url:
        return PreparedCall(source, "POST", source.resolved_url,
                            {"event": "resolved", "item": _item_json(item, follow_up)}, api=False)
    if purpose == PROMOTER and source.promoter_url:
        return PreparedCall(source, "POST", source.promoter_url, {"event": "promoter", "item": _item_json(item, None)},
                            api=False)
    raise CallFailed(f"nothing configured for {purpose!r} on source {source.name!r}", retryable=False)


def _reply_text(row_payload: HttpCall) -> str:
    if row_payload.text is None:  # as a KeyError did: an unexpected failure, retried, then parked dead
        raise KeyError("text")
    return row_payload.text


def send_call(call: PreparedCall, config: AppConfig) -> None:
    """Make the call (outside any transaction); raise CallFailed when it did not succeed."""
    source, method, url, body, api = call.source, call.method, call.url, call.body, call.api
    if method == "SMTP":
        _send_email(config, to=url, subject=body["subject"], text=body["text"])
        return
    content = json.dumps(body, separators=(",", ":"), default=str).encode()
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
    options: dict[str, Any] = {}
    if api:
        options = api_auth(config, source)
        headers.update(options.pop("headers", {}))
    else:
        # Our own webhooks are signed like the ones we accept, with the source's secret.
        headers.update(sign_webhook(config.source_secrets[source.name], content))
    try:
        response = httpx.request(method, url, content=content, headers=headers, timeout=TIMEOUT, **options)
    except httpx.HTTPError as exc:
        raise CallFailed(f"{type(exc).__name__} calling {source.name}", retryable=True) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise CallFailed(f"HTTP {response.status_code} from {source.name}", retryable=True)
    if response.status_code >= 400:
        raise CallFailed(f"HTTP {response.status_code} from {source.name}: {response.text[:200]}", retryable=False)


def _send_email(config: AppConfig, *, to: str, subject: str, text: str) -> None:
    settings = config.email
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.sender, to, subject
    message.set_content(text)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT.connect or 10) as smtp:
            if settings.starttls:
                smtp.starttls()
            if config.email_credentials.get("username"):
                smtp.login(config.email_credentials["username"], config.email_credentials.get("password", ""))
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise CallFailed(f"the mail server refused {to}", retryable=False) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise CallFailed(f"{type(exc).__name__} sending e-mail", retryable=True) from exc
