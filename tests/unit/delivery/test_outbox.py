"""The outbox's typed payloads (bot/delivery/outbox.py) and the delivery table (bot/delivery/handlers.py)."""

from __future__ import annotations

import pytest

import models.delivery
from bot.delivery.handlers import HANDLERS
from bot.delivery.outbox import (
    KINDS,
    PAYLOADS,
    HttpCall,
    PostItem,
    PostMessage,
    PublishHome,
    RedactMessage,
    RedactThread,
    ThreadReply,
    UnknownKind,
    UpdateItem,
    UploadFile,
    decode,
)

EXAMPLES = [
    PostItem(request_id="req-1"), PostItem(),
    UpdateItem(reason="claim"),
    ThreadReply(text="cc <@U1>", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "cc"}}],
                reply_broadcast=True),
    PostMessage(text="digest", blocks=[], thread_ts="1.2", render={"renderer": "digest", "data": {}},
                posted={"channel": "C1", "ts": "1.3"}),
    UploadFile.of(b"\x89PNG\x00", filename="c.png", title="NPS", initial_comment=None),
    RedactThread(), RedactMessage(outbox_id=7), PublishHome(),
    HttpCall(purpose="zendesk_reply", source="zd", text="Thanks!", by="U1"),
]


@pytest.mark.parametrize("payload", EXAMPLES, ids=lambda p: type(p).__name__)
def test_a_payload_round_trips_through_its_stored_form(payload):
    stored = payload.to_json()
    assert decode(payload.kind, stored) == payload
    assert None not in stored.values()  # unset fields are not stored


def test_every_stored_kind_has_a_payload_and_a_handler():
    declared = {value for name, value in vars(models.delivery).items()
                if name.isupper() and isinstance(value, str) and name not in ("PENDING", "SENT", "DEAD")}
    assert set(KINDS) == declared == set(PAYLOADS)
    assert set(HANDLERS) == set(KINDS)


def test_an_unknown_kind_does_not_decode():
    with pytest.raises(UnknownKind, match="'fax'"):
        decode("fax", {"text": "hi"})


def test_rows_written_before_a_field_existed_still_decode():
    assert decode("thread_reply", {"text": "[erased]"}) == ThreadReply(text="[erased]")
    assert decode("post_item", {}) == PostItem()
    assert decode("post_message", {"text": "x", "blocks": [], "legacy": 1}) == PostMessage(text="x", blocks=[])


def test_a_payload_missing_what_it_needs_fails_to_decode():
    with pytest.raises(TypeError):
        decode("upload_file", {"filename": "c.png"})


def test_upload_content_is_stored_as_base64():
    upload = UploadFile.of(b"\x00\x01", filename="a.bin")
    assert upload.to_json() == {"filename": "a.bin", "content_b64": "AAE="} and upload.content == b"\x00\x01"
