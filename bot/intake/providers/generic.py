"""cxloop's own webhook (source `type = "generic"`): the generic payload as JSON, signed by the sender.

Signature: `X-Cxloop-Timestamp` (unix seconds, within the allowed skew) and `X-Cxloop-Signature`
(bot/common/signing.py), keyed with the source's secret. The body is one generic payload
(the schema in bot/intake/payload.py), stored as it is; nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.common.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_webhook
from bot.intake.payload import MAX_BODY_BYTES, PayloadError, loads_json
from bot.intake.providers.base import Fetch

if TYPE_CHECKING:  # bot.config imports the adapters to check their options (config.py)
    from bot.config import SourceConfig


class GenericAdapter:
    # Parsed where the request is received: it never calls an API, so it needs no pool of its own.
    calls_api = False

    def verify(self, source: SourceConfig, secret: str, body: bytes, headers: Mapping[str, str],
               now: float) -> None:
        verify_webhook(secret, body, headers.get(TIMESTAMP_HEADER.lower()), headers.get(SIGNATURE_HEADER.lower()),
                       now)

    def parse(self, source: SourceConfig, body: bytes, headers: Mapping[str, str],
              fetch: Fetch) -> list[dict[str, Any]]:
        """The one payload the body is (validated by the caller as every adapter's output is)."""
        if len(body) > MAX_BODY_BYTES:
            raise PayloadError(413, f"body is larger than {MAX_BODY_BYTES} bytes")
        return [loads_json(body)]


ADAPTER = GenericAdapter()
