"""Per-client throttle of failed sign-ins (the dashboard token), in this process's memory.

A client that failed `limit` times within `window_seconds` is refused until its oldest recorded failure
is that old; attempts during the lockout are refused without being checked and count as failures, so a
client that keeps guessing stays locked. Each process keeps its own count: N web processes let a client
try N × limit times per window, still far too few to guess a 32-character token.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

SIGN_IN_FAILURES = 10
SIGN_IN_WINDOW_SECONDS = 60.0
# Clients remembered at once; the least recently failing one is forgotten first (bounded memory).
MAX_CLIENTS = 10_000


class FailureThrottle:
    def __init__(self, *, limit: int = SIGN_IN_FAILURES, window_seconds: float = SIGN_IN_WINDOW_SECONDS,
                 max_clients: int = MAX_CLIENTS, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.max_clients, self.clock = limit, window_seconds, max_clients, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds until `client` may try again; 0 when it is not locked out."""
        with self._lock:
            failures = self._failures.get(client)
            if failures is None or len(failures) < self.limit:
                return 0
            wait = failures[0] + self.window - self.clock()
            if wait <= 0:
                return 0
            return max(1, int(wait + 0.999))

    def failed(self, client: str) -> bool:
        """Record a failure; True when it is the one that locks the client out."""
        with self._lock:
            failures = self._failures.pop(client, None) or deque(maxlen=self.limit)
            now = self.clock()
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            was_locked = len(failures) >= self.limit
            failures.append(now)
            self._failures[client] = failures  # most recent last
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)
            return not was_locked and len(failures) >= self.limit
