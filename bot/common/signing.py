"""Webhook signatures in cxloop's own scheme: HMAC-SHA256 over "<timestamp>.<raw body>".

Slack's own signatures (v0=…) are verified by Bolt; this module signs and verifies ours, and signs
Slack-format requests for the sandbox and tests (so the app cannot tell them from Slack's).
"""

from __future__ import annotations

import hashlib
import hmac
import time

MAX_SKEW_SECONDS = 300
TIMESTAMP_HEADER = "X-Cxloop-Timestamp"
SIGNATURE_HEADER = "X-Cxloop-Signature"


class SignatureError(Exception):
    """Why a request's signature was refused (safe to show to the sender)."""


def cxloop_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def sign_webhook(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers a sender adds to a webhook to cxloop."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: cxloop_signature(secret, ts, body),
            "Content-Type": "application/json"}


def verify_webhook(secret: str, body: bytes, timestamp: str | None, signature: str | None,
                   now: float | None = None) -> None:
    if not timestamp or not signature:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be unix seconds")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than {MAX_SKEW_SECONDS} seconds from now")
    expected = cxloop_signature(secret, timestamp, body)
    # compare_digest: the time taken must not reveal how many leading characters matched.
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")


def sign_slack_request(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack puts on a request to the app (v0 scheme), for the sandbox and tests."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}
