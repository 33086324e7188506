"""Who is in a channel or a user group, asked of Slack and remembered for a few minutes.

Permission checks run on every click; asking Slack each time would cost a round trip per click and
count against conversations.members' rate limit (Tier 4), so answers are cached per process.
A failed look-up is not cached: the next click asks again.

People's names for pages and exports (UserNames) are cached the same way, longer, and never fail a page.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable

from cachetools import TTLCache
from slack_sdk import WebClient

log = logging.getLogger(__name__)

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


# --- People's names (users.info) -------------------------------------------------------------------
# Pages and exports show who holds an item by name. users.info answers one user per call (Tier 4), so
# names are cached per process: bounded, and expiring so a renamed person shows up renamed within the hour.
NAME_TTL_SECONDS = 3600
NAME_CACHE_SIZE = 5000
# A user Slack could not name (down, rate-limited, unknown id) is shown by id and asked again only after
# this long: a page with 200 rows must not retry 200 times while Slack is away.
NAME_FAILURE_TTL_SECONDS = 60
# One page waits at most this long for names in total; whoever is not named by then shows as an id this
# time and is looked up on a later request.
NAME_LOOKUP_BUDGET_SECONDS = 3.0
NAME_LOOKUP_TIMEOUT_SECONDS = 2
_USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _user_name(user: dict) -> str | None:
    profile = user.get("profile") or {}
    for name in (profile.get("real_name"), user.get("real_name"), profile.get("display_name"), user.get("name")):
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


class UserNames:
    """Slack user id → the person's name, through a bounded, expiring cache of users.info.

    `names(ids)` never raises: an id Slack cannot name (any error, or over the time budget) maps to
    itself, so a page shows "U0BEN" rather than failing.
    """

    def __init__(self, client: WebClient, *, clock: Callable[[], float] = time.monotonic,
                 budget_seconds: float = NAME_LOOKUP_BUDGET_SECONDS):
        # Its own client with a short timeout: a page waits on these calls.
        self.client = WebClient(token=client.token, base_url=client.base_url,
                                timeout=NAME_LOOKUP_TIMEOUT_SECONDS, retry_handlers=[])
        self._clock, self.budget_seconds = clock, budget_seconds
        self._known: TTLCache[str, str] = TTLCache(NAME_CACHE_SIZE, NAME_TTL_SECONDS, timer=clock)
        self._failed: TTLCache[str, bool] = TTLCache(NAME_CACHE_SIZE, NAME_FAILURE_TTL_SECONDS, timer=clock)
        self._lock = threading.Lock()

    def names(self, user_ids: Iterable[str | None]) -> dict[str, str]:
        """A name for each distinct id (the id itself when Slack cannot say); one users.info per id not cached."""
        wanted = {uid for uid in user_ids if uid}
        found: dict[str, str] = {}  # anything that is not a user id ("unclaimed") is never asked about
        missing: list[str] = []
        with self._lock:
            for uid in sorted(wanted):
                name = self._known.get(uid)
                if name is not None:
                    found[uid] = name
                elif uid not in self._failed and _USER_ID_RE.match(uid):
                    missing.append(uid)
        deadline = self._clock() + self.budget_seconds
        for uid in missing:
            if self._clock() >= deadline:
                break
            try:
                name = _user_name(self.client.users_info(user=uid).get("user") or {})
            except Exception as exc:  # noqa: BLE001 — a name is a nicety: any failure shows the id
                log.info("users.info %s failed: %s", uid, getattr(getattr(exc, "response", None), "get",
                                                                 lambda _k: None)("error") or type(exc).__name__)
                with self._lock:
                    self._failed[uid] = True
                continue
            with self._lock:
                if name:
                    self._known[uid] = name
                else:
                    self._failed[uid] = True
            if name:
                found[uid] = name
        return {uid: found.get(uid, uid) for uid in wanted}

    def forget(self) -> None:
        with self._lock:
            self._known.clear()
            self._failed.clear()
