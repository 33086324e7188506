"""Every Slack payload handler of the real app under bad input, signed as Slack signs.

block_actions for every action_id the app registers (malformed values, unknown item ids, missing or
wrongly typed container / message / channel), view_submission for every callback_id with malformed
state, /cxloop and /vip with any text, the message shortcut, and app_home_opened with odd users.
Property: Bolt answers below 500 with no traceback, no listener fails after its ack (Bolt would log it
and the user would see nothing), and a click on an item that no longer exists gets a polite ephemeral.
Unsigned or stale Slack requests → 401, and nothing is stored or sent.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
import uuid
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.common.signing import sign_slack_request
from bot.slack.app import MAX_SLACK_BODY_BYTES
from bot.slack.ids import ActionId, InputId, OverflowChoice, ShortcutId, ViewId
from models import FollowUp, FollowUpEvent, Item, OutboxMessage
from tests.conftest import SIGNING_SECRET, wait_for
from tests.fuzz.counting import counted
from tests.fuzz.strategies import budget, mutated, retyped, weird_text

USER = "U0ANA"
CHANNEL = "C0SUCCESS"
MISSING_ITEM = 999_999
SURFACE_CALLS = ("chat.postEphemeral", "response_url", "views.open", "views.publish", "chat.postMessage",
                 "chat.update")


class ListenerErrors(logging.Handler):
    """Exceptions Bolt logs after an ack: the HTTP answer was 200, but the user was left with nothing."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def slack_app(make_app):
    app = make_app(worker=False)
    for external_id in ("fuzz-1", "fuzz-2"):
        response = app.post_webhook({"id": external_id, "kind": "nps", "score": 2, "comment": "<!channel> slow",
                                     "customer": {"email": "ann@acme.example", "name": "<@U0BEN>"}})
        assert response.status_code == 202
    errors = ListenerErrors()
    for name in ("slack_bolt", "cxloop", "bot", "handlers"):
        logging.getLogger(name).addHandler(errors)
    app.listener_errors = errors
    yield app
    for name in ("slack_bolt", "cxloop", "bot", "handlers"):
        logging.getLogger(name).removeHandler(errors)


_requests = itertools.count()


def post(app, form: dict, *, secret: str = SIGNING_SECRET, timestamp: int | None = None,
         headers: dict | None = None):
    # A field of its own makes each request unique, as Slack's are (new trigger_id, timestamp): the same
    # signed bytes sent twice are a replay, acked without running, and Hypothesis repeats examples.
    body = urlencode({**form, "test_request": str(next(_requests))})
    signed = sign_slack_request(secret, body, timestamp)
    signed["Content-Type"] = "application/x-www-form-urlencoded"
    signed.update(headers or {})
    return app.http.post(f"{app.url}/slack/events", content=body, headers=signed)


def post_json(app, payload: dict, **kwargs):
    return post(app, {"payload": json.dumps(payload)}, **kwargs)


def settle(app, before_calls: int, *, expect_call: bool = False) -> None:
    """Listeners run after the ack: give them a moment (until a Slack call when one is expected)."""
    if expect_call:
        wait_for(lambda: len(app.fake.calls()) > before_calls, 5, what="the listener's Slack call")
    time.sleep(0.15)


