"""The e-mail check (bot/common/email_address.py) accepts, refuses and normalises exactly as the
email-validator library does, also on its fast path for plain ASCII addresses (whose domain's verdict
is reused)."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email

from bot.common.email_address import InvalidEmail, normalise_email

ADDRESSES = [
    "Ann@Acme.Example", "ann.b+tag@acme.example", "ann@sub.acme.example", "o'brien@acme.example",
    "ann@localhost", "ann@acme", "ann@acme.test", "ann@acme.invalid", "ann@-acme.example", "ann@acme-.example",
    "ann@acme..example", "ann@acme.example.", "ann@123.123", "ann@xn--bcher-kva.example", "ann@bücher.example",
    "ánn@acme.example", ".ann@acme.example", "ann.@acme.example", "an..n@acme.example", "ann@@acme.example",
    "ann@acme.example,eve@evil.example", "Ann <ann@acme.example>", '"ann b"@acme.example', "ann@[127.0.0.1]",
    "POSTMASTER@acme.example", "a" * 64 + "@acme.example", "a" * 65 + "@acme.example",
    "a" * 60 + "@" + ".".join(["b" * 60] * 3) + ".example", "a@" + "b" * 64 + ".example", "ann@acme.example\n",
    "ann@ acme.example", "ann@acme_example.com", "ann@1.2.3.4", "ann",
]


def library(address: str) -> str | None:
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def ours(address: str) -> str | None:
    try:
        return normalise_email(address)
    except InvalidEmail:
        return None


@pytest.mark.parametrize("address", ADDRESSES)
def test_same_verdict_and_form_as_the_library(address: str) -> None:
    assert ours(address) == library(address)
    assert ours(address) == library(address)  # again: now from the cached domain


def test_a_refused_address_says_why_without_repeating_it() -> None:
    with pytest.raises(InvalidEmail, match="after the @-sign") as refused:
        normalise_email("carl@acme.example,eve@evil.example")
    assert "evil" not in str(refused.value)
