"""The one check of a customer's e-mail address, used wherever an address comes in or goes out.

An address is exactly one mailbox: `carl@acme.example`, never `carl@acme.example,eve@evil.example`
(a reply went to both), a display name, or anything with a line break (the worker could not send it).
The syntax is checked by the `email-validator` library (RFC 5321/5322 and IDNA rules), without DNS
look-ups: intake must not wait on DNS, and a domain that resolves today may not tomorrow.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH

MAX_EMAIL_CHARS = 320


class InvalidEmail(ValueError):
    """str() says what is wrong, without repeating the address (it may be anything a sender typed)."""


def normalise_email(value: Any) -> str:
    """The address, checked and lower-cased; raises InvalidEmail unless `value` is exactly one mailbox."""
    if not isinstance(value, str):
        raise InvalidEmail("is not an e-mail address")
    return _normalised(value.strip())


@lru_cache(maxsize=4096)
def _normalised(text: str) -> str:
    # Cached: intake checks each address twice (the payload, then the VIP book's domain look-up) and a
    # history import meets the same customers again and again. A refusal raises, so it is never cached.
    if not text or len(text) > MAX_EMAIL_CHARS:
        raise InvalidEmail("is not an e-mail address")
    local, _, domain = text.partition("@")
    if text.isascii() and DOT_ATOM_TEXT.match(local) and "@" not in domain:
        # The common case, a plain ASCII address: the library checks the part before the @ on its own
        # (this very pattern: such a part is valid and kept as it is) and the domain on its own, so the
        # domain's verdict is reused (an export's customers share a few domains; each address is new).
        checked_domain = _domain(domain)
        if checked_domain is not None and len(local) + 1 + len(checked_domain) <= EMAIL_MAX_LENGTH:
            return f"{local}@{checked_domain}".lower()
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"is not one e-mail address ({_reason(exc)})") from None
    return checked.normalized.lower()


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str | None:
    """The library's form of a plain ASCII domain, or None when the full check must decide (the domain is
    refused, and says why there, or it changes under IDNA so the lengths are checked again)."""
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain if checked.domain == checked.ascii_domain else None


def email_or_none(value: Any) -> str | None:
    """The checked address, or None when `value` is not exactly one valid mailbox."""
    try:
        return normalise_email(value)
    except InvalidEmail:
        return None


def _reason(exc: EmailNotValidError) -> str:
    # The library's messages describe the problem ("The part after the @-sign contains invalid
    # characters: ','"), and only quote the offending characters, never the whole address.
    return " ".join(str(exc).split())[:160].rstrip(".")