def assert_answered(app, response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert not app.listener_errors.records, [
        (r.getMessage()[:200], r.exc_info and repr(r.exc_info[1])[:300]) for r in app.listener_errors.records]


def told_user(app, before_calls: int) -> list[dict]:
    return [c for c in app.fake.calls()[before_calls:] if c["method"] in ("chat.postEphemeral", "response_url")]


# --- strategies --------------------------------------------------------------------------------------

VALUES = st.one_of(
    st.sampled_from(["item:1", "item:2", f"item:{MISSING_ITEM}", "item:0", "item:999999999999999999",
                     "item:2147483648", "account:1", "account:99", "item:", ":1", "item:-1", "item:1.5",
                     "item:١", "item:¹", *[f"{c.value}:1" for c in OverflowChoice],
                     *[f"{c.value}:{MISSING_ITEM}" for c in OverflowChoice],
                     *[f"{c.value}:99999999999999" for c in OverflowChoice]]),
    weird_text, retyped)
ACTION_IDS = st.one_of(st.sampled_from([a.value for a in ActionId]), weird_text)


@st.composite
def block_actions(draw) -> dict:
    action_id = draw(ACTION_IDS)
    action: dict = {"action_id": action_id, "block_id": "cx_actions", "type": "button",
                    "action_ts": f"{time.time():.6f}"}
    value = draw(VALUES)
    if draw(st.booleans()):
        action["value"] = value
    else:
        action.update(type="overflow", selected_option={"text": {"type": "plain_text", "text": "x"},
                                                        "value": value})
    payload = {
        "type": "block_actions", "api_app_id": "A0CXLOOP", "token": "legacy",
        "team": {"id": "T0SANDBOX", "domain": "sandbox"},
        "user": {"id": USER, "username": "ana", "name": "ana", "team_id": "T0SANDBOX"},
        "container": {"type": "message", "message_ts": "1.000001", "channel_id": CHANNEL, "is_ephemeral": False},
        "trigger_id": f"trigger-{uuid.uuid4().hex}", "channel": {"id": CHANNEL, "name": "cx"},
        "message": {"ts": "1.000001", "type": "message", "text": "item"},
        "response_url": "RESPONSE_URL", "actions": [action],
    }
    # Everything but the routing keys (type, action_id) may be missing or of the wrong type.
    payload = draw(mutated(payload))
    if not isinstance(payload, dict):
        payload = {}
    payload["type"] = "block_actions"
    if not isinstance(payload.get("actions"), list) or not payload["actions"] or not isinstance(
            payload["actions"][0], dict):
        payload["actions"] = [action]
    payload["actions"][0]["action_id"] = action_id
    return payload


def view_values(callback_id: str):
    block = st.fixed_dictionaries({}, optional={
        "value": retyped, "selected_option": st.one_of(retyped, st.fixed_dictionaries({"value": VALUES})),
        "selected_user": st.one_of(weird_text, retyped, st.just("U0BEN")),
        "selected_date": st.one_of(weird_text, st.sampled_from(["2030-01-01", "2030-02-30", "0001-01-01"])),
        "type": weird_text})
    inputs = st.dictionaries(st.one_of(st.sampled_from([i.value for i in InputId]), weird_text),
                             st.one_of(st.dictionaries(st.one_of(st.sampled_from([i.value for i in InputId]),
                                                                 weird_text), st.one_of(block, retyped),
                                                       max_size=2), retyped), max_size=4)
    return st.one_of(inputs, retyped)


@st.composite
def view_submissions(draw) -> dict:
    callback_id = draw(st.sampled_from([v.value for v in ViewId]))
    metadata = draw(st.one_of(st.sampled_from(["1", "2", str(MISSING_ITEM), "", "99999999999999999",
                                               '{"channel": "C0SUCCESS", "ts": "1.000001"}',
                                               '{"channel": 5}', "[]", "null"]), weird_text, retyped))
    view = {"id": "V0FUZZ", "type": "modal", "callback_id": callback_id, "private_metadata": metadata,
            "state": {"values": draw(view_values(callback_id))}}
    payload = {"type": "view_submission", "api_app_id": "A0CXLOOP", "token": "legacy",
               "team": {"id": "T0SANDBOX", "domain": "sandbox"},
               "user": {"id": USER, "username": "ana", "name": "ana", "team_id": "T0SANDBOX"},
               "trigger_id": "trigger-view", "view": view}
    payload = draw(mutated(payload)) if draw(st.integers(0, 3)) == 0 else payload
    if not isinstance(payload, dict):
        payload = {}
    payload["type"] = "view_submission"
    if not isinstance(payload.get("view"), dict):
        payload["view"] = {}
    payload["view"]["callback_id"] = callback_id
    return payload


# --- properties ------------------------------------------------------------------------------------------

@settings(max_examples=budget(60))
@given(payload=block_actions())
@counted
def test_block_actions_with_bad_values_never_fail(slack_app, payload):
    slack_app.listener_errors.records.clear()
    if payload.get("response_url") == "RESPONSE_URL":
        payload["response_url"] = slack_app.fake.response_url(f"{CHANNEL}:1.000001")
    before = len(slack_app.fake.calls())
    response = post_json(slack_app, payload)
    settle(slack_app, before)
    assert_answered(slack_app, response)


@pytest.mark.parametrize("action_id", [ActionId.CLAIM, ActionId.REOPEN, ActionId.RESOLVE, ActionId.HOME_RESOLVE,
                                       ActionId.REPLY, ActionId.MORE])
def test_a_click_on_an_item_that_no_longer_exists_is_told_politely(slack_app, action_id):
    value = (f"{OverflowChoice.UNCLAIM.value}:{MISSING_ITEM}" if action_id == ActionId.MORE
             else f"item:{MISSING_ITEM}")
    before = len(slack_app.fake.calls())
    response = slack_app.click(action_id.value, value if action_id != ActionId.MORE else "x", user=USER,
                               channel=CHANNEL, ts="1.000001",
                               selected_option=value if action_id == ActionId.MORE else None)
    settle(slack_app, before, expect_call=True)
    assert_answered(slack_app, response)
    told = told_user(slack_app, before)
    assert told, slack_app.fake.calls()[before:]
    assert any("no longer exists" in (c["args"].get("text") or "") or "cannot be reached" in
               (c["args"].get("text") or "") for c in told), told


@settings(max_examples=budget(60))
@given(payload=view_submissions())
@counted
def test_view_submissions_with_malformed_state_never_fail(slack_app, payload):
    slack_app.listener_errors.records.clear()
    before = len(slack_app.fake.calls())
    response = post_json(slack_app, payload)
    settle(slack_app, before)
    assert_answered(slack_app, response)
    if response.headers.get("content-type", "").startswith("application/json"):
        answer = response.json()
        if answer.get("response_action") == "errors":
            assert answer["errors"] and all(isinstance(v, str) and v for v in answer["errors"].values())


@settings(max_examples=budget(40))
@given(command=st.sampled_from(["/cxloop", "/vip"]),
       text=st.one_of(weird_text, st.builds(lambda verb, rest: f"{verb} {rest}", st.sampled_from(
           ["mine", "open", "stats", "help", "touch", "find", "owner", "add", "import", "7d", "snooze"]), weird_text)))
@counted
def test_slash_commands_with_any_text_answer_politely(slack_app, command, text):
    slack_app.listener_errors.records.clear()
    before = len(slack_app.fake.calls())
    text = text.encode("utf-8", "replace").decode("utf-8")[:4000]  # Slack caps a command's text
    response = post(slack_app, {
        "token": "legacy", "team_id": "T0SANDBOX", "team_domain": "sandbox", "channel_id": CHANNEL,
        "channel_name": "cx", "user_id": USER, "user_name": "ana", "command": command, "text": text,
        "api_app_id": "A0CXLOOP", "response_url": slack_app.fake.response_url("cmd"), "trigger_id": f"trigger-{uuid.uuid4().hex}"})
    settle(slack_app, before)
    assert_answered(slack_app, response)
    assert response.status_code == 200
    answer = response.json()
    assert isinstance(answer.get("text"), str) and answer["text"].strip()


@settings(max_examples=budget(20))
@given(shortcut=st.builds(dict, message=st.one_of(retyped, st.fixed_dictionaries(
    {"ts": st.one_of(weird_text, retyped), "text": st.one_of(weird_text, retyped)})),
    channel=st.one_of(retyped, st.fixed_dictionaries({"id": st.one_of(weird_text, retyped)}))))
@counted
def test_message_shortcut_with_odd_messages_never_fails(slack_app, shortcut):
    slack_app.listener_errors.records.clear()
    before = len(slack_app.fake.calls())
    payload = {"type": "message_action", "callback_id": ShortcutId.ESCALATE.value, "trigger_id": f"trigger-{uuid.uuid4().hex}",
               "team": {"id": "T0SANDBOX"}, "user": {"id": USER}, "response_url": slack_app.fake.response_url("sc"),
               **shortcut}
    response = post_json(slack_app, payload)
    settle(slack_app, before)
    assert_answered(slack_app, response)


@settings(max_examples=budget(20))
@given(user=st.one_of(weird_text, retyped, st.just("U0ANA")), tab=st.one_of(st.sampled_from(["home", "messages"]),
                                                                           retyped),
       drop_user=st.booleans())
@counted
def test_app_home_opened_with_odd_users_never_fails(slack_app, user, tab, drop_user):
    slack_app.listener_errors.records.clear()
    before = len(slack_app.fake.calls())
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab,
             "event_ts": f"{time.time():.6f}"}
    if drop_user:
        del event["user"]
    response = app_event(slack_app, event)
    settle(slack_app, before)
    if response.status_code == 413:  # a drawn user id of megabytes: refused by size, before anything is read
        assert len(json.dumps(event)) > MAX_SLACK_BODY_BYTES - 1_000 and "larger than" in response.text
        return
    assert_answered(slack_app, response)
    assert response.status_code == 200


