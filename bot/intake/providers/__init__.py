"""Native webhooks from survey and support tools. One module per provider, named by the source `type`.

Each module exposes `ADAPTER`, an object with two methods (see bot/intake/providers/base.py):
- `verify(source, secret, body, headers, now)`: the provider's own signature scheme; raises
  `bot.common.signing.SignatureError` when the request is not the provider's.
- `parse(source, body, headers, fetch)`: the provider's documented payload → a list of generic payload
  dicts (the shape `POST /webhooks/<source>` takes for `type = "generic"`), or `Ignored(reason)` for an
  event type cxloop does not act on. A malformed body raises `bot.intake.payload.PayloadError`.
"""

from __future__ import annotations

import importlib

from bot.intake.providers.base import Adapter


def adapter_for(source_type: str) -> Adapter:
    """The adapter module of a provider type (imported on first use)."""
    return importlib.import_module(f"bot.intake.providers.{source_type}").ADAPTER
