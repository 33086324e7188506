"""The VIP book matches accounts by the domain of an address that passed the one e-mail check
(bot.common.email_address): anything else has no domain."""

from __future__ import annotations

import pytest

from bot.vip.accounts import email_domain


@pytest.mark.parametrize(("value", "domain"), [
    ("Ann@ACME.example", "acme.example"),
    ("ann@acme.example,eve@evil.example", None),   # two mailboxes: was "evil.example"
    ("Ann <ann@acme.example>", None),              # a display name: was "acme.example>"
    ("ann@", None), ("", None), (None, None),
])
def test_only_a_valid_address_has_a_domain(value, domain) -> None:
    assert email_domain(value) == domain
