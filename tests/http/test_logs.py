"""A log line is one line: control characters from payloads are escaped, in text and JSON logs alike.

Before: a webhook whose id was "x\nFAKE LOG LINE" wrote a second line, starting "FAKE", that a log
reader (or shipper) took for a record of its own.
"""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import configure_logging


@pytest.fixture(params=["text", "json"])
def log_stream(request):
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate)
                                            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")})
    configure_logging("INFO", fmt=request.param)
    stream = io.StringIO()
    [handler] = [h for h in root.handlers if h.get_name() == "cxloop"]
    handler.setStream(stream)
    yield request.param, stream
    root.handlers[:], root.level = saved[0], saved[1]
    for name, (handlers, propagate) in saved[2].items():
        logging.getLogger(name).handlers[:], logging.getLogger(name).propagate = handlers, propagate


def test_a_payload_id_with_a_newline_cannot_forge_a_log_line(make_app, log_stream):
    fmt, stream = log_stream
    app = make_app()
    forged = "x\nFAKE LOG LINE\r\x1b[31m\u2028FAKE TOO"
    response = app.post_webhook({"id": forged, "kind": "nps", "score": 9})
    assert response.status_code == 202
    app.wait_for_post("C0SUCCESS")
    app.idle()
    logging.getLogger("bot.test").error("refused %s", forged, exc_info=ValueError(f"bad id {forged}"))
    lines = stream.getvalue().splitlines()
    messages = [json.loads(line)["message"] for line in lines] if fmt == "json" else lines
    assert any("x\\nFAKE LOG LINE" in message for message in messages)  # the id is there, escaped
    assert not [line for line in lines if line.lstrip('"').startswith("FAKE")]
    assert "\x1b" not in stream.getvalue() and "\u2028" not in stream.getvalue()
    if fmt == "text":
        # A traceback keeps its lines, each indented under its record.
        start = next(i for i, line in enumerate(lines) if "refused x\\n" in line)
        assert all(line.startswith("  ") for line in lines[start + 1:] if line)
