"""Per-team permissions ([teams.permissions]) through the real endpoint, database and fake Slack.

Who may claim, resolve, reassign and reopen; refusals are ephemeral and say why; nothing changes.
"""

from __future__ import annotations

import copy
import json

from sqlalchemy import func, select

from bot.slack.ids import ActionId, InputId, OverflowChoice, ViewId, item_value, overflow_value
from models import FollowUp, FollowUpEvent
from tests.conftest import TEST_CONFIG, make_config, wait_for

NPS_2 = {"id": "auth-1", "kind": "nps", "score": 2, "comment": "Nobody called back.",
         "customer": {"email": "li@acme.example", "name": "Li Wei", "account": "Acme"}}


def _config(**permissions):
    data = copy.deepcopy(TEST_CONFIG)
    data["teams"][0].update(lead="S0LEADS", permissions=permissions)
    data["admins"] = ["U0DAN"]
    return make_config(data)


def _follow_up(app, item_id: int) -> FollowUp:
    with app.runtime.session() as session:
        follow_up = session.scalar(select(FollowUp).where(FollowUp.item_id == item_id))
        session.expunge(follow_up)
        return follow_up


def _event_count(app) -> int:
    with app.runtime.session() as session:
        return session.scalar(select(func.count()).select_from(FollowUpEvent))


def _ephemeral_to(app, user: str, needle: str) -> dict:
    return wait_for(lambda: next((e for e in app.fake.ephemerals() if e.get("user") == user
                                  and needle in json.dumps(e)), None), what=f"an ephemeral to {user}")


def _posted(app) -> tuple[int, dict]:
    item_id = app.post_webhook(NPS_2).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")
    return item_id, post


