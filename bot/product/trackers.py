"""What the product loop needs from any tracker: an issue reference, an inbound issue event, an API call.

Each tracker type has an adapter module (bot/product/github.py) that verifies and decodes its webhooks
and builds its API calls; this module holds the shared vocabulary and picks the adapter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from bot.config import AppConfig, TrackerConfig

EventAction = Literal["closed", "reopened"]


@dataclass(frozen=True)
class IssueRef:
    tracker: str  # the tracker's name in cxloop.toml
    key: str      # GitHub: the issue number


@dataclass(frozen=True)
class IssueEvent:
    """A verified, decoded tracker event about one issue."""

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
class ApiRequest:
    method: str
    url: str
    json: dict[str, Any] | None


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


_GITHUB_URL = re.compile(r"^https?://github\.com/([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)/issues/(\d{1,9})/?(?:[?#].*)?$")
_GITHUB_SHORT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)?#(\d{1,9})$")


def parse_ref(text: str, config: AppConfig) -> IssueRef:
    """An issue URL (https://github.com/acme/app/issues/42), `acme/app#42`, or `#42` / `42` when one
    tracker is configured → the tracker and key. Raises RefError naming what is wrong."""
    text = (text or "").strip()
    if not config.trackers:
        raise RefError("No issue tracker is configured (see [[trackers]] in cxloop.toml).")
    if not text:
        raise RefError("Paste the issue's URL or key.")
    repo, number = None, None
    if match := _GITHUB_URL.match(text):
        repo, number = match.group(1), match.group(2)
    elif match := _GITHUB_SHORT.match(text):
        repo, number = match.group(1), match.group(2)
    elif text.isascii() and text.isdigit() and len(text) <= 9:
        number = text
    if number is None:
        raise RefError(f"Not an issue URL or key: {text[:80]!r}. Paste e.g. https://github.com/owner/repo/issues/42.")
    github = [t for t in config.trackers if t.type == "github"]
    if repo is None:
        if len(github) != 1:
            raise RefError("Several trackers are configured: paste the issue's full URL.")
        return IssueRef(github[0].name, str(int(number)))
    tracker = next((t for t in github if t.repo.lower() == repo.lower()), None)
    if tracker is None:
        known = ", ".join(t.repo for t in github) or "none"
        raise RefError(f"{repo} is not a configured tracker's repository (configured: {known}).")
    return IssueRef(tracker.name, str(int(number)))


def issue_label(tracker: TrackerConfig | None, key: str | None) -> str:
    """`acme/app#42`; an issue still being created has no key yet."""
    if tracker is None:
        return f"#{key}" if key else "new issue"
    return f"{tracker.repo}#{key}" if key else f"new issue in {tracker.repo}"