def app_event(app, event: dict, *, headers: dict | None = None, event_id: str | None = None):
    envelope = {"token": "legacy", "team_id": "T0SANDBOX", "api_app_id": "A0CXLOOP", "event": event,
                "type": "event_callback", "event_id": event_id or f"Ev{time.time_ns()}",
                "event_time": int(time.time()), "authorizations": [{"team_id": "T0SANDBOX", "user_id": "U0CXLOOPBOT",
                                                                    "is_bot": True}]}
    body = json.dumps(envelope)
    signed = sign_slack_request(SIGNING_SECRET, body)
    signed["Content-Type"] = "application/json"
    signed.update(headers or {})
    return app.http.post(f"{app.url}/slack/events", content=body, headers=signed)


# --- signatures -------------------------------------------------------------------------------------------

def stored(app) -> tuple[int, ...]:
    with app.runtime.session() as session:
        claimed = session.scalar(select(func.count()).select_from(FollowUp).where(FollowUp.claimed_by.is_not(None)))
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Item, FollowUpEvent, OutboxMessage)) + (claimed,)


@settings(max_examples=budget(15))
@given(how=st.sampled_from(["unsigned", "wrong secret", "stale", "future", "garbled"]),
       kind=st.sampled_from(["claim", "resolve view", "slash", "event"]))
