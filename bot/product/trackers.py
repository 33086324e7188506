"""What the product loop needs from any tracker: an issue reference, an inbound issue event, an API call.

Each tracker type has an adapter module (github.py, linear.py, jira.py; picked in adapters.py) that
verifies and decodes its webhooks and makes its API calls; this module holds their shared vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx

from bot.config import TrackerConfig
from bot.delivery.outbound import TIMEOUT, USER_AGENT, CallFailed

EventAction = Literal["closed", "reopened"]


@dataclass(frozen=True)
class IssueRef:
    tracker: str  # the tracker's name in cxloop.toml
    key: str      # GitHub: the issue number; Linear / Jira: ENG-123 / ACME-12


@dataclass(frozen=True)
class IssueEvent:
    """A verified, decoded tracker event about one issue: closed (with why) or reopened."""

    delivery_id: str
    key: str
    action: EventAction
    state_reason: str | None  # "completed" | "not_planned" | None
    title: str | None
    url: str | None


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class IssueFacts:
    """What a tracker's API answered about an issue."""

    key: str
    url: str | None
    title: str | None
    state: str  # open | closed
    state_reason: str | None


class RefError(ValueError):
    """Why a typed issue reference names no configured tracker's issue (shown to the person)."""


class EventError(ValueError):
    """A signed event we cannot read (400)."""


@dataclass(frozen=True)
class Credentials:
    token: str
    user: str = ""  # Jira: the account e-mail the API token belongs to


def request_json(tracker: TrackerConfig, method: str, url: str, *, headers: dict[str, str],
                 json: dict[str, Any] | None = None, auth: tuple[str, str] | None = None) -> Any:
    """One API call; CallFailed (retryable for a network error, 429 or 5xx) when it did not succeed."""
    try:
        response = httpx.request(method, url, json=json, timeout=TIMEOUT, auth=auth,
                                 headers={"User-Agent": USER_AGENT, **headers})
    except httpx.HTTPError as exc:
        raise CallFailed(f"{type(exc).__name__} calling {tracker.name}", retryable=True) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise CallFailed(f"HTTP {response.status_code} from {tracker.name}", retryable=True)
    if response.status_code >= 400:
        raise CallFailed(f"HTTP {response.status_code} from {tracker.name}: {response.text[:200]}", retryable=False)
    try:
        return response.json()
    except ValueError as exc:
        raise CallFailed(f"{tracker.name} answered something that is not JSON", retryable=False) from exc


def issue_label(tracker: TrackerConfig | None, key: str | None) -> str:
    """`acme/app#42`, `ENG-123`; an issue still being created has no key yet."""
    if tracker is None:
        return key or "new issue"
    if not key:
        return f"new issue in {tracker.repo}"
    return f"{tracker.repo}#{key}" if tracker.type == "github" else key
