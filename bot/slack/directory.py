"""Who is in a channel or a user group, asked of Slack and remembered for a few minutes.

Permission checks run on every click; asking Slack each time would cost a round trip per click and
count against conversations.members' rate limit (Tier 4), so answers are cached per process.
A failed look-up is not cached: the next click asks again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient

MEMBERSHIP_TTL_SECONDS = 300
MEMBERS_PAGE_SIZE = 1000
MAX_MEMBER_PAGES = 50


class DirectoryUnavailable(Exception):
    """Slack could not say who is in a channel or group (down, or a scope is missing)."""


class SlackDirectory:
    def __init__(self, client: WebClient, *, ttl: float = MEMBERSHIP_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.client, self.ttl, self._clock = client, ttl, clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def channel_members(self, channel: str) -> frozenset[str]:
        return self._cached(f"channel:{channel}", lambda: self._fetch_channel(channel))

    def usergroup_members(self, usergroup: str) -> frozenset[str]:
        return self._cached(f"group:{usergroup}", lambda: self._fetch_usergroup(usergroup))

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def _cached(self, key: str, fetch: Callable[[], frozenset[str]]) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            members = fetch()
        except Exception as exc:  # noqa: BLE001 — any Slack failure means "cannot tell", said once here
            error = getattr(getattr(exc, "response", None), "get", lambda _k: None)("error")
            raise DirectoryUnavailable(error or type(exc).__name__) from exc
        with self._lock:
            self._cache[key] = (now + self.ttl, members)
        return members

    def _fetch_channel(self, channel: str) -> frozenset[str]:
        members: set[str] = set()
        cursor = None
        for _ in range(MAX_MEMBER_PAGES):
            response = self.client.conversations_members(channel=channel, limit=MEMBERS_PAGE_SIZE, cursor=cursor)
            members.update(response.get("members") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return frozenset(members)

    def _fetch_usergroup(self, usergroup: str) -> frozenset[str]:
        return frozenset(self.client.usergroups_users_list(usergroup=usergroup).get("users") or [])