@counted
def test_unsigned_or_stale_slack_requests_are_401_and_change_nothing(slack_app, how, kind):
    before, calls = stored(slack_app), len(slack_app.fake.calls())
    if kind == "claim":
        form = {"payload": json.dumps({"type": "block_actions", "user": {"id": USER}, "channel": {"id": CHANNEL},
                                       "trigger_id": f"trigger-{uuid.uuid4().hex}", "actions": [{"action_id": ActionId.CLAIM.value,
                                                                        "value": "item:1"}]})}
    elif kind == "resolve view":
        form = {"payload": json.dumps({"type": "view_submission", "user": {"id": USER}, "view": {
            "callback_id": ViewId.RESOLVE.value, "private_metadata": "1", "state": {"values": {
                InputId.OUTCOME.value: {InputId.OUTCOME.value: {"selected_option": {"value": "fixed"}}}}}}})}
    elif kind == "slash":
        form = {"command": "/vip", "text": "touch acme call", "user_id": USER, "channel_id": CHANNEL}
    else:
        form = {"payload": json.dumps({"type": "event_callback", "event": {"type": "app_home_opened", "user": USER}})}
    body = urlencode(form)
    now = int(time.time())
    if how == "unsigned":
        headers = {}
    elif how == "wrong secret":
        headers = sign_slack_request("not-the-secret", body)
    elif how == "garbled":
        # The last hex digit changed (a fixed "00" ending left one signature in 256 intact: a flaky pass).
        headers = {k: v[:-1] + ("1" if v[-1] == "0" else "0") if k == "X-Slack-Signature" else v for k, v in
                   sign_slack_request(SIGNING_SECRET, body).items()}
    else:
        # A minute past Slack's five: a slow request must not bring a "future" one back inside the window.
        headers = sign_slack_request(SIGNING_SECRET, body, now + (360 if how == "future" else -360))
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = slack_app.http.post(f"{slack_app.url}/slack/events", content=body, headers=headers)
    assert response.status_code == 401, (how, kind, response.status_code, response.text[:200])
    time.sleep(0.1)
    assert stored(slack_app) == before
    assert [c["method"] for c in slack_app.fake.calls()[calls:]] == []
