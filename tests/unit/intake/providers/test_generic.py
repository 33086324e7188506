""""generic" (cxloop's own signed JSON) is a provider adapter like the others (bot/intake/providers/generic.py)."""

from __future__ import annotations

import json
import time

import pytest

from bot.common.signing import SignatureError, sign_webhook
from bot.config import SOURCE_TYPES, SourceConfig
from bot.intake.payload import PayloadError, validate_payload
from bot.intake.providers import adapter_for

SOURCE = SourceConfig(name="generic", type="generic", secret_env="GENERIC_WEBHOOK_SECRET")


def _headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    return {name.lower(): value for name, value in sign_webhook(secret, body, timestamp).items()}


def test_every_source_type_has_an_adapter():
    for source_type in SOURCE_TYPES:
        adapter = adapter_for(source_type)
        assert callable(adapter.verify) and callable(adapter.parse)


def test_a_signed_body_verifies_and_parses_to_one_payload():
    body = json.dumps({"id": "g-1", "kind": "nps", "score": 3}).encode()
    adapter = adapter_for("generic")
    adapter.verify(SOURCE, "s3cret", body, _headers("s3cret", body), time.time())
    [payload] = adapter.parse(SOURCE, body, {}, lambda path, fresh=False: {})
    assert validate_payload(payload).id == "g-1"


@pytest.mark.parametrize("secret, skew", [("wrong", 0), ("s3cret", 3600)])
def test_a_wrong_or_stale_signature_is_refused(secret, skew):
    body = b'{"id": "g-1", "kind": "nps", "score": 3}'
    with pytest.raises(SignatureError):
        adapter_for("generic").verify(SOURCE, "s3cret", body, _headers(secret, body, int(time.time()) - skew),
                                      time.time())


def test_a_body_that_is_not_json_is_a_400():
    with pytest.raises(PayloadError) as refused:
        adapter_for("generic").parse(SOURCE, b"{not json", {}, lambda path, fresh=False: {})
    assert refused.value.status == 400
