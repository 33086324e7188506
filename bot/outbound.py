"""Calls from cxloop to other services (provider APIs, resolved/promoter webhooks), with httpx.

Every URL is built from configuration (a source's api_url, resolved_url, promoter_url) plus ids we
validated; nothing in an incoming request chooses the host. Timeouts are short: a slow provider
must not hold a webhook or the outbox worker.
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.config import AppConfig, SourceConfig
from bot.providers.base import ProviderUnavailable

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "cxloop (+https://github.com/cxloop/cxloop)"


def api_auth(config: AppConfig, source: SourceConfig) -> dict[str, Any]:
    """httpx auth/headers for a source's API: basic "user/token:token" for Zendesk, bearer otherwise."""
    credentials = config.source_credentials.get(source.name, {})
    token, user = credentials.get("token"), credentials.get("user")
    if source.type == "zendesk" and user and token:
        return {"auth": (f"{user}/token", token)}
    return {"headers": {"Authorization": f"Bearer {token}"}} if token else {}


def make_fetch(config: AppConfig, source: SourceConfig):
    """`fetch(path) -> dict` for adapters that must look a webhook's subject up (e.g. SurveyMonkey)."""

    def fetch(path: str) -> dict[str, Any]:
        if not source.api_url:
            raise ProviderUnavailable(f"source {source.name!r} has no api_url configured")
        if not path.startswith("/") or "://" in path or ".." in path:
            raise ValueError(f"not an API path: {path[:80]!r}")
        options = api_auth(config, source)
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **options.pop("headers", {})}
        try:
            response = httpx.get(source.api_url.rstrip("/") + path, headers=headers, timeout=TIMEOUT, **options)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{source.type} API unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderUnavailable(f"{source.type} API answered {response.status_code}")
        response.raise_for_status()
        return response.json()

    return fetch
