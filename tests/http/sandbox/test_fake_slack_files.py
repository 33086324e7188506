"""FakeSlack's external file upload flow, driven through the real ``WebClient.files_upload_v2``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.fake_slack import BOT_USER_ID, FakeSlack

TOKEN = "xoxb-test"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8  # binary, with bytes that break any text decoding


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    f = FakeSlack(token=TOKEN).start()
    yield f
    f.stop()


def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.base_url, retry_handlers=[], timeout=5)


def post(url: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_files_upload_v2_shares_the_exact_bytes(fake: FakeSlack) -> None:
    fake.join("C0SUCCESS")
    r = client(fake).files_upload_v2(channel="C0SUCCESS", file=PNG, filename="nps.png", title="NPS trend",
                                     initial_comment="Weekly report", alt_txt="NPS by week")
    assert r["file"]["id"] == r["files"][0]["id"]
    assert (r["file"]["name"], r["file"]["title"], r["file"]["size"]) == ("nps.png", "NPS trend", len(PNG))
    assert r["file"]["mimetype"] == "image/png"

    [stored] = fake.files()
    assert stored["bytes"] == PNG
    assert {k: stored[k] for k in ("id", "filename", "title", "channel", "size", "alt_txt")} == {
        "id": r["file"]["id"], "filename": "nps.png", "title": "NPS trend", "channel": "C0SUCCESS",
        "size": len(PNG), "alt_txt": "NPS by week"}

    [msg] = fake.messages("C0SUCCESS")
    assert msg["text"] == "Weekly report"
    assert msg["user"] == BOT_USER_ID
    [f] = msg["files"]
    assert {k: f[k] for k in ("id", "title", "name", "mimetype", "size")} == {
        "id": stored["id"], "title": "NPS trend", "name": "nps.png", "mimetype": "image/png", "size": len(PNG)}

    # The file message reads back through the API like any other message.
    [hist] = client(fake).conversations_history(channel="C0SUCCESS")["messages"]
    assert hist["files"][0]["id"] == stored["id"] and hist["text"] == "Weekly report"

    assert [c["method"] for c in fake.calls()] == [
        "files.getUploadURLExternal", "upload_url", "files.completeUploadExternal", "conversations.history"]
    assert fake.calls("upload_url")[0]["args"] == {"file_id": stored["id"], "size": len(PNG)}
    assert fake.calls("files.completeUploadExternal")[0]["args"]["files"] == [
        {"id": stored["id"], "title": "NPS trend"}]


def test_upload_into_a_thread_and_title_defaults_to_filename(fake: FakeSlack) -> None:
    c = client(fake)
    root = c.chat_postMessage(channel="C0SUCCESS", text="Weekly report")["ts"]
    c.files_upload_v2(channel="C0SUCCESS", content="a,b\n1,2\n", filename="nps.csv", thread_ts=root)
    [reply] = fake.thread("C0SUCCESS", root)
    assert reply["files"][0]["title"] == "nps.csv" and reply["files"][0]["mimetype"] == "text/csv"
    assert reply["text"] == ""
    assert fake.files()[0]["bytes"] == b"a,b\n1,2\n"


def test_unknown_channel_is_channel_not_found_and_nothing_is_shared(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as exc:
        client(fake).files_upload_v2(channel="not-a-channel", file=PNG, filename="nps.png")
    assert exc.value.response["error"] == "channel_not_found"
    assert fake.files() == []


def test_completing_an_unknown_or_unuploaded_file_is_file_not_found(fake: FakeSlack) -> None:
    c = client(fake)
    with pytest.raises(SlackApiError) as exc:
        c.files_completeUploadExternal(files=[{"id": "F0NOPE", "title": "x"}], channel_id="C0SUCCESS")
    assert exc.value.response["error"] == "file_not_found"

    issued = c.files_getUploadURLExternal(filename="nps.png", length=len(PNG))  # URL issued, bytes never sent
    with pytest.raises(SlackApiError) as exc:
        c.files_completeUploadExternal(files=[{"id": issued["file_id"]}], channel_id="C0SUCCESS")
    assert exc.value.response["error"] == "file_not_found"
    assert fake.messages("C0SUCCESS") == [] and fake.files() == []


def test_a_file_can_be_completed_only_once(fake: FakeSlack) -> None:
    c = client(fake)
    fid = c.files_upload_v2(channel="C0SUCCESS", file=PNG, filename="nps.png")["file"]["id"]
    with pytest.raises(SlackApiError) as exc:
        c.files_completeUploadExternal(files=[{"id": fid}], channel_id="C0SUPPORT")
    assert exc.value.response["error"] == "file_not_found"
    assert post(fake.upload_url(fid), b"again")[0] == 404  # the upload URL is spent too


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"filename": "", "length": 10}, "missing required field: filename"),
    ({"filename": "a.png", "length": 0}, "length must be a positive integer"),
    ({"filename": "a.png", "length": -3}, "length must be a positive integer"),
    ({"filename": "a.png", "length": "ten"}, "length must be a positive integer"),
])
def test_get_upload_url_validates_filename_and_length(fake: FakeSlack, kwargs: dict, message: str) -> None:
    with pytest.raises(SlackApiError) as exc:
        client(fake).files_getUploadURLExternal(**kwargs)
    assert exc.value.response["error"] == "invalid_arguments"
    assert exc.value.response["response_metadata"]["messages"] == [f"[ERROR] {message}"]


def test_alt_txt_over_1000_characters_is_rejected(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as exc:
        client(fake).files_getUploadURLExternal(filename="a.png", length=5, alt_txt="x" * 1001)
    assert exc.value.response["error"] == "alt_txt_too_large"


def test_upload_url_answers_like_slack_and_rejects_unknown_ids(fake: FakeSlack) -> None:
    r = client(fake).files_getUploadURLExternal(filename="nps.png", length=len(PNG))
    assert r["file_id"].startswith("F")
    assert r["upload_url"] == f"{fake.url}/upload/{r['file_id']}"
    assert post(r["upload_url"], PNG) == (200, f"OK - {len(PNG)}")
    assert post(f"{fake.url}/upload/F0UNKNOWN", PNG)[0] == 404
    assert fake.calls("upload_url")[-1]["error"] == "file not found"


def test_upload_url_accepts_a_multipart_form(fake: FakeSlack) -> None:
    c = client(fake)
    r = c.files_getUploadURLExternal(filename="nps.png", length=len(PNG))
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"filename\"\r\n\r\nnps.png\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"nps.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + PNG + f"\r\n--{boundary}--\r\n".encode()
    assert post(r["upload_url"], body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}) == (
        200, f"OK - {len(PNG)}")
    c.files_completeUploadExternal(files=[{"id": r["file_id"], "title": "NPS"}], channels=["C0SUCCESS", "C0SUPPORT"])
    [stored] = fake.files()
    assert stored["bytes"] == PNG and stored["channels"] == ["C0SUCCESS", "C0SUPPORT"]
    assert [len(fake.messages(ch)) for ch in ("C0SUCCESS", "C0SUPPORT")] == [1, 1]


def test_without_a_channel_the_file_stays_private(fake: FakeSlack) -> None:
    client(fake).files_upload_v2(file=PNG, filename="nps.png")
    [stored] = fake.files()
    assert stored["channel"] is None and stored["channels"] == []


def test_faults_hit_the_api_methods_but_not_the_upload_host(fake: FakeSlack) -> None:
    c = client(fake)
    r = c.files_getUploadURLExternal(filename="nps.png", length=len(PNG))
    fake.set_faults(rate_500=1.0)
    assert post(r["upload_url"], PNG) == (200, f"OK - {len(PNG)}")
    with pytest.raises(SlackApiError) as exc:
        c.files_completeUploadExternal(files=[{"id": r["file_id"]}], channel_id="C0SUCCESS")
    assert exc.value.response.status_code == 500
    fake.set_faults()
    c.files_completeUploadExternal(files=[{"id": r["file_id"]}], channel_id="C0SUCCESS")
    assert fake.files()[0]["bytes"] == PNG


def test_malformed_files_argument_is_invalid_arguments(fake: FakeSlack) -> None:
    req = urllib.request.Request(
        f"{fake.base_url}files.completeUploadExternal", method="POST",
        data=json.dumps({"files": "not-json", "channel_id": "C0SUCCESS"}).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        body = json.loads(resp.read())
    assert (body["ok"], body["error"]) == (False, "invalid_arguments")


def test_reset_forgets_files(fake: FakeSlack) -> None:
    client(fake).files_upload_v2(channel="C0SUCCESS", file=PNG, filename="nps.png")
    fake.reset()
    assert fake.files() == [] and fake.messages("C0SUCCESS") == []
