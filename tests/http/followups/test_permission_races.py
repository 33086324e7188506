"""A permission decided on one state must not be applied to another: the state change's
compare-and-set carries what the permission check read (the follow-up's version, and for an unclaim
the claim itself), and the check runs in the change's transaction. Through the real endpoint,
database and fake Slack; the loser is told and nothing changes.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

import bot.followups.permissions
from bot.db import session_scope
from bot.followups import service as followups
from bot.slack.ids import ActionId, OverflowChoice, item_value, overflow_value
from models import FollowUp, FollowUpEvent
from tests.conftest import TEST_CONFIG, make_config, wait_for

NPS_2 = {"id": "race-1", "kind": "nps", "score": 2, "comment": "Nobody called back.",
         "customer": {"email": "li@acme.example", "name": "Li Wei", "account": "Acme"}}


def _config():
    data = copy.deepcopy(TEST_CONFIG)
    # Anyone may claim (and give up their own claim); only the lead group may take a claim off someone.
    data["teams"][0].update(lead="S0LEADS", permissions={"reassign": ["lead"]})
    data["admins"] = ["U0DAN"]
    return make_config(data)


def _follow_up(app, item_id: int) -> FollowUp:
    with app.runtime.session() as session:
        follow_up = session.scalar(select(FollowUp).where(FollowUp.item_id == item_id))
        session.expunge(follow_up)
        return follow_up


def _events(factory, action: str) -> int:
    with session_scope(factory) as session:
        return session.scalar(select(func.count()).select_from(FollowUpEvent).where(FollowUpEvent.action == action))


def _reassign_to_ben(app, item_id: int) -> None:
    """The admin's reassignment, committed by another request's transaction."""
    with app.runtime.session() as session:
        result = followups.reassign_followup(session, item_id=item_id, user_id="U0DAN", assignee="U0BEN",
                                             now=datetime.now(UTC))
    assert result.changed


@pytest.mark.parametrize("when", ["before_the_transaction", "inside_the_transaction"])
def test_an_unclaim_decided_on_anas_claim_cannot_remove_bens(make_app, fake_slack, monkeypatch, when):
    """Ana may give up her own claim but not take Ben's off him. Her unclaim is decided while the item
    is hers; the admin reassigns it to Ben before her change is written. Her unclaim must lose."""
    fake_slack.set_usergroup("S0LEADS", ["U0LEE"])
    app = make_app(_config())
    if when == "inside_the_transaction" and app.runtime.engine.dialect.name == "sqlite":
        pytest.skip("SQLite writers hold the database lock from their first read: nobody can commit in between")
    item_id = app.post_webhook(NPS_2).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")
    app.click(ActionId.CLAIM, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    wait_for(lambda: _follow_up(app, item_id).claimed_by == "U0ANA", what="Ana's claim")

    # The reassignment lands while Ana's permission is being decided: in the check before the
    # transaction (a Slack look-up may take a while there), or in the transaction's own check.
    calls: list[str] = []
    permitted = bot.followups.permissions.is_permitted

    def reassigned_meanwhile(action, user_id, *args, **kwargs):
        calls.append(action)
        answer = permitted(action, user_id, *args, **kwargs)
        if user_id == "U0ANA" and len(calls) == (1 if when == "before_the_transaction" else 2):
            _reassign_to_ben(app, item_id)
        return answer

    monkeypatch.setattr(bot.followups.permissions, "is_permitted", reassigned_meanwhile)
    unclaims = _events(app.runtime.factory, "unclaim")
    assert app.click(ActionId.MORE, "", user="U0ANA", channel="C0SUCCESS", ts=post["ts"],
                     selected_option=overflow_value(OverflowChoice.UNCLAIM, item_id)).status_code == 200

    told = wait_for(lambda: next((e for e in app.fake.ephemerals() if e.get("user") == "U0ANA"), None),
                    what="the answer to Ana")
    assert ("claim off" if when == "before_the_transaction" else "<@U0BEN> has it now") in json.dumps(told)
    follow_up = _follow_up(app, item_id)
    assert (follow_up.status, follow_up.claimed_by) == ("claimed", "U0BEN")
    assert _events(app.runtime.factory, "unclaim") == unclaims
    assert "unclaimed" not in json.dumps(app.fake.thread("C0SUCCESS", post["ts"]))


def _unclaim_option(message: dict | None) -> str | None:
    for block in (message or {}).get("blocks") or []:
        for element in block.get("elements") or []:
            for option in element.get("options") or []:
                if option.get("value", "").startswith(f"{OverflowChoice.UNCLAIM}:"):
                    return option["value"]
    return None


def test_an_unclaim_clicked_on_a_message_from_before_a_reassignment_loses(make_app):
    """Default permissions (anyone may reassign): Ana opens the menu on her claimed item; before she
    picks Unclaim, the item is reassigned to Ben. Her click was prepared on Ana's claim, so it must not
    remove Ben's; she is told who holds it now. Unclaim on the refreshed message still works."""
    app = make_app()
    item_id = app.post_webhook(NPS_2).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")
    app.click(ActionId.CLAIM, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    anas = wait_for(lambda: _unclaim_option(app.fake.message("C0SUCCESS", post["ts"])), what="the Unclaim option")

    _reassign_to_ben(app, item_id)
    bens = wait_for(lambda: (message := app.fake.message("C0SUCCESS", post["ts"])) and "<@U0BEN>" in json.dumps(message)
                    and _unclaim_option(message), what="the message refreshed after the reassignment")
    unclaims = _events(app.runtime.factory, "unclaim")
    app.click(ActionId.MORE, "", user="U0ANA", channel="C0SUCCESS", ts=post["ts"], selected_option=anas)

    told = wait_for(lambda: next((e for e in app.fake.ephemerals() if e.get("user") == "U0ANA"), None),
                    what="the answer to Ana")
    assert "<@U0BEN> has it now" in json.dumps(told)
    assert _follow_up(app, item_id).claimed_by == "U0BEN"
    assert _events(app.runtime.factory, "unclaim") == unclaims

    # A forged or mangled version changes nothing either; the current message's Unclaim goes through.
    app.click(ActionId.MORE, "", user="U0ANA", channel="C0SUCCESS", ts=post["ts"], selected_option=f"{anas}@x")
    app.click(ActionId.MORE, "", user="U0BEN", channel="C0SUCCESS", ts=post["ts"], selected_option=bens)
    wait_for(lambda: _follow_up(app, item_id).status == "open", what="Ben's unclaim")
    assert _events(app.runtime.factory, "unclaim") == unclaims + 1
