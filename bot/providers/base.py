"""What every provider adapter provides, and small helpers they share."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.config import SourceConfig
from bot.signing import MAX_SKEW_SECONDS, SignatureError

# `fetch(path)` GETs `path` from the source's configured `api_url` with its API token and returns the
# decoded JSON; it raises ProviderUnavailable when the provider cannot be reached.
Fetch = Callable[[str], dict[str, Any]]


class ProviderUnavailable(Exception):
    """The provider's API could not be reached: answer 503 so the provider retries the webhook."""


@dataclass(frozen=True)
class Ignored:
    """An event cxloop does not act on; answered 202 so the provider does not retry it."""

    reason: str


class Adapter(Protocol):
    def verify(self, source: SourceConfig, secret: str, body: bytes, headers: Mapping[str, str],
               now: float) -> None: ...

    def parse(self, source: SourceConfig, body: bytes, headers: Mapping[str, str],
              fetch: Fetch) -> list[dict[str, Any]] | Ignored: ...


def hmac_digest(secret: str, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(secret.encode(), message, getattr(hashlib, algorithm)).digest()


def same(expected: str, given: str | None) -> bool:
    """Constant-time comparison of two signatures as text."""
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().encode())


def require_header(headers: Mapping[str, str], name: str) -> str:
    """Headers arrive with lower-case names."""
    value = headers.get(name.lower())
    if not value:
        raise SignatureError(f"missing {name} header")
    return value


def check_timestamp(raw: str, now: float, *, name: str) -> int:
    """A unix-seconds timestamp header within the allowed skew (replays of old requests are refused)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise SignatureError(f"{name} must be unix seconds")
    if abs(now - int(raw)) > MAX_SKEW_SECONDS:
        raise SignatureError(f"{name} is more than {MAX_SKEW_SECONDS} seconds from now")
    return int(raw)
