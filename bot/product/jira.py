"""Jira Cloud: webhook verification and decoding, and the REST v3 calls the product loop makes.

Webhooks (developer.atlassian.com "Webhooks"): a webhook registered with a secret carries
`X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`; `X-Atlassian-Webhook-Identifier`
identifies the delivery (the same on a retry). `jira:issue_updated` carries the `issue` (`key`,
`fields.status.statusCategory.key`: new | indeterminate | done, `fields.resolution.name`, `fields.summary`)
and the `changelog` of what changed.

REST v3: POST /rest/api/3/issue {"fields": {project, summary, issuetype, description (ADF)}} → 201
{"key"}; GET /rest/api/3/issue/{key}; basic auth with the account e-mail and an API token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from bot.common.signing import SignatureError
from bot.config import TrackerConfig
from bot.delivery.outbound import CallFailed
from bot.product.trackers import Credentials, EventError, Ignored, IssueEvent, IssueFacts, request_json

SIGNATURE_HEADER = "x-hub-signature"
DELIVERY_HEADER = "x-atlassian-webhook-identifier"
# Resolutions that close an issue without shipping it (Jira's defaults); any other "done" is completed.
NOT_PLANNED_RESOLUTIONS = {"won't do", "won't fix", "cannot reproduce", "duplicate", "declined", "incomplete"}

_URL = re.compile(r"^https?://[^/\s]+/browse/([A-Za-z][A-Za-z0-9_]{0,19}-\d{1,9})/?(?:[?#].*)?$")
_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9_]{0,19})-(\d{1,9})$")


def verify(secret: str, body: bytes, headers: dict[str, str], now: float) -> None:
    given = headers.get(SIGNATURE_HEADER) or ""
    if not given:
        raise SignatureError("missing X-Hub-Signature header (set a secret on the Jira webhook)")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.strip().encode("utf-8", "replace"), expected.encode()):
        raise SignatureError("X-Hub-Signature does not match the body")


def parse_event(tracker: TrackerConfig, body: bytes, headers: dict[str, str], now: float) -> IssueEvent | Ignored:
    try:
        data = json.loads(body)
    except ValueError:
        raise EventError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise EventError("the body is not a JSON object")
    if data.get("webhookEvent") != "jira:issue_updated":
        return Ignored(f"event {str(data.get('webhookEvent'))[:40]!r} is not used")
    issue = data.get("issue") if isinstance(data.get("issue"), dict) else {}
    key = issue.get("key")
    parts = _KEY.match(key) if isinstance(key, str) else None
    if parts is None:
        raise EventError("issue.key: expected an issue key such as ACME-12")
    if parts.group(1).upper() != tracker.repo:
        return Ignored("another project")
    fields = issue.get("fields") if isinstance(issue.get("fields"), dict) else {}
    category = _dig(fields, "status", "statusCategory", "key")
    resolution = str(_dig(fields, "resolution", "name") or "")
    items = _dig(data, "changelog", "items")
    status_changed = isinstance(items, list) and any(isinstance(i, dict) and i.get("field") == "status" for i in items)
    if category == "done":
        action, reason = "closed", "not_planned" if resolution.lower() in NOT_PLANNED_RESOLUTIONS else "completed"
    elif status_changed:
        action, reason = "reopened", None
    else:
        return Ignored("no status change")
    delivery = (headers.get(DELIVERY_HEADER) or "").strip() or f"{data.get('timestamp')}:{issue.get('id')}"
    summary = fields.get("summary")
    return IssueEvent(delivery_id=delivery[:128], key=key.upper(), action=action, state_reason=reason,
                      title=summary[:500] if isinstance(summary, str) else None, url=web_url(tracker, key.upper()))


def _dig(data: Any, *path: str) -> Any:
    for step in path:
        data = data.get(step) if isinstance(data, dict) else None
    return data


def match_ref(tracker: TrackerConfig, text: str, *, only: bool) -> str | None:
    match = _URL.match(text)
    parts = _KEY.match(match.group(1) if match else text)
    if parts is None or parts.group(1).upper() != tracker.repo:
        return None
    return f"{tracker.repo}-{int(parts.group(2))}"


def web_url(tracker: TrackerConfig, key: str) -> str | None:
    return f"{(tracker.site or '').rstrip('/')}/browse/{key}"


def _auth(credentials: Credentials) -> tuple[str, str]:
    return credentials.user, credentials.token


def _adf(text: str) -> dict[str, Any]:
    """Jira v3 descriptions are Atlassian Document Format: one paragraph per line."""
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.splitlines()]}


def create(tracker: TrackerConfig, credentials: Credentials, *, title: str, body: str) -> IssueFacts:
    answer = request_json(tracker, "POST", f"{tracker.api_base}/rest/api/3/issue",
                          headers={"Accept": "application/json"}, auth=_auth(credentials),
                          json={"fields": {"project": {"key": tracker.repo}, "summary": title[:250],
                                           "issuetype": {"name": tracker.issue_type}, "description": _adf(body)}})
    key = answer.get("key") if isinstance(answer, dict) else None
    if not isinstance(key, str) or _KEY.match(key) is None:
        raise CallFailed(f"{tracker.name} answered something that is not an issue", retryable=False)
    return IssueFacts(key=key.upper(), url=web_url(tracker, key.upper()), title=title[:500], state="open",
                      state_reason=None)


def fetch(tracker: TrackerConfig, credentials: Credentials, key: str) -> IssueFacts:
    answer = request_json(tracker, "GET", f"{tracker.api_base}/rest/api/3/issue/{key}?fields=summary,status,resolution",
                          headers={"Accept": "application/json"}, auth=_auth(credentials))
    if not isinstance(answer, dict) or not isinstance(answer.get("key"), str):
        raise CallFailed(f"{tracker.name} answered something that is not an issue", retryable=False)
    fields = answer.get("fields") if isinstance(answer.get("fields"), dict) else {}
    done = _dig(fields, "status", "statusCategory", "key") == "done"
    resolution = str(_dig(fields, "resolution", "name") or "").lower()
    return IssueFacts(key=answer["key"].upper(), url=web_url(tracker, answer["key"].upper()),
                      title=str(fields.get("summary") or "")[:500] or None, state="closed" if done else "open",
                      state_reason=("not_planned" if resolution in NOT_PLANNED_RESOLUTIONS else "completed")
                      if done else None)
