"""Nothing a person typed is lost (issue 16, point 5), through the real endpoint, database and fake Slack.

A resolve that loses the race keeps its note as a note on the item and says who resolved first; a
refusal of a modal's input (a past follow-up date) is answered inside the modal, which stays open.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from bot.slack.ids import ActionId, InputId, OverflowChoice, ViewId, item_value, overflow_value
from models import FollowUp, FollowUpEvent, OutboxMessage
from tests.conftest import wait_for

NPS_1 = {"id": "lost-1", "kind": "nps", "score": 1, "comment": "Billing charged us twice.",
         "customer": {"email": "li@acme.example", "name": "Li Wei", "account": "Acme"}}


def _posted(app) -> tuple[int, dict]:
    item_id = app.post_webhook(NPS_1).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")
    return item_id, post


def _follow_up(app, item_id: int) -> FollowUp:
    with app.runtime.session() as session:
        follow_up = session.scalar(select(FollowUp).where(FollowUp.item_id == item_id))
        session.expunge(follow_up)
        return follow_up


def _modal(app, callback_id: str, count: int = 1) -> dict:
    """The `count`-th modal opened with this callback id (views.open names no user: it goes by trigger)."""
    return wait_for(lambda: [v for v in app.fake.views() if v["callback_id"] == callback_id][count - 1:],
                    what=f"{callback_id} #{count}")[0]["view"]


def _resolve_values(outcome: str, note: str) -> dict:
    return {InputId.OUTCOME: {InputId.OUTCOME: {"type": "static_select", "selected_option": {
                "text": {"type": "plain_text", "text": outcome}, "value": outcome}}},
            InputId.NOTE: {InputId.NOTE: {"type": "plain_text_input", "value": note}}}


def test_a_resolve_that_loses_the_race_keeps_its_note_and_says_who_won(make_app):
    app = make_app()
    item_id, post = _posted(app)
    # Both open the resolve modal before either submits.
    app.click(ActionId.RESOLVE, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    ana_view = _modal(app, ViewId.RESOLVE)
    app.click(ActionId.RESOLVE, item_value(item_id), user="U0BEN", channel="C0SUCCESS", ts=post["ts"])
    ben_view = _modal(app, ViewId.RESOLVE, 2)

    assert app.submit_view(ana_view, _resolve_values("fixed", "Refunded the double charge."),
                           user="U0ANA").status_code == 200
    wait_for(lambda: _follow_up(app, item_id).status == "resolved", what="Ana's resolution")
    answer = app.submit_view(ben_view, _resolve_values("contacted", "Called Li: wants a credit note too."),
                             user="U0BEN")
    assert answer.status_code == 200

    # Ben is told who won and that his note was kept.
    told = wait_for(lambda: next((e for e in app.fake.ephemerals() if e.get("user") == "U0BEN"), None),
                    what="an ephemeral to Ben")
    assert "<@U0ANA> resolved it first; your note was kept as a note" in json.dumps(told)
    # Ana's resolution stands; Ben's note is on the item and in its thread.
    follow_up = _follow_up(app, item_id)
    assert (follow_up.resolved_by, follow_up.outcome) == ("U0ANA", "fixed")
    assert follow_up.resolution_note == "Refunded the double charge."
    with app.runtime.session() as session:
        notes = session.scalars(select(FollowUpEvent).where(FollowUpEvent.follow_up_id == follow_up.id,
                                                            FollowUpEvent.action == "note")).all()
        assert [(n.actor, n.detail["note"]) for n in notes] == [("U0BEN", "Called Li: wants a credit note too.")]
    app.idle()
    thread = app.fake.thread("C0SUCCESS", post["ts"])
    assert any("credit note too" in json.dumps(m) and "<@U0BEN>" in json.dumps(m) for m in thread)


def test_a_past_follow_up_date_is_refused_inside_the_modal_and_nothing_changes(make_app):
    app = make_app()
    item_id, post = _posted(app)
    app.click(ActionId.MORE, "", user="U0ANA", channel="C0SUCCESS", ts=post["ts"],
              selected_option=overflow_value(OverflowChoice.FOLLOW_UP, item_id))
    view = _modal(app, ViewId.FOLLOW_UP)
    app.idle()
    with app.runtime.session() as session:
        events = session.scalar(select(func.count()).select_from(FollowUpEvent))
        outbox = session.scalar(select(func.count()).select_from(OutboxMessage))
    ephemerals, messages = len(app.fake.ephemerals()), len(app.fake.messages("C0SUCCESS"))

    past = (app.runtime.now().date() - timedelta(days=5)).isoformat()
    values = {InputId.FOLLOW_UP_ON: {InputId.FOLLOW_UP_ON: {"type": "datepicker", "selected_date": past}}}
    answer = app.submit_view(view, values, user="U0ANA")

    assert answer.status_code == 200
    body = answer.json()
    assert body["response_action"] == "errors"
    assert "today or a later date" in body["errors"][InputId.FOLLOW_UP_ON]
    assert _follow_up(app, item_id).follow_up_on is None
    with app.runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(FollowUpEvent)) == events
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == outbox
    app.idle()
    assert len(app.fake.ephemerals()) == ephemerals and len(app.fake.messages("C0SUCCESS")) == messages
