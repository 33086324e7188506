"""'Escalate to CX' from any Slack message: a modal, then a tracked escalation linked to the message."""

from __future__ import annotations

import json

from bot.slack.ids import InputId, ShortcutId, ViewId
from tests.conftest import wait_for


def _shortcut(app, *, channel: str, ts: str, text: str, user: str = "U0BEN"):
    payload = {"type": "message_action", "callback_id": ShortcutId.ESCALATE.value, "trigger_id": app.fake.trigger_id(),
               "team": {"id": "T0SANDBOX", "domain": "sandbox"}, "user": {"id": user, "name": user.lower()},
               "channel": {"id": channel, "name": "sales"}, "message": {"type": "message", "ts": ts, "text": text},
               "response_url": app.fake.response_url(channel), "message_ts": ts, "api_app_id": "A0CXLOOP",
               "token": "legacy"}
    return app.post_slack({"payload": json.dumps(payload)})


def _values(customer: str, severity: str = "urgent", team: str = "support", note: str = "EU checkout is down"):
    def select(value: str) -> dict:
        return {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": value},
                                                             "value": value}}
    return {InputId.CUSTOMER: {InputId.CUSTOMER: {"type": "plain_text_input", "value": customer}},
            InputId.SEVERITY: {InputId.SEVERITY: select(severity)},
            InputId.TEAM: {InputId.TEAM: select(team)},
            InputId.NOTE: {InputId.NOTE: {"type": "plain_text_input", "value": note}}}


def test_a_message_is_escalated_once_to_the_chosen_team_with_its_permalink(make_app):
    app = make_app()
    original = app.runtime.client.chat_postMessage(channel="C0SALES", text="Acme says EU checkout is down!")
    assert _shortcut(app, channel="C0SALES", ts=original["ts"], text="Acme says EU checkout is down!").status_code == 200
    view = wait_for(lambda: [v for v in app.fake.views() if v.get("callback_id") == ViewId.ESCALATE],
                    what="the escalation modal")[-1]["view"]

    missing = app.submit_view(view, _values(customer=""), user="U0BEN").json()
    assert missing["response_action"] == "errors" and InputId.CUSTOMER in missing["errors"]

    assert app.submit_view(view, _values(customer="ops@acme.example"), user="U0BEN").status_code == 200
    [post] = app.wait_for_post("C0SUPPORT")
    text = json.dumps(post["blocks"])
    assert "Escalation" in text and "urgent" in text.lower() and "ops@acme.example" in text
    permalink = f"https://sandbox.slack.local/archives/C0SALES/p{original['ts'].replace('.', '')}"
    assert permalink in text  # the "Open in slack" link goes back to the message
    wait_for(lambda: any("Escalated to" in e["text"] for e in app.fake.ephemerals("C0SALES")), what="confirmation")

    app.submit_view(view, _values(customer="ops@acme.example"), user="U0CARA")
    wait_for(lambda: any("already escalated" in e["text"] for e in app.fake.ephemerals("C0SALES")),
             what="the duplicate notice")
    app.idle()
    assert len(app.posts("C0SUPPORT")) == 1
