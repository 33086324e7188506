"""Linear: webhook verification and decoding, and the GraphQL calls the product loop makes.

Webhooks (linear.app/developers/webhooks): `Linear-Signature` is the hex HMAC-SHA256 of the raw body
keyed on the webhook's signing secret; the body's `webhookTimestamp` (unix milliseconds) must be within
a minute of now, so a captured delivery cannot be replayed later; `Linear-Delivery` identifies the
delivery. An issue change is `{"action": "update", "type": "Issue", "data": {identifier, title, url,
state: {type}}, "updatedFrom": {stateId, …}}`; state types are triage, backlog, unstarted, started,
completed and canceled.

API: POST /graphql with `Authorization: <API key>`: `issueCreate(input: {teamId, title, description})`
(the team id is looked up from the configured team key) and `issue(id: "ENG-123")`.
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

SIGNATURE_HEADER = "linear-signature"
DELIVERY_HEADER = "linear-delivery"
MAX_SKEW_SECONDS = 60
CLOSED_TYPES = {"completed": "completed", "canceled": "not_planned"}

_URL = re.compile(r"^https?://linear\.app/[^/\s]+/issue/([A-Za-z][A-Za-z0-9]{0,9}-\d{1,9})(?:/[^\s]*)?$")
_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,9})-(\d{1,9})$")

TEAM_QUERY = "query Team($key: String!) { teams(filter: {key: {eq: $key}}) { nodes { id } } }"
CREATE_MUTATION = ("mutation IssueCreate($input: IssueCreateInput!) { issueCreate(input: $input) "
                   "{ success issue { identifier url title state { type } } } }")
ISSUE_QUERY = "query Issue($id: String!) { issue(id: $id) { identifier url title state { type } } }"


def verify(secret: str, body: bytes, headers: dict[str, str], now: float) -> None:
    given = headers.get(SIGNATURE_HEADER) or ""
    if not given:
        raise SignatureError("missing Linear-Signature header")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.strip().lower().encode("utf-8", "replace"), expected.encode()):
        raise SignatureError("Linear-Signature does not match the body")
    try:
        sent_ms = json.loads(body).get("webhookTimestamp")
    except (ValueError, AttributeError):
        sent_ms = None
    if not isinstance(sent_ms, int | float) or isinstance(sent_ms, bool) or abs(now - sent_ms / 1000) > MAX_SKEW_SECONDS:
        raise SignatureError(f"webhookTimestamp missing or more than {MAX_SKEW_SECONDS} s off")


def parse_event(tracker: TrackerConfig, body: bytes, headers: dict[str, str], now: float) -> IssueEvent | Ignored:
    data = json.loads(body)  # verify() read it already
    if data.get("type") != "Issue" or data.get("action") != "update":
        return Ignored(f"{str(data.get('type'))[:30]} {str(data.get('action'))[:30]} is not used")
    issue = data.get("data")
    if not isinstance(issue, dict):
        raise EventError("data: expected the issue object")
    identifier = issue.get("identifier")
    match = _KEY.match(identifier) if isinstance(identifier, str) else None
    if match is None:
        raise EventError("data.identifier: expected an issue key such as ENG-123")
    if match.group(1).upper() != tracker.repo:
        return Ignored("another team")
    state = issue.get("state") if isinstance(issue.get("state"), dict) else {}
    state_type = state.get("type")
    updated_from = data.get("updatedFrom") if isinstance(data.get("updatedFrom"), dict) else {}
    if state_type in CLOSED_TYPES:
        action, reason = "closed", CLOSED_TYPES[state_type]
    elif "stateId" in updated_from:
        action, reason = "reopened", None  # back to an open state; a no-op unless it was closed
    else:
        return Ignored("no state change")
    delivery = (headers.get(DELIVERY_HEADER) or "").strip() or f"{data.get('webhookId')}:{data.get('webhookTimestamp')}"
    title, url = issue.get("title"), issue.get("url")
    return IssueEvent(delivery_id=delivery[:128], key=identifier.upper(), action=action, state_reason=reason,
                      title=title[:500] if isinstance(title, str) else None,
                      url=url[:1000] if isinstance(url, str) and url.startswith("https://") else None)


def match_ref(tracker: TrackerConfig, text: str, *, only: bool) -> str | None:
    match = _URL.match(text)
    key = match.group(1) if match else text
    parts = _KEY.match(key)
    if parts is None or parts.group(1).upper() != tracker.repo:
        return None
    return f"{tracker.repo}-{int(parts.group(2))}"


def web_url(tracker: TrackerConfig, key: str) -> str | None:
    return None  # Linear's URLs carry the workspace's slug: known once the API or a webhook names it


def _graphql(tracker: TrackerConfig, credentials: Credentials, query: str, variables: dict[str, Any]) -> dict:
    answer = request_json(tracker, "POST", f"{tracker.api_base}/graphql",
                          headers={"Authorization": credentials.token, "Content-Type": "application/json"},
                          json={"query": query, "variables": variables})
    if not isinstance(answer, dict) or answer.get("errors") or not isinstance(answer.get("data"), dict):
        errors = answer.get("errors") if isinstance(answer, dict) else None
        message = errors[0].get("message") if isinstance(errors, list) and errors and isinstance(errors[0], dict) else ""
        raise CallFailed(f"{tracker.name} refused the request: {str(message)[:200]}", retryable=False)
    return answer["data"]


def create(tracker: TrackerConfig, credentials: Credentials, *, title: str, body: str) -> IssueFacts:
    teams = ((_graphql(tracker, credentials, TEAM_QUERY, {"key": tracker.repo}).get("teams") or {}).get("nodes") or [])
    if not teams or not isinstance(teams[0], dict) or not teams[0].get("id"):
        raise CallFailed(f"{tracker.name}: no Linear team with key {tracker.repo}", retryable=False)
    created = _graphql(tracker, credentials, CREATE_MUTATION,
                       {"input": {"teamId": teams[0]["id"], "title": title, "description": body}}).get("issueCreate")
    if not isinstance(created, dict) or not created.get("success"):
        raise CallFailed(f"{tracker.name} did not create the issue", retryable=False)
    return _facts(tracker, created.get("issue"))


def fetch(tracker: TrackerConfig, credentials: Credentials, key: str) -> IssueFacts:
    return _facts(tracker, _graphql(tracker, credentials, ISSUE_QUERY, {"id": key}).get("issue"))


def _facts(tracker: TrackerConfig, issue: Any) -> IssueFacts:
    if not isinstance(issue, dict) or not isinstance(issue.get("identifier"), str):
        raise CallFailed(f"{tracker.name} answered something that is not an issue", retryable=False)
    state_type = (issue.get("state") or {}).get("type") if isinstance(issue.get("state"), dict) else None
    url = issue.get("url")
    return IssueFacts(key=issue["identifier"].upper(), url=url if isinstance(url, str) else None,
                      title=str(issue.get("title") or "")[:500] or None,
                      state="closed" if state_type in CLOSED_TYPES else "open",
                      state_reason=CLOSED_TYPES.get(state_type))
