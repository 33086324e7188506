"""Each tracker type's adapter (verify + decode webhooks, API calls, issue references), by type."""

from __future__ import annotations

from types import ModuleType

from bot.config import AppConfig
from bot.product import github, jira, linear
from bot.product.trackers import IssueRef, RefError

ADAPTERS: dict[str, ModuleType] = {"github": github, "linear": linear, "jira": jira}


def adapter_for(tracker_type: str) -> ModuleType:
    return ADAPTERS[tracker_type]


def parse_ref(text: str, config: AppConfig) -> IssueRef:
    """An issue URL or key (GitHub `https://github.com/acme/app/issues/42`, `acme/app#42`, `#42`; Linear
    `ENG-123` or its URL; Jira `ACME-12` or its /browse/ URL) → the configured tracker and key.
    Raises RefError naming what is wrong."""
    text = (text or "").strip()
    if not config.trackers:
        raise RefError("No issue tracker is configured (see [[trackers]] in cxloop.toml).")
    if not text:
        raise RefError("Paste the issue's URL or key.")
    for tracker in config.trackers:
        key = adapter_for(tracker.type).match_ref(tracker, text, only=len(config.trackers) == 1)
        if key is not None:
            return IssueRef(tracker.name, key)
    known = ", ".join(f"{t.repo} ({t.type})" for t in config.trackers)
    raise RefError(f"Not an issue of a configured tracker: {text[:80]!r} (trackers: {known}). "
                   "Paste the issue's URL or key.")
