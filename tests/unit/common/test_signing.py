"""bot/common/signing.py: cxloop's webhook signatures (sha256=…) and Slack's v0 request signatures."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from slack_sdk.signature import Clock, SignatureVerifier

from bot.common.signing import (
    MAX_SKEW_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    cxloop_signature,
    sign_slack_request,
    sign_webhook,
    verify_webhook,
)

SECRET = "test-webhook-secret"
NOW = 1_700_000_000
BODY = b'{"id":"r-1","kind":"nps","score":3,"comment":"Too slow"}'


def signed(body: bytes = BODY, ts: int = NOW, secret: str = SECRET) -> tuple[str, str]:
    headers = sign_webhook(secret, body, ts)
    return headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # The README's openssl recipe: printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$secret"
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert cxloop_signature(SECRET, str(NOW), BODY) == f"sha256={expected}"


def test_sign_webhook_headers() -> None:
    headers = sign_webhook(SECRET, BODY, NOW)
    assert headers[TIMESTAMP_HEADER] == str(NOW)
    assert headers[SIGNATURE_HEADER].startswith("sha256=")
    assert headers["Content-Type"] == "application/json"
    assert TIMESTAMP_HEADER == "X-Cxloop-Timestamp" and SIGNATURE_HEADER == "X-Cxloop-Signature"


def test_correct_signature_passes() -> None:
    ts, sig = signed()
    verify_webhook(SECRET, BODY, ts, sig, now=NOW)


def test_sign_webhook_without_timestamp_uses_now() -> None:
    headers = sign_webhook(SECRET, BODY)
    verify_webhook(SECRET, BODY, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])


def test_body_changed_by_one_byte_fails() -> None:
    ts, sig = signed()
    tampered = BODY.replace(b'"score":3', b'"score":9')
    assert len(tampered) == len(BODY)
    with pytest.raises(SignatureError):
        verify_webhook(SECRET, tampered, ts, sig, now=NOW)
    with pytest.raises(SignatureError):
        verify_webhook(SECRET, BODY + b" ", ts, sig, now=NOW)


def test_wrong_secret_fails() -> None:
    ts, sig = signed(secret="another-secret")
    with pytest.raises(SignatureError):
        verify_webhook(SECRET, BODY, ts, sig, now=NOW)


def test_signature_for_other_timestamp_fails() -> None:
    _, sig = signed(ts=NOW)
    with pytest.raises(SignatureError):
        verify_webhook(SECRET, BODY, str(NOW + 1), sig, now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, -10_000, 10_000])
def test_timestamp_more_than_five_minutes_off_fails(offset: int) -> None:
    ts, sig = signed(ts=NOW + offset)
    with pytest.raises(SignatureError, match="seconds"):
        verify_webhook(SECRET, BODY, ts, sig, now=NOW)


@pytest.mark.parametrize("offset", [-299, 299, -MAX_SKEW_SECONDS, MAX_SKEW_SECONDS, 0])
def test_timestamp_within_five_minutes_passes(offset: int) -> None:
    ts, sig = signed(ts=NOW + offset)
    verify_webhook(SECRET, BODY, ts, sig, now=NOW)


@pytest.mark.parametrize(("ts", "sig"), [(None, "sha256=abc"), ("1700000000", None), ("", "sha256=abc"),
                                         ("1700000000", ""), (None, None)])
def test_missing_headers_fail(ts, sig) -> None:
    with pytest.raises(SignatureError, match="missing"):
        verify_webhook(SECRET, BODY, ts, sig, now=NOW)


@pytest.mark.parametrize("ts", ["abc", "1700000000.5", "-1700000000", "1.7e9", " 1700000000", "0x6553f100"])
def test_non_numeric_timestamp_fails(ts: str) -> None:
    _, sig = signed()
    with pytest.raises(SignatureError):
        verify_webhook(SECRET, BODY, ts, sig, now=NOW)


def test_unicode_digit_timestamp_is_a_signature_error() -> None:
    _, sig = signed()
    with pytest.raises(SignatureError):
        verify_webhook(SECRET, BODY, "²", sig, now=NOW)


def test_signature_without_prefix_fails() -> None:
    ts, sig = signed()
    bare = sig.removeprefix("sha256=")
    assert bare != sig
    with pytest.raises(SignatureError):
        verify_webhook(SECRET, BODY, ts, bare, now=NOW)


def test_signature_with_other_scheme_prefix_fails() -> None:
    ts, sig = signed()
    with pytest.raises(SignatureError):
        verify_webhook(SECRET, BODY, ts, "v0=" + sig.removeprefix("sha256="), now=NOW)


def test_truncated_signature_fails() -> None:
    ts, sig = signed()
    with pytest.raises(SignatureError):
        verify_webhook(SECRET, BODY, ts, sig[:-1], now=NOW)


def test_error_message_names_the_header() -> None:
    ts, _ = signed()
    with pytest.raises(SignatureError, match=SIGNATURE_HEADER):
        verify_webhook(SECRET, BODY, ts, "sha256=" + "0" * 64, now=NOW)


# --- Slack v0 -----------------------------------------------------------------------------------

# The worked example in Slack's "Verifying requests from Slack" documentation.
SLACK_DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_DOC_TIMESTAMP = 1531420618
SLACK_DOC_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_sign_slack_request_matches_slacks_documented_example() -> None:
    headers = sign_slack_request(SLACK_DOC_SECRET, SLACK_DOC_BODY, SLACK_DOC_TIMESTAMP)
    assert headers == {"X-Slack-Request-Timestamp": "1531420618", "X-Slack-Signature": SLACK_DOC_SIGNATURE}


class FixedClock(Clock):
    def now(self) -> float:
        return float(NOW)


def test_sign_slack_request_is_accepted_by_slack_sdk_verifier() -> None:
    # Bolt verifies incoming requests with slack_sdk's SignatureVerifier: our sandbox must pass it.
    body = "payload=%7B%22type%22%3A%22block_actions%22%7D"
    headers = sign_slack_request("sandbox-signing-secret", body, NOW)
    verifier = SignatureVerifier("sandbox-signing-secret", clock=FixedClock())
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not verifier.is_valid(body + "x", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])


def test_sign_slack_request_without_timestamp_is_current() -> None:
    headers = sign_slack_request("s", "a=b")
    verifier = SignatureVerifier("s")
    assert verifier.is_valid("a=b", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
