"""Calls from cxloop to other services (provider APIs, resolved/promoter webhooks), with httpx.

Every URL is built from configuration (a source's api_url, resolved_url, promoter_url) plus ids we
validated; nothing in an incoming request chooses the host. Timeouts are short: a slow provider
must not hold a webhook or the outbox worker.

Provider look-ups (SurveyMonkey's response details, Zendesk's users, Intercom's contacts) go through
one `ProviderAPI` per source: one pooled httpx.Client (one TLS context, kept-alive connections,
bounded), its own bounded thread pool, and single-flight with a short cache per path. A webhook's
parse runs on that pool, never on the threads Slack requests share (Starlette's run_in_threadpool,
anyio's limiter of 40): 48 replays against a provider that takes 5 s once took a slash command's ack
to 7.6 s. When a source's pool and queue are full, its webhooks are answered 503 with Retry-After.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from bot.config import AppConfig, SourceConfig
from bot.intake.providers.base import ProviderUnavailable


class CallFailed(Exception):
    """A call to another service failed. retryable: a 429/5xx or a network error; otherwise the target refused the call for good."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "cxloop (+https://github.com/cxloop/cxloop)"

# Per source: this many webhooks parse (and call the provider's API) at once, each with a connection
# of its own; this many more wait for a worker; any further one is answered 503 with Retry-After.
PROVIDER_FETCH_WORKERS = 16
PROVIDER_QUEUE_LIMIT = 48
PROVIDER_RETRY_AFTER_SECONDS = 30
# A look-up answer is reused this long: replays and concurrent webhooks about the same response,
# user or contact make one API call, not one each. Short, so edits on the provider's side show.
LOOKUP_TTL_SECONDS = 300.0
LOOKUP_CACHE_SIZE = 256
# Waiting for the same path's call already in flight: bounded by the client's own timeouts.
_FOLLOWER_WAIT_SECONDS = 30.0
# Waiting for a free connection of the source's pool (every worker has one, so rarely).
FETCH_TIMEOUT = httpx.Timeout(10.0, connect=5.0, pool=5.0)

log = logging.getLogger(__name__)
T = TypeVar("T")


def api_auth(config: AppConfig, source: SourceConfig) -> dict[str, Any]:
    """httpx auth/headers for a source's API: basic "user/token:token" for Zendesk, bearer otherwise."""
    credentials = config.source_credentials.get(source.name, {})
    token, user = credentials.get("token"), credentials.get("user")
    if source.type == "zendesk" and user and token:
        return {"auth": (f"{user}/token", token)}
    return {"headers": {"Authorization": f"Bearer {token}"}} if token else {}


class ProviderAPI:
    """One source's API: a pooled client, a bounded pool for the webhooks that call it, a look-up cache."""

    def __init__(self, config: AppConfig, source: SourceConfig, *, workers: int | None = None,
                 queue_limit: int | None = None):
        self.config, self.source = config, source
        self.workers = workers or PROVIDER_FETCH_WORKERS
        self.max_admitted = self.workers + (PROVIDER_QUEUE_LIMIT if queue_limit is None else queue_limit)
        self._lock = threading.Lock()
        self._admitted = 0
        self._closed = False
        self._client: httpx.Client | None = None
        self._executor = ThreadPoolExecutor(max_workers=self.workers,
                                            thread_name_prefix=f"cxloop-provider-{source.name[:20]}")
        self._cache: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._pending: dict[str, Future] = {}

    # --- the pool ----------------------------------------------------------------------------------

    def submit(self, work: Callable[[], T]) -> Future | None:
        """Run `work()` on this source's pool; None when the pool and its queue are full (answer 503)."""
        with self._lock:
            if self._closed or self._admitted >= self.max_admitted:
                return None
            self._admitted += 1
        try:
            future = self._executor.submit(work)
        except RuntimeError:  # shut down meanwhile
            self._release()
            return None
        future.add_done_callback(lambda _future: self._release())
        return future

    def _release(self) -> None:
        with self._lock:
            self._admitted -= 1

    @property
    def admitted(self) -> int:
        """Webhooks running or waiting on this pool."""
        with self._lock:
            return self._admitted

    # --- the client -----------------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._closed:
                raise ProviderUnavailable(f"{self.source.type} API client is shut down")
            if self._client is None:
                options = api_auth(self.config, self.source)
                headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **options.pop("headers", {})}
                limits = httpx.Limits(max_connections=self.workers, max_keepalive_connections=self.workers,
                                      keepalive_expiry=30.0)
                self._client = httpx.Client(headers=headers, timeout=FETCH_TIMEOUT, limits=limits, **options)
            return self._client

    def fetch(self, path: str, *, fresh: bool = False) -> dict[str, Any]:
        """GET `path` from the source's api_url as decoded JSON (see bot.intake.providers.base.Fetch).

        Concurrent calls for one path make one request; a successful answer is reused for
        LOOKUP_TTL_SECONDS unless `fresh`. Failures are not kept: the next webhook asks again.
        """
        if not self.source.api_url:
            raise ProviderUnavailable(f"source {self.source.name!r} has no api_url configured")
        if not path.startswith("/") or "://" in path or ".." in path:
            raise ValueError(f"not an API path: {path[:80]!r}")
        with self._lock:
            cached = self._cache.get(path)
            if cached is not None and not fresh and time.monotonic() - cached[0] < LOOKUP_TTL_SECONDS:
                return copy.deepcopy(cached[1])
            pending = self._pending.get(path)
            leader = pending is None
            if leader:
                pending = self._pending[path] = Future()
        assert pending is not None
        if not leader:
            try:
                return copy.deepcopy(pending.result(timeout=_FOLLOWER_WAIT_SECONDS))
            except TimeoutError:
                raise ProviderUnavailable(f"{self.source.type} API: look-up still running") from None
        try:
            value = self._get(path)
        except BaseException as exc:
            with self._lock:
                self._pending.pop(path, None)
            pending.set_exception(exc)
            raise
        with self._lock:
            self._cache[path] = (time.monotonic(), value)
            self._cache.move_to_end(path)
            while len(self._cache) > LOOKUP_CACHE_SIZE:
                self._cache.popitem(last=False)
            self._pending.pop(path, None)
        pending.set_result(value)
        return copy.deepcopy(value)

    def _get(self, path: str) -> Any:
        try:
            response = self._http().get(self.source.api_url.rstrip("/") + path)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{self.source.type} API unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderUnavailable(f"{self.source.type} API answered {response.status_code}")
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        """Refuse new work, drop what waits, close the connections (running look-ups then fail → 503)."""
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
        self._executor.shutdown(wait=False, cancel_futures=True)
        if client is not None:
            client.close()


class ProviderAPIs:
    """The ProviderAPI of each source, created on first use and closed together at shutdown."""

    def __init__(self, config: AppConfig, *, workers: int | None = None, queue_limit: int | None = None):
        self.config = config
        self.workers, self.queue_limit = workers, queue_limit
        self._lock = threading.Lock()
        self._apis: dict[str, ProviderAPI] = {}

    def get(self, source: SourceConfig) -> ProviderAPI:
        with self._lock:
            api = self._apis.get(source.name)
            if api is None:
                api = self._apis[source.name] = ProviderAPI(self.config, source, workers=self.workers,
                                                            queue_limit=self.queue_limit)
            return api

    def close(self) -> None:
        with self._lock:
            apis, self._apis = list(self._apis.values()), {}
        for api in apis:
            api.close()

