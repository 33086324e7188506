"""FakeSlack driven through the real slack_sdk WebClient, so the fake stays honest about wire formats."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.fake_slack import FakeSlack, validate_blocks, validate_view

TOKEN = "xoxb-test"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    f = FakeSlack(token=TOKEN).start()
    yield f
    f.stop()


def client(fake: FakeSlack, token: str = TOKEN) -> WebClient:
    return WebClient(token=token, base_url=fake.base_url, retry_handlers=[], timeout=5)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_auth_test_identity(fake: FakeSlack) -> None:
    r = client(fake).auth_test()
    assert (r["user_id"], r["bot_id"], r["team_id"], r["team"]) == ("U0CXLOOPBOT", "B0CXLOOP", "T0SANDBOX", "Sandbox")


def test_post_then_history_metadata_only_when_asked(fake: FakeSlack) -> None:
    c = client(fake)
    fake.join("C0FEED")  # reading history needs membership, as in Slack
    meta = {"event_type": "feedback_posted", "event_payload": {"feedback_id": 42}}
    first = c.chat_postMessage(channel="C0FEED", text="first")
    posted = c.chat_postMessage(channel="C0FEED", text="hello", blocks=[section("*hello*")], metadata=meta)
    assert posted["channel"] == "C0FEED"
    assert posted["ts"] > first["ts"]  # same width, so string order == time order

    plain = c.conversations_history(channel="C0FEED")["messages"]
    assert [m["text"] for m in plain] == ["hello", "first"]  # newest first
    assert "metadata" not in plain[0]

    full = c.conversations_history(channel="C0FEED", include_all_metadata=True)["messages"]
    assert full[0]["metadata"] == meta
    assert full[0]["blocks"][0]["text"]["text"] == "*hello*"
    assert fake.message("C0FEED", posted["ts"])["metadata"] == meta
    assert fake.calls("chat.postMessage")[1]["args"]["metadata"] == meta


def test_threads_updates_and_permalink(fake: FakeSlack) -> None:
    c = client(fake)
    fake.join("C1")  # reading history needs membership, as in Slack
    parent = c.chat_postMessage(channel="C1", text="parent")["ts"]
    reply = c.chat_postMessage(channel="C1", text="reply", thread_ts=parent)["ts"]
    c.chat_update(channel="C1", ts=parent, text="parent (edited)")
    assert [m["text"] for m in fake.thread("C1", parent)] == ["reply"]
    assert [m["ts"] for m in c.conversations_replies(channel="C1", ts=parent)["messages"]] == [parent, reply]
    assert [m["text"] for m in c.conversations_history(channel="C1")["messages"]] == ["parent (edited)"]
    assert "edited" in fake.message("C1", parent)
    link = c.chat_getPermalink(channel="C1", message_ts=parent)["permalink"]
    assert link == f"https://sandbox.slack.local/archives/C1/p{parent.replace('.', '')}"
    with pytest.raises(SlackApiError) as e:
        c.chat_update(channel="C1", ts="1.000001", text="x")
    assert e.value.response["error"] == "message_not_found"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"channel": "general", "text": "x"}, "channel_not_found"), ({"channel": "C1"}, "no_text"),
     ({"channel": "C1", "text": "x" * 40001}, "msg_too_long")],
)
def test_post_message_errors(fake: FakeSlack, kwargs: dict, error: str) -> None:
    with pytest.raises(SlackApiError) as e:
        client(fake).chat_postMessage(**kwargs)
    assert e.value.response.status_code == 200
    assert e.value.response["error"] == error


def test_invalid_and_missing_token(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as e:
        client(fake, token="xoxb-wrong").auth_test()
    assert e.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as e:
        WebClient(base_url=fake.base_url, retry_handlers=[]).auth_test()
    assert e.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as e:
        client(fake).api_call("chat.nonsense")
    assert e.value.response["error"] == "unknown_method"


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [([section("x")] * 51, "/blocks]"), ([section("x" * 3001)], "/blocks/0/text/text]")],
)
def test_invalid_blocks_rejected_like_slack(fake: FakeSlack, blocks: list, pointer: str) -> None:
    with pytest.raises(SlackApiError) as e:
        client(fake).chat_postMessage(channel="C1", text="fallback", blocks=blocks)
    assert e.value.response["error"] == "invalid_blocks"
    messages = e.value.response["response_metadata"]["messages"]
    assert messages[0].startswith("[ERROR] ") and messages[0].endswith(pointer)
    assert fake.messages("C1") == []


def test_form_encoded_blocks_are_decoded_and_validated(fake: FakeSlack) -> None:
    c = client(fake)
    ok = c.api_call("chat.postMessage", data={"channel": "C1", "blocks": json.dumps([section("hi")])})
    assert fake.calls("chat.postMessage")[0]["args"]["blocks"] == [section("hi")]
    assert fake.message("C1", ok["ts"])["blocks"] == [section("hi")]
    with pytest.raises(SlackApiError) as e:
        c.api_call("chat.postMessage", data={"channel": "C1", "blocks": json.dumps([section("x" * 3001)])})
    assert e.value.response["error"] == "invalid_blocks"


def test_validate_blocks_pure() -> None:
    assert validate_blocks([section("ok"), {"type": "divider"}]) == []
    button = {"type": "button", "text": {"type": "plain_text", "text": "b" * 76}, "action_id": "a"}
    overflow = {"type": "overflow", "options": [{"text": {"type": "plain_text", "text": "1"}, "value": "1"}]}
    errors = validate_blocks([
        {"type": "header", "text": {"type": "mrkdwn", "text": "h"}},
        {"type": "actions", "elements": [button, overflow]},
        {"type": "actions", "elements": [{"type": "datepicker", "initial_date": "2024-13-01"}]},
        {"type": "bogus"},
        {"type": "section"},
    ])
    joined = "\n".join(errors)
    for ptr in ["/blocks/0/text/type", "/blocks/1/elements/0/text/text", "/blocks/1/elements/1/options",
                "/blocks/2/elements/0/initial_date", "/blocks/3/type", "/blocks/4]"]:
        assert f"[json-pointer:{ptr}" in joined, ptr
    assert validate_blocks([section("x")] * 100, surface="modal") == []
    twice = {"type": "actions", "elements": [{**button, "text": {"type": "plain_text", "text": "ok"}}] * 2}
    assert validate_blocks([twice]) == ["duplicate action_id: a [json-pointer:/blocks/0/elements/1/action_id]"]


def test_rate_429_fault_surfaces_retry_after(fake: FakeSlack) -> None:
    fake.set_faults(rate_429=1.0, retry_after_s=7)
    with pytest.raises(SlackApiError) as e:
        client(fake).chat_postMessage(channel="C1", text="x")
    assert e.value.response.status_code == 429
    assert e.value.response.headers["Retry-After"] == "7"
    assert e.value.response["error"] == "ratelimited"
    assert fake.calls()[-1]["status"] == 429
    fake.set_faults(rate_500=1.0)
    with pytest.raises(SlackApiError) as e:
        client(fake).auth_test()
    assert e.value.response.status_code == 500
    fake.reset()
    assert client(fake).auth_test()["ok"]


def test_stop_refuses_then_restart_same_port_keeps_state(fake: FakeSlack) -> None:
    c = client(fake)
    fake.join("C1")  # reading history needs membership, as in Slack
    ts = c.chat_postMessage(channel="C1", text="before outage")["ts"]
    url = fake.base_url
    fake.stop()
    with pytest.raises(urllib.error.URLError):
        c.auth_test()
    fake.start()
    assert fake.base_url == url
    assert c.conversations_history(channel="C1")["messages"][0]["ts"] == ts


def test_channel_rate_limit(fake: FakeSlack) -> None:
    c = client(fake)
    fake.enforce_channel_rate(1.0)
    c.chat_postMessage(channel="C1", text="one")
    with pytest.raises(SlackApiError) as e:
        c.chat_postMessage(channel="C1", text="two")
    assert e.value.response.status_code == 429
    assert int(e.value.response.headers["Retry-After"]) >= 1
    assert c.chat_postMessage(channel="C2", text="other channel")["ok"]
    fake.enforce_channel_rate(None)
    assert c.chat_postMessage(channel="C1", text="three")["ok"]


def test_response_url_recorded(fake: FakeSlack) -> None:
    def post(key: str, body: dict) -> str:
        req = urllib.request.Request(fake.response_url(key), data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.read().decode()

    assert post("C1", {"text": "only you can see this"}) == "ok"
    assert post("C1", {"text": "everyone", "response_type": "in_channel"}) == "ok"
    assert [e["text"] for e in fake.ephemerals("C1")] == ["only you can see this"]
    assert [m["text"] for m in fake.messages("C1")] == ["everyone"]
    assert [c["args"]["key"] for c in fake.calls("response_url")] == ["C1", "C1"]
    with pytest.raises(urllib.error.HTTPError) as e:
        post("C1", {"blocks": [section("x" * 3001)]})
    assert e.value.code == 400


def test_ephemeral_dm_and_users(fake: FakeSlack) -> None:
    c = client(fake)
    assert c.chat_postEphemeral(channel="C1", user="U0ANA", text="psst")["message_ts"]
    assert fake.ephemerals()[0]["user"] == "U0ANA"
    assert c.conversations_open(users="U0BEN")["channel"]["id"] == "DU0BEN"
    user = c.users_lookupByEmail(email="dan@example.com")["user"]
    assert (user["id"], user["real_name"], user["tz"]) == ("U0DAN", "Dan Weiss", "America/New_York")
    assert c.users_info(user="U0CARA")["user"]["profile"]["email"] == "cara@example.com"
    with pytest.raises(SlackApiError) as e:
        c.users_lookupByEmail(email="nobody@example.com")
    assert e.value.response["error"] == "users_not_found"


def test_views(fake: FakeSlack) -> None:
    c = client(fake)
    modal = {"type": "modal", "callback_id": "claim", "title": {"type": "plain_text", "text": "Claim"},
             "blocks": [section("hi")]}
    with pytest.raises(SlackApiError) as e:
        c.views_open(trigger_id="t1", view={**modal, "title": {"type": "plain_text", "text": "t" * 25}})
    assert e.value.response["error"] == "invalid_arguments"
    assert "/view/title/text" in e.value.response["response_metadata"]["messages"][0]

    view_id = c.views_open(trigger_id="t1", view=modal)["view"]["id"]
    assert view_id.startswith("V")
    c.views_update(view_id=view_id, view={**modal, "blocks": [section("updated")]})
    home = {"type": "home", "blocks": [section("home")]}
    c.views_publish(user_id="U0ANA", view=home)
    assert [(v["action"], v["type"]) for v in fake.views()] == [("open", "modal"), ("update", "modal"),
                                                                ("publish", "home")]
    assert fake.views()[1]["id"] == view_id and fake.views()[0]["trigger_id"] == "t1"
    assert validate_view({**modal, "private_metadata": "x" * 3001})


def test_latency_and_thread_safety(fake: FakeSlack) -> None:
    import concurrent.futures

    # 0.2 s each: 3.2 s one after another, ~0.4 s with 8 at a time. The margin holds on a loaded
    # 2-core machine (at 0.05 s, 16 requests' own overhead under load passed the 0.8 s bound).
    fake.set_faults(latency_s=0.2)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: client(fake).chat_postMessage(channel="C1", text=str(i))["ts"], range(16)))
    assert time.monotonic() - started < 16 * 0.2 / 2  # latency overlaps across requests
    assert len(set(results)) == 16
    assert [m["ts"] for m in fake.messages("C1")] == sorted(results)


def test_strict_scopes_membership_and_the_granted_scopes_header(fake: FakeSlack) -> None:
    c = client(fake)
    posted = c.chat_postMessage(channel="C0OPEN", text="hi")  # chat:write.public: no invitation needed
    assert "files:write" in posted.headers["X-OAuth-Scopes"].split(",")
    with pytest.raises(SlackApiError) as exc:
        c.conversations_history(channel="C0OPEN")
    assert exc.value.response["error"] == "not_in_channel"
    assert c.conversations_join(channel="C0OPEN")["ok"]
    assert c.conversations_history(channel="C0OPEN")["messages"][0]["text"] == "hi"
    fake.set_scopes(fake.scopes - {"files:write", "chat:write.public"})
    with pytest.raises(SlackApiError) as exc:
        c.files_upload_v2(channel="C0OPEN", content=b"x", filename="x.txt")
    assert (exc.value.response["error"], exc.value.response["needed"]) == ("missing_scope", "files:write")
    with pytest.raises(SlackApiError) as exc:
        c.chat_postMessage(channel="C0ELSEWHERE", text="hi")
    assert exc.value.response["error"] == "not_in_channel"
    fake.remove_channel("C0GONE")
    with pytest.raises(SlackApiError) as exc:
        c.chat_postMessage(channel="C0GONE", text="hi")
    assert exc.value.response["error"] == "channel_not_found"


def test_strict_block_kit_and_metadata_rules(fake: FakeSlack) -> None:
    c = client(fake)
    for blocks, problem in [
        ([section("Mail Acme CX <cx@acme.example>")], "unknown mrkdwn token"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}}], "only allowed on plain_text"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "accessory": {
            "type": "static_select", "action_id": "a", "options": [{"text": {"type": "plain_text", "text": "A"},
                                                                    "value": "a"}],
            "initial_option": {"text": {"type": "plain_text", "text": "B"}, "value": "b"}}}], "must match"),
    ]:
        with pytest.raises(SlackApiError) as exc:
            c.chat_postMessage(channel="C0OPEN", text="x", blocks=blocks)
        assert problem in str(exc.value.response["response_metadata"]["messages"])
    ok = "<@U0ANA> <#C0OPEN> <!subteam^S0ONCALL> <!here> <https://x.example|x> <mailto:a@b.example|a> " \
         "<!date^1700000000^{date_short}|2023-11-14>"
    assert c.chat_postMessage(channel="C0OPEN", text="x", blocks=[section(ok)])["ok"]
    with pytest.raises(SlackApiError) as exc:
        c.chat_postMessage(channel="C0OPEN", text="x", metadata={"event_type": "Item Posted", "event_payload": {}})
    assert exc.value.response["error"] == "invalid_metadata_format"


def test_a_response_url_takes_five_uses(fake: FakeSlack) -> None:
    url = fake.response_url("C0OPEN")
    answers = []
    for n in range(6):
        request = urllib.request.Request(url, data=json.dumps({"text": f"answer {n}"}).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request) as response:
                answers.append(response.read().decode())
        except urllib.error.HTTPError as exc:
            answers.append(exc.read().decode())
    assert answers == ["ok"] * 5 + ["used_url"]
    assert fake.response_url("C0OPEN") != url  # another interaction, another budget


def test_a_trigger_id_opens_one_view(fake: FakeSlack) -> None:
    c = client(fake)
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Hi"},
             "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]}
    trigger = fake.trigger_id()
    assert c.views_open(trigger_id=trigger, view=modal)["ok"]
    with pytest.raises(SlackApiError) as exc:
        c.views_open(trigger_id=trigger, view=modal)
    assert exc.value.response["error"] == "exchanged_trigger_id"


def test_ephemerals_reach_members_only_and_private_channels_need_an_invitation(fake: FakeSlack) -> None:
    c = client(fake)
    fake.set_channel_members("C0OPEN", ["U0ANA"])
    assert c.chat_postEphemeral(channel="C0OPEN", user="U0ANA", text="psst")["ok"]
    for channel, user, error in [("C0OPEN", "U0BEN", "user_not_in_channel"),  # Ben is not in C0OPEN
                                 ("DU0ANA", "U0BEN", "user_not_in_channel"),  # nor in Ana's DM
                                 ("C0OPEN", "U0NOBODY", "user_not_in_channel"),
                                 ("G0SECRET", "U0ANA", "channel_not_found")]:  # the bot was never invited
        with pytest.raises(SlackApiError) as exc:
            c.chat_postEphemeral(channel=channel, user=user, text="psst")
        assert exc.value.response["error"] == error
    for call in (lambda: c.chat_postMessage(channel="G0SECRET", text="hi"),
                 lambda: c.conversations_history(channel="G0SECRET"),
                 lambda: c.conversations_members(channel="G0SECRET"),
                 lambda: c.conversations_info(channel="G0SECRET")):
        with pytest.raises(SlackApiError) as exc:  # chat:write.public covers public channels only
            call()
        assert exc.value.response["error"] == "channel_not_found"
    fake.join("G0SECRET")  # /invite @cxloop
    assert c.chat_postMessage(channel="G0SECRET", text="hi")["ok"]
    assert c.conversations_history(channel="G0SECRET")["messages"][0]["text"] == "hi"
    assert c.chat_postEphemeral(channel="G0SECRET", user="U0BEN", text="psst")["ok"]
    assert c.chat_postMessage(channel="U0BEN", text="hello")["channel"] == "DU0BEN"  # a user id: the app's DM
    assert [e["user"] for e in fake.ephemerals()] == ["U0ANA", "U0BEN"]


def test_a_field_block_kit_does_not_define_for_that_type_is_invalid_blocks(fake: FakeSlack) -> None:
    c = client(fake)
    button = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "Go"}}
    for blocks, pointer in [
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "label": "x"}], "/blocks/0/label"),
        ([{"type": "divider", "text": "x"}], "/blocks/0/text"),
        ([{"type": "actions", "elements": [{**button, "initial_option": None}]}], "/blocks/0/elements/0/initial_option"),
        ([{"type": "section", "text": {"type": "plain_text", "text": "x", "verbatim": True}}], "/blocks/0/text/verbatim"),
        ([{"type": "actions", "elements": [{"type": "overflow", "action_id": "o", "options": [
            {"text": {"type": "plain_text", "text": f"O{n}"}, "value": str(n), "style": "danger"} for n in range(2)]}]}],
         "/blocks/0/elements/0/options/0/style"),
        ([{"type": "context", "elements": [{"type": "image", "image_url": "https://x.example/i.png", "alt_text": "i",
                                            "title": {"type": "plain_text", "text": "t"}}]}], "/blocks/0/elements/0/title"),
    ]:
        with pytest.raises(SlackApiError) as exc:
            c.chat_postMessage(channel="C0OPEN", text="x", blocks=blocks)
        assert exc.value.response["error"] == "invalid_blocks"
        assert f"[json-pointer:{pointer}]" in str(exc.value.response["response_metadata"]["messages"])
    # Every field Block Kit defines passes, e.g. a select's confirm and focus_on_load, a section's expand.
    select = {"type": "static_select", "action_id": "s", "focus_on_load": False, "placeholder": {
        "type": "plain_text", "text": "Pick", "emoji": True}, "options": [{"text": {"type": "plain_text", "text": "A"},
                                                                          "value": "a", "description": {
                                                                              "type": "plain_text", "text": "d"}}],
        "confirm": {"title": {"type": "plain_text", "text": "Sure?"}, "text": {"type": "plain_text", "text": "y"},
                    "confirm": {"type": "plain_text", "text": "Yes"}, "deny": {"type": "plain_text", "text": "No"}}}
    ok = [{"type": "section", "block_id": "b", "expand": True, "text": {"type": "mrkdwn", "text": "x", "verbatim": True},
           "accessory": select}, {"type": "actions", "elements": [{**button, "style": "primary", "value": "v"}]}]
    assert c.chat_postMessage(channel="C0OPEN", text="x", blocks=ok)["ok"]
