"""What every provider adapter provides, and small helpers they share."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.common.email_address import email_or_none  # noqa: F401 — the adapters' one e-mail check
from bot.common.signing import MAX_SKEW_SECONDS, SignatureError
from bot.intake.payload import PayloadError, loads_json

if TYPE_CHECKING:  # bot.config imports the adapters to check their options (config.py)
    from bot.config import SourceConfig

# bot.intake.ingest is imported inside the functions that raise its PayloadError: bot.intake.ingest imports (through
# bot.followups.close_loop and bot.delivery.outbound) this module.

class Fetch(Protocol):
    """`fetch(path)` GETs `path` from the source's configured `api_url` with its API token and returns
    the decoded JSON; it raises ProviderUnavailable when the provider cannot be reached. An answer may
    come from a short cache (bot/delivery/outbound.py); `fresh=True` asks the provider again."""

    def __call__(self, path: str, *, fresh: bool = False) -> dict[str, Any]: ...


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


# Optional, for an adapter whose parse calls the provider's API (SurveyMonkey sends ids only):
#     item_ids(source, body, headers) -> list[str] | None
#     event_id(source, body, headers) -> str | None
# the generic ids the webhook would store and the provider's id of this event, read from the body alone
# (None when the body cannot say: parse then answers it). When the event was applied before
# (bot/intake/webhook_events.py) and its items are stored, the webhook is a duplicate answered without calling
# the API; a new event about a stored item (an edit) is fetched and applied. Adapters whose look-ups
# are shared and cached instead (Zendesk, Intercom) have neither (bot/delivery/outbound.py).


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


# --- request bodies and configuration ---------------------------------------------------------------

def require_valid_options(source: SourceConfig, check: Callable[[Mapping[str, Any]], list[str]]) -> None:
    """PayloadError 500 when `check` finds problems in the source's options (the provider retries later)."""
    problems = check(source.options)
    if problems:
        raise PayloadError(500, f"source {source.name!r} is misconfigured: " + "; ".join(problems))


def decode_json(body: bytes) -> Any:
    """The JSON value of a request body (strict, storable strings); PayloadError 400 when the body is not JSON."""
    return loads_json(body)


def decode_json_object(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body; PayloadError 400 when not JSON, 422 when not an object."""
    data = decode_json(body)
    if not isinstance(data, dict):
        raise PayloadError(422, "body must be a JSON object", field="(body)")
    return data


def best_effort_fetch(fetch: Fetch, path: str, *, log: logging.Logger, provider: str) -> dict[str, Any]:
    """fetch(path), or {} (logged as a warning) when it fails or answers something other than an object."""
    try:
        found = fetch(path)
    except ProviderUnavailable as exc:
        log.warning("%s look-up %s skipped: %s", provider, path, exc)
        return {}
    except Exception as exc:  # a 404, bad JSON, …: the item is stored without what the look-up would add
        log.warning("%s look-up %s failed: %s", provider, path, type(exc).__name__)
        return {}
    return found if isinstance(found, dict) else {}


# --- values ----------------------------------------------------------------------------------------------

YES_WORDS = ("true", "yes", "1", "y")
MAX_TAGS, MAX_TAG_CHARS = 50, 100


def clean_text(value: Any) -> str | None:
    """A string without surrounding white space; None for a blank string or anything not a string."""
    return value.strip() or None if isinstance(value, str) else None


def short_text(value: Any, limit: int) -> str | None:
    """A string, number or id as stripped text of at most `limit` characters; None when blank or not one."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value).strip()[:limit] or None


def is_yes(value: Any, *, numbers: bool = False) -> bool:
    """A boolean as is, or a yes-word ("true", "yes", "1", "y", any case); with `numbers`, 1 too."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) or (numbers and isinstance(value, int)):
        return str(value).strip().lower() in YES_WORDS
    return False


def string_list(value: Any) -> list[str] | None:
    """A list of strings (a single string counts as one), lower-cased; None when it is neither."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return [v.strip().lower() for v in value if v.strip()]


def option_list(source: SourceConfig, key: str, default: tuple[str, ...]) -> list[str]:
    """The source option `key` as a string_list (its default when absent; empty when malformed)."""
    return string_list(source.options.get(key, list(default))) or []


def tag_list(raw: Any) -> list[str]:
    """Tags given as strings or tag objects ({"name": …}): stripped, distinct, within cxloop's limits."""
    tags: list[str] = []
    for tag in raw if isinstance(raw, list) else []:
        name = clean_text(tag.get("name") if isinstance(tag, dict) else tag)
        if name and name[:MAX_TAG_CHARS] not in tags:
            tags.append(name[:MAX_TAG_CHARS])
    return tags[:MAX_TAGS]


# --- customer fields from free-form properties (hidden fields, person / contact attributes) -----------

PLAN_NAMES = ("plan", "plan name", "pricing plan", "tier")
SEGMENT_NAMES = ("segment", "customer segment", "customer type")
ACCOUNT_NAMES = ("account", "account name", "company", "company name", "organization", "organisation")
ACCOUNT_ID_NAMES = ("account id", "company id", "customer id", "external id")


def normalise_key(key: str) -> str:
    """A property name compared case-, "_"- and "-"-insensitively ("Plan_Name" → "plan name")."""
    return " ".join(key.replace("_", " ").replace("-", " ").lower().split())


def lookup_property(properties: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """The first non-blank value among `names` (normalised, in order of preference), else None."""
    by_name = {normalise_key(str(k)): v for k, v in properties.items()}
    return next((by_name[n] for n in names if by_name.get(n) not in (None, "")), None)


def customer_from_properties(properties: Mapping[str, Any], *, plan_names: tuple[str, ...] = PLAN_NAMES,
                             numeric_vip: bool = False) -> dict[str, Any]:
    """plan / segment / account / account_id / vip read from common property names (see lookup_property)."""
    return {
        "plan": short_text(lookup_property(properties, plan_names), 100),
        "segment": short_text(lookup_property(properties, SEGMENT_NAMES), 100),
        "account": short_text(lookup_property(properties, ACCOUNT_NAMES), 255),
        "account_id": short_text(lookup_property(properties, ACCOUNT_ID_NAMES), 255),
        "vip": is_yes(lookup_property(properties, ("vip",)), numbers=numeric_vip),
    }