def test_only_channel_members_may_claim_and_an_outsider_is_told_why(make_app, fake_slack):
    fake_slack.set_channel_members("C0SUCCESS", ["U0ANA", "U0BEN"])
    app = make_app(_config(claim=["channel"]))
    item_id, post = _posted(app)
    events_before = _event_count(app)

    assert app.click(ActionId.CLAIM, item_value(item_id), user="U0CARA", channel="C0SUCCESS",
                     ts=post["ts"]).status_code == 200
    refusal = _ephemeral_to(app, "U0CARA", "can't claim")
    assert "<#C0SUCCESS>" in json.dumps(refusal)
    assert _follow_up(app, item_id).status == "open" and _event_count(app) == events_before

    app.click(ActionId.CLAIM, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    wait_for(lambda: _follow_up(app, item_id).claimed_by == "U0ANA", what="Ana's claim")
    # An admin is never refused, whatever the list says.
    app.click(ActionId.MORE, "", user="U0DAN", channel="C0SUCCESS", ts=post["ts"],
              selected_option=overflow_value(OverflowChoice.UNCLAIM, item_id))
    wait_for(lambda: _follow_up(app, item_id).status == "open", what="the admin's unclaim")


def test_reassign_needs_the_lead_group_and_a_forged_submission_is_refused_too(make_app, fake_slack):
    fake_slack.set_usergroup("S0LEADS", ["U0BEN"])
    app = make_app(_config(reassign=["lead"]))
    item_id, post = _posted(app)
    app.click(ActionId.CLAIM, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    wait_for(lambda: _follow_up(app, item_id).claimed_by == "U0ANA", what="Ana's claim")

    # Cara (not a lead) may neither open the reassign modal nor take Ana's claim off her.
    app.click(ActionId.MORE, "", user="U0CARA", channel="C0SUCCESS", ts=post["ts"],
              selected_option=overflow_value(OverflowChoice.REASSIGN, item_id))
    _ephemeral_to(app, "U0CARA", "can't reassign")
    app.click(ActionId.MORE, "", user="U0CARA", channel="C0SUCCESS", ts=post["ts"],
              selected_option=overflow_value(OverflowChoice.UNCLAIM, item_id))
    _ephemeral_to(app, "U0CARA", "claim off")
    assert not [v for v in app.fake.views() if v.get("callback_id") == ViewId.REASSIGN]
    # A hand-made view_submission (no modal was ever opened for her) is checked again.
    forged = {"type": "modal", "callback_id": ViewId.REASSIGN, "private_metadata": str(item_id),
              "blocks": []}
    values = {InputId.ASSIGNEE: {InputId.ASSIGNEE: {"type": "users_select", "selected_user": "U0CARA"}}}
    answer = app.submit_view(forged, values, user="U0CARA")
    assert answer.json()["response_action"] == "errors"
    assert "can't reassign" in answer.json()["errors"][InputId.ASSIGNEE]
    assert _follow_up(app, item_id).claimed_by == "U0ANA"

    # Ben is in the lead group: the modal opens and his reassignment lands.
    app.click(ActionId.MORE, "", user="U0BEN", channel="C0SUCCESS", ts=post["ts"],
              selected_option=overflow_value(OverflowChoice.REASSIGN, item_id))
    view = wait_for(lambda: [v for v in app.fake.views() if v.get("callback_id") == ViewId.REASSIGN],
                    what="the reassign modal")[-1]["view"]
    values = {InputId.ASSIGNEE: {InputId.ASSIGNEE: {"type": "users_select", "selected_user": "U0CARA"}}}
    app.submit_view(view, values, user="U0BEN")
    wait_for(lambda: _follow_up(app, item_id).claimed_by == "U0CARA", what="the reassignment")


def test_resolve_and_reopen_rules_and_failing_closed_when_slack_cannot_say(make_app, fake_slack):
    # S0GONE does not exist: Slack answers no_such_subteam, so nobody outside `members` can resolve.
    data = copy.deepcopy(TEST_CONFIG)
    data["teams"][0].update(members=["U0ANA"], permissions={"resolve": ["members", "S0GONE"], "reopen": ["admins"]})
    data["admins"] = ["U0DAN"]
    app = make_app(make_config(data))
    item_id, post = _posted(app)

    app.click(ActionId.RESOLVE, item_value(item_id), user="U0BEN", channel="C0SUCCESS", ts=post["ts"])
    refusal = _ephemeral_to(app, "U0BEN", "could not check")
    assert "no_such_subteam" in json.dumps(refusal)
    assert not [v for v in app.fake.views() if v.get("callback_id") == ViewId.RESOLVE]

    app.click(ActionId.RESOLVE, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    view = wait_for(lambda: [v for v in app.fake.views() if v.get("callback_id") == ViewId.RESOLVE],
                    what="the resolve modal")[-1]["view"]
    values = {InputId.OUTCOME: {InputId.OUTCOME: {"type": "static_select", "selected_option": {
        "text": {"type": "plain_text", "text": "Fixed"}, "value": "fixed"}}}}
    app.submit_view(view, values, user="U0ANA")
    wait_for(lambda: _follow_up(app, item_id).status == "resolved", what="Ana's resolution")

    app.click(ActionId.REOPEN, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    _ephemeral_to(app, "U0ANA", "can't reopen")
    assert _follow_up(app, item_id).status == "resolved"
    app.click(ActionId.REOPEN, item_value(item_id), user="U0DAN", channel="C0SUCCESS", ts=post["ts"])
    wait_for(lambda: _follow_up(app, item_id).status == "open", what="the admin's reopen")


def test_a_permission_list_with_an_unknown_word_is_a_config_error():
    data = copy.deepcopy(TEST_CONFIG)
    data["teams"][0]["permissions"] = {"claim": ["everyone"]}
    try:
        make_config(data)
    except Exception as exc:  # noqa: BLE001
        assert "teams[0].permissions.claim[0]" in str(exc)
    else:
        raise AssertionError("an unknown permission word was accepted")


def test_a_refusal_from_the_app_home_arrives_as_a_direct_message(make_app, fake_slack):
    # An App Home click has no channel and no response_url: the reply must still reach the person.
    fake_slack.set_channel_members("C0SUCCESS", ["U0ANA"])
    app = make_app(_config(claim=["channel"]))
    item_id, _post = _posted(app)
    payload = {
        "type": "block_actions", "api_app_id": "A0CXLOOP", "token": "legacy",
        "team": {"id": "T0SANDBOX", "domain": "sandbox"},
        "user": {"id": "U0CARA", "username": "u0cara", "name": "u0cara", "team_id": "T0SANDBOX"},
        "container": {"type": "view", "view_id": "V0HOME"}, "trigger_id": "trigger-home",
        "view": {"id": "V0HOME", "type": "home", "blocks": []},
        "actions": [{"action_id": ActionId.CLAIM, "block_id": "home", "type": "button",
                     "value": item_value(item_id), "action_ts": "1.0"}],
    }
    assert app.post_slack({"payload": json.dumps(payload)}).status_code == 200
    dm = wait_for(lambda: [c for c in app.fake.calls("chat.postMessage")
                           if "can't claim" in json.dumps(c) and "U0CARA" in json.dumps(c)], what="the DM")
    assert dm and _follow_up(app, item_id).status == "open"
