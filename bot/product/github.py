"""GitHub: webhook verification and decoding, and the REST calls the product loop makes.

Webhooks (docs.github.com "Validating webhook deliveries", "Webhook events and payloads"): the body
is signed with HMAC-SHA256 keyed on the webhook's secret, sent as `X-Hub-Signature-256:
sha256=<hex>` over the raw bytes; `X-GitHub-Event` names the event (`issues`, or `ping` when the
hook is created) and `X-GitHub-Delivery` is a GUID unique to the delivery (kept by a redelivery).
An `issues` event carries `action` (`closed`, `reopened`, …) and the `issue` with `number`, `title`,
`html_url` and `state_reason` (`completed`, `not_planned`, or null). The signature covers no
timestamp, so replays are refused by delivery id and by the issue's stored state.

REST ("Create an issue", "Get an issue"): POST /repos/{owner}/{repo}/issues {title, body} → 201
with `number` and `html_url`; GET /repos/{owner}/{repo}/issues/{number}; `Authorization: Bearer`.
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

SIGNATURE_HEADER = "x-hub-signature-256"
EVENT_HEADER = "x-github-event"
DELIVERY_HEADER = "x-github-delivery"
API_VERSION = "2022-11-28"
ISSUE_TITLE_MAX = 256  # GitHub refuses longer titles

_URL = re.compile(r"^https?://github\.com/([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)/issues/(\d{1,9})/?(?:[?#].*)?$")
_SHORT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)?#(\d{1,9})$")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, headers: dict[str, str], now: float) -> None:
    given = headers.get(SIGNATURE_HEADER) or ""
    if not given:
        raise SignatureError("missing X-Hub-Signature-256 header")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), signature(secret, body).encode()):
        raise SignatureError("X-Hub-Signature-256 does not match the body")


def parse_event(tracker: TrackerConfig, body: bytes, headers: dict[str, str], now: float) -> IssueEvent | Ignored:
    event = headers.get(EVENT_HEADER) or ""
    if event == "ping":
        return Ignored("ping")
    if event != "issues":
        return Ignored(f"event {event[:40]!r} is not used")
    delivery = (headers.get(DELIVERY_HEADER) or "").strip()
    if not delivery or len(delivery) > 128:
        raise EventError("missing or overlong X-GitHub-Delivery header")
    data = _json_object(body)
    action = data.get("action")
    if action not in ("closed", "reopened"):
        return Ignored(f"action {str(action)[:40]!r} is not used")
    repository = data.get("repository")
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    if isinstance(full_name, str) and full_name.lower() != tracker.repo.lower():
        return Ignored("another repository")
    issue = data.get("issue")
    number = issue.get("number") if isinstance(issue, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 10**9:
        raise EventError("issue.number: expected a positive whole number")
    reason = issue.get("state_reason")
    title, url = issue.get("title"), issue.get("html_url")
    return IssueEvent(delivery_id=delivery, key=str(number), action=action,
                      state_reason=reason if isinstance(reason, str) else None,
                      title=title[:500] if isinstance(title, str) else None,
                      url=url[:1000] if isinstance(url, str) and url.startswith("https://") else None)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise EventError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise EventError("the body is not a JSON object")
    return data


def match_ref(tracker: TrackerConfig, text: str, *, only: bool) -> str | None:
    """The issue number if `text` names an issue of this repository (`#42` / `42` when it is the only tracker)."""
    repo, number = None, None
    if match := _URL.match(text) or _SHORT.match(text):
        repo, number = match.group(1), match.group(2)
    elif only and text.isascii() and text.isdigit() and len(text) <= 9:
        number = text
    if number is None or (repo is None and not only) or (repo is not None and repo.lower() != tracker.repo.lower()):
        return None
    return str(int(number))


def web_url(tracker: TrackerConfig, key: str) -> str:
    return f"https://github.com/{tracker.repo}/issues/{key}"


def _headers(credentials: Credentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {credentials.token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION}


def create(tracker: TrackerConfig, credentials: Credentials, *, title: str, body: str) -> IssueFacts:
    answer = request_json(tracker, "POST", f"{tracker.api_base}/repos/{tracker.repo}/issues",
                          headers=_headers(credentials), json={"title": title[:ISSUE_TITLE_MAX], "body": body})
    return _facts(tracker, answer)


def fetch(tracker: TrackerConfig, credentials: Credentials, key: str) -> IssueFacts:
    answer = request_json(tracker, "GET", f"{tracker.api_base}/repos/{tracker.repo}/issues/{int(key)}",
                          headers=_headers(credentials))
    return _facts(tracker, answer)


def _facts(tracker: TrackerConfig, answer: Any) -> IssueFacts:
    if not isinstance(answer, dict) or not isinstance(answer.get("number"), int):
        raise CallFailed(f"{tracker.name} answered something that is not an issue", retryable=False)
    reason, url = answer.get("state_reason"), answer.get("html_url")
    return IssueFacts(key=str(answer["number"]), url=url if isinstance(url, str) else None,
                      title=str(answer.get("title") or "")[:500] or None,
                      state=answer.get("state") if answer.get("state") in ("open", "closed") else "open",
                      state_reason=reason if isinstance(reason, str) else None)
