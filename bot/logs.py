"""Logging: a request id carried from webhook to Slack post, JSON lines on demand, secrets redacted,
control characters escaped.

A webhook gets a request id (the sender's `X-Request-Id` when it is a sane token, else a new one);
it is stored on the item's outbox rows, so the delivery worker — in this process or another — logs
the Slack post under the same id. `LOG_FORMAT=json` writes one JSON object per line for log
shippers. Whatever the format, configured secrets and `token=` query values are replaced by
"[redacted]" before a record is written, and control characters from payloads are escaped (a record
is one line; a traceback's lines are indented).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str | None] = ContextVar("cxloop_request_id", default=None)

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_TOKEN_QUERY = re.compile(r"((?:token|secret|signature)=)[^&\s\"']+", re.IGNORECASE)
_SLACK_TOKEN = re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{6,}")
REDACTED = "[redacted]"
# Secrets shorter than this are not searched for: "abc" would redact ordinary words.
MIN_SECRET_CHARS = 8


def new_request_id(offered: str | None = None) -> str:
    """The caller's id when it looks like one (so a provider's own id links both logs), else a new one."""
    if offered and _SANE_REQUEST_ID.match(offered):
        return offered
    return uuid.uuid4().hex[:16]


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class RedactSecrets(logging.Filter):
    """Replaces secret values in the formatted message (and drops exception text that could hold them)."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = _SLACK_TOKEN.sub(REDACTED, text)
        return _TOKEN_QUERY.sub(lambda m: m.group(1) + REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 — a malformed record is still logged, as its raw template
            message = str(record.msg)
        redacted = self.redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


# C0 and C1 control characters, DEL, and Unicode's line and paragraph separators: any of them in a
# payload value (an id "x\nFAKE LOG LINE") would otherwise start a forged line in the log. Lone
# surrogates (JSON allows "\ud800") cannot be written as UTF-8: the whole line would be lost.
_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_control_chars(text: str) -> str:
    """`text` with each control character written as its escape (a newline becomes the two characters \\n)."""
    return _CONTROL_CHARS.sub(lambda m: _NAMED_ESCAPES.get(m.group()) or
                              (f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"),
                              text)


class EscapeControlChars(logging.Filter):
    """One record, one line: control characters in the formatted message (template and arguments) are
    escaped; a traceback keeps its line breaks, but each of its lines is indented, so nothing it quotes
    (an exception message built from a payload) can start a line of its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 — a malformed record is still logged, as its raw template
            message = str(record.msg)
        escaped = escape_control_chars(message)
        if escaped != message or record.args:
            record.msg, record.args = escaped, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and not getattr(record, "_cxloop_exc_escaped", False):
            lines = record.exc_text.split("\n")
            record.exc_text = "\n".join("  " + escape_control_chars(line) for line in lines)
            record._cxloop_exc_escaped = True  # pytest's capture and ours may both see the record
        if record.stack_info:
            record.stack_info = "\n".join("  " + escape_control_chars(line) for line in record.stack_info.split("\n"))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure_logging(level: str, *, fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(EscapeControlChars())  # after redaction, which matches on the raw text
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.set_name("cxloop")
    root = logging.getLogger()
    # Replace our own handler on a second call; leave anyone else's (pytest's capture) alone.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "cxloop"] + [handler]
    root.setLevel(level)
    # slack_sdk logs whole outgoing bodies at DEBUG: customer comments, every message. Even when the
    # app logs DEBUG (which shows webhook bodies once, at intake), it stays at INFO.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLevelName(level)))
    # uvicorn's loggers get the same handler, so their lines are redacted and formatted alike.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


def redact_also(secrets: Iterable[str]) -> None:
    """Add values learnt after logging was set up (the config's webhook secrets and API credentials,
    whose variable names need not look secret) to the redactor of our handler."""
    for handler in logging.getLogger().handlers:
        if handler.get_name() == "cxloop":
            for found in handler.filters:
                if isinstance(found, RedactSecrets):
                    found.secrets = sorted({*found.secrets, *(v for v in secrets if v and len(v) >= MIN_SECRET_CHARS)},
                                           key=len, reverse=True)

