"""The core loop end to end: signed webhook → stored → posted to the fake Slack → claimed/resolved.

Everything goes through the real HTTP endpoints of the app served by uvicorn, a real database
(SQLite and Postgres) and the fake Slack Web API server.
"""

from __future__ import annotations

import json
import time

from bot.slack.ids import ActionId, InputId, OverflowChoice, ViewId, item_value, overflow_value
from tests.conftest import wait_for

NPS_3 = {
    "id": "resp-1001", "kind": "nps", "score": 3,
    "comment": "Support took four days to answer and the app is slow.",
    "customer": {"email": "maya@acme.example", "name": "Maya Chen", "account": "Acme Corp", "plan": "enterprise"},
    "url": "https://surveys.example.com/r/1001",
}


def _buttons(message: dict) -> dict[str, dict]:
    return {element["action_id"]: element for block in message["blocks"] if block["type"] == "actions"
            for element in block["elements"]}


def _all_text(message: dict) -> str:
    return json.dumps(message["blocks"]) + message.get("text", "")


def test_detractor_is_posted_once_to_its_route_with_claim_and_resolve(make_app):
    app = make_app()
    response = app.post_webhook(NPS_3)
    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    [post] = app.wait_for_post("C0SUCCESS")
    buttons = _buttons(post)
    assert ActionId.CLAIM in buttons and ActionId.RESOLVE in buttons
    assert "Maya Chen" in _all_text(post) and "detractors to success" in _all_text(post)
    assert post["metadata"]["event_payload"]["item_id"] == response.json()["id"]

    for _ in range(5):
        again = app.post_webhook(NPS_3)
        assert again.status_code == 200
        assert again.json() == {"id": response.json()["id"], "status": "duplicate", "updated": False}
    app.idle()
    time.sleep(0.3)
    assert len(app.posts("C0SUCCESS")) == 1
    assert app.fake.messages("C0SUPPORT") == []


def test_claim_is_acked_fast_and_the_first_click_wins(make_app):
    app = make_app()
    app.post_webhook(NPS_3)
    [post] = app.wait_for_post("C0SUCCESS")
    value = _buttons(post)[ActionId.CLAIM]["value"]

    # Slack answering slowly must not slow the ack: the ack is sent before any Slack call.
    app.fake.set_faults(latency_s=1.5)
    started = time.monotonic()
    ack = app.click(ActionId.CLAIM, value, user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    assert ack.status_code == 200
    assert time.monotonic() - started < 1.0

    def claimed_message():
        message = app.fake.message("C0SUCCESS", post["ts"])
        return message if "Claimed by <@U0ANA>" in _all_text(message) else None
    message = wait_for(claimed_message, what="the message to show the claimer")
    app.fake.set_faults()
    assert ActionId.CLAIM not in _buttons(message)
    wait_for(lambda: any("<@U0ANA> claimed" in json.dumps(m) for m in app.fake.thread("C0SUCCESS", post["ts"])),
             what="a thread reply logging the claim")

    second = app.click(ActionId.CLAIM, value, user="U0BEN", channel="C0SUCCESS", ts=post["ts"])
    assert second.status_code == 200
    ephemeral = wait_for(lambda: [e for e in app.fake.ephemerals("C0SUCCESS") if e.get("user") == "U0BEN"],
                         what="an ephemeral for the second clicker")
    assert "Already claimed by <@U0ANA>" in ephemeral[-1]["text"]
    app.idle()
    assert "Claimed by <@U0ANA>" in _all_text(app.fake.message("C0SUCCESS", post["ts"]))


def test_resolve_opens_a_modal_and_the_submission_resolves_with_a_thread_note(make_app):
    app = make_app()
    app.post_webhook(NPS_3)
    [post] = app.wait_for_post("C0SUCCESS")
    value = _buttons(post)[ActionId.RESOLVE]["value"]

    assert app.click(ActionId.RESOLVE, value, user="U0CARA", channel="C0SUCCESS", ts=post["ts"]).status_code == 200
    opened = wait_for(lambda: [v for v in app.fake.views() if v["action"] == "open"], what="views.open")
    view = opened[-1]["view"]
    assert view["callback_id"] == ViewId.RESOLVE

    missing = app.submit_view(view, {}, user="U0CARA")
    assert missing.json()["response_action"] == "errors" and InputId.OUTCOME in missing.json()["errors"]

    values = {
        InputId.OUTCOME: {InputId.OUTCOME: {"type": "static_select", "selected_option": {
            "text": {"type": "plain_text", "text": "Fixed"}, "value": "fixed"}}},
        InputId.NOTE: {InputId.NOTE: {"type": "plain_text_input", "value": "Called Maya; <!channel> fixed."}},
    }
    assert app.submit_view(view, values, user="U0CARA").status_code == 200
    message = wait_for(lambda: (m := app.fake.message("C0SUCCESS", post["ts"])) and
                       "Resolved by <@U0CARA>" in _all_text(m) and m, what="the resolved message")
    assert "Fixed" in _all_text(message)
    assert ActionId.CLAIM not in _buttons(message) and ActionId.REOPEN in _buttons(message)
    thread = wait_for(lambda: [m for m in app.fake.thread("C0SUCCESS", post["ts"]) if "Called Maya" in json.dumps(m)],
                      what="the resolution note in the thread")
    assert "<!channel>" not in json.dumps(thread)

    # Reopen puts the buttons back.
    app.click(ActionId.REOPEN, value, user="U0CARA", channel="C0SUCCESS", ts=post["ts"])
    wait_for(lambda: ActionId.CLAIM in _buttons(app.fake.message("C0SUCCESS", post["ts"])), what="reopened")


def test_overflow_unclaim_and_note(make_app):
    app = make_app()
    item_id = app.post_webhook(NPS_3).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")
    app.click(ActionId.CLAIM, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    wait_for(lambda: "Claimed by" in _all_text(app.fake.message("C0SUCCESS", post["ts"])), what="claimed")
    app.click(ActionId.MORE, "", user="U0ANA", channel="C0SUCCESS", ts=post["ts"],
              selected_option=overflow_value(OverflowChoice.UNCLAIM, item_id))
    wait_for(lambda: ActionId.CLAIM in _buttons(app.fake.message("C0SUCCESS", post["ts"])), what="unclaimed")

    app.click(ActionId.MORE, "", user="U0ANA", channel="C0SUCCESS", ts=post["ts"],
              selected_option=overflow_value(OverflowChoice.NOTE, item_id))
    view = wait_for(lambda: [v for v in app.fake.views() if v.get("callback_id") == ViewId.NOTE],
                    what="note modal")[-1]["view"]
    values = {InputId.NOTE: {InputId.NOTE: {"type": "plain_text_input", "value": "Left a voicemail."}}}
    app.submit_view(view, values, user="U0ANA")
    wait_for(lambda: any("Left a voicemail." in json.dumps(m) for m in app.fake.thread("C0SUCCESS", post["ts"])),
             what="the note in the thread")


def test_refused_webhooks_store_and_post_nothing(make_app):
    app = make_app()
    body = json.dumps(NPS_3).encode()
    url = f"{app.url}/webhooks/generic"
    assert app.http.post(url, content=body).status_code == 401
    assert app.post_webhook(NPS_3, secret="wrong-secret").status_code == 401
    stale = app.post_webhook(NPS_3, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401 and "seconds" in stale.json()["error"]
    truncated = app.post_webhook(body[:-10])
    assert truncated.status_code == 400
    bad_score = app.post_webhook({**NPS_3, "id": "resp-42", "score": 42})
    assert bad_score.status_code == 422 and bad_score.json()["field"] == "score"
    assert "score" in bad_score.json()["error"]
    assert app.post_webhook({"kind": "nps", "score": 5}).json()["field"] == "id"
    assert app.post_webhook(NPS_3, source="nope").status_code == 404
    huge = app.post_webhook({**NPS_3, "id": "big", "comment": "x" * 1_100_000})
    assert huge.status_code == 413
    time.sleep(0.5)
    assert app.fake.calls("chat.postMessage") == []
    ready = app.http.get(f"{app.url}/readyz").json()
    assert ready["outbox"] == {"backlog": 0, "dead": 0}


def test_a_20000_character_comment_posts_without_invalid_blocks(make_app):
    app = make_app()
    comment = ("The export is broken <!channel> & <@U0BEN> " * 500)[:20_000]
    assert app.post_webhook({**NPS_3, "id": "long", "comment": comment}).status_code == 202
    [post] = app.wait_for_post("C0SUCCESS")
    assert all(call["error"] is None for call in app.fake.calls("chat.postMessage"))
    assert "<!channel>" not in _all_text(post) and "<@U0BEN>" not in _all_text(post)
    assert "…" in _all_text(post)


def test_an_edited_response_updates_its_message_instead_of_posting_again(make_app):
    app = make_app()
    first = app.post_webhook({**NPS_3, "comment": None})
    [post] = app.wait_for_post("C0SUCCESS")
    edited = app.post_webhook({**NPS_3, "comment": "Actually the billing page double-charged us."})
    assert edited.status_code == 200
    assert edited.json() == {"id": first.json()["id"], "status": "duplicate", "updated": True}
    wait_for(lambda: "double-charged" in _all_text(app.fake.message("C0SUCCESS", post["ts"])),
             what="the message to show the new comment")
    assert len(app.posts("C0SUCCESS")) == 1


def test_slack_down_loses_nothing_and_posts_each_item_once(make_app):
    app = make_app()
    app.fake.stop()
    ids = []
    for n in range(5):
        response = app.post_webhook({**NPS_3, "id": f"down-{n}"})
        assert response.status_code == 202
        ids.append(response.json()["id"])
    time.sleep(1.5)
    app.fake.start()
    posts = app.wait_for_post("C0SUCCESS", count=5, timeout=30)
    app.idle(timeout=30)
    time.sleep(0.5)
    posted_ids = sorted(m["metadata"]["event_payload"]["item_id"] for m in app.posts("C0SUCCESS"))
    assert posted_ids == sorted(ids)
    assert len(posts) == 5


def test_rate_limits_and_server_errors_are_retried_until_delivered(make_app):
    app = make_app()
    # 20 % of calls fail, as in the reliability issue: half 429 (Retry-After 1 s), half 500.
    app.fake.set_faults(rate_429=0.1, rate_500=0.1, retry_after_s=1, seed=7)
    ids = [app.post_webhook({**NPS_3, "id": f"flaky-{n}"}).json()["id"] for n in range(6)]
    app.wait_for_post("C0SUCCESS", count=6, timeout=90)
    app.idle(timeout=60)
    posted = sorted(m["metadata"]["event_payload"]["item_id"] for m in app.posts("C0SUCCESS"))
    assert posted == sorted(ids)


def test_a_post_that_reached_slack_but_was_not_recorded_is_not_posted_again(make_app):
    """Crash between chat.postMessage and recording its ts: the retry finds the post by its metadata."""
    from sqlalchemy import update

    from models import OutboxMessage, SlackMessage

    app = make_app(worker=False)
    item_id = app.post_webhook(NPS_3).json()["id"]
    # What the crashed attempt did: it posted (with our metadata) and had leased the row once.
    app.runtime.client.chat_postMessage(channel="C0SUCCESS", text="item",
                                        metadata={"event_type": "cxloop_item", "event_payload": {"item_id": item_id}})
    with app.runtime.session() as session:
        session.execute(update(OutboxMessage).values(attempts=1))
    from bot.delivery.worker import DeliveryWorker

    worker = DeliveryWorker(app.runtime.factory, app.runtime.client)
    wait_for(lambda: worker.run_once() == 0 and _pending(app) == 0, what="delivery")
    worker.stop()
    assert len(app.posts("C0SUCCESS")) == 1
    with app.runtime.session() as session:
        assert session.query(SlackMessage).filter_by(item_id=item_id).count() == 1


def _pending(app) -> int:
    from bot.delivery.outbox import outbox_counts

    with app.runtime.session() as session:
        return outbox_counts(session)["pending"]


def test_escalations_route_to_support_and_mention_its_group(make_app):
    app = make_app()
    response = app.post_webhook({"id": "esc-1", "kind": "escalation", "subject": "Checkout outage", "priority": "high",
                                 "customer": {"email": "ops@globex.example"}})
    assert response.status_code == 202
    [post] = app.wait_for_post("C0SUPPORT")
    assert "Checkout outage" in _all_text(post)
    wait_for(lambda: any("<!subteam^S0ONCALL>" in json.dumps(m) for m in app.fake.thread("C0SUPPORT", post["ts"])),
             what="the team mention in the thread")


def test_unsigned_or_wrongly_signed_slack_requests_are_refused(make_app):
    app = make_app()
    item_id = app.post_webhook(NPS_3).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")
    payload = {"type": "block_actions", "user": {"id": "U0ANA"}, "actions": [
        {"action_id": ActionId.CLAIM, "value": item_value(item_id)}], "channel": {"id": "C0SUCCESS"}}
    from urllib.parse import urlencode

    unsigned = app.http.post(f"{app.url}/slack/events", content=urlencode({"payload": json.dumps(payload)}),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status_code == 401
    assert app.click(ActionId.CLAIM, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"]) \
        .status_code == 200
    forged = app.post_slack({"payload": json.dumps(payload)}, secret="not-the-secret")
    assert forged.status_code == 401


def test_slash_command_answers_ephemerally(make_app):
    app = make_app()
    item_id = app.post_webhook(NPS_3).json()["id"]
    app.post_webhook({**NPS_3, "id": "promoter", "score": 10, "comment": "Love it"})
    [post, _] = app.wait_for_post("C0SUCCESS", count=2)
    app.click(ActionId.CLAIM, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    wait_for(lambda: "Claimed by" in _all_text(app.fake.message("C0SUCCESS", post["ts"])), what="claimed")

    mine = app.slash("mine", user="U0ANA", channel="C0SUCCESS").json()
    assert mine["response_type"] == "ephemeral" and "Maya Chen" in mine["text"]
    stats = app.slash("stats 30d", user="U0ANA", channel="C0SUCCESS").json()["text"]
    assert "NPS *+0* from 2 responses" in stats and "claimed 1" in stats
    assert "open 0, no follow-up needed 1" in stats  # the promoter waits for nobody
    open_items = app.slash("open", user="U0BEN", channel="C0SUCCESS")
    assert open_items.json()["response_type"] == "ephemeral"
    assert open_items.json()["text"] == "Nothing unclaimed for success. 🎉"
    assert "/cxloop mine" in app.slash("dance", user="U0BEN", channel="C0SUCCESS").json()["text"]


def test_delivery_paces_each_channel_to_slacks_limit_without_surplus_429s(make_app):
    """The fake enforces Slack's 1 message/second/channel: the worker's pacing stays under it."""
    config_data = {
        "teams": [{"name": "success", "channel": "C0SUCCESS"}, {"name": "support", "channel": "C0SUPPORT"}],
        "sources": [{"name": "generic", "type": "generic", "secret_env": "GENERIC_WEBHOOK_SECRET"}],
        "routes": [{"name": "escalations", "when": {"kind": "escalation"}, "team": "support"}],
    }
    from tests.conftest import make_config

    app = make_app(make_config(config_data), channel_interval=1.0)
    app.fake.enforce_channel_rate(1.0)
    for n in range(3):
        app.post_webhook({**NPS_3, "id": f"pace-nps-{n}"})
        app.post_webhook({"id": f"pace-esc-{n}", "kind": "escalation", "subject": f"Outage {n}"})
    app.wait_for_post("C0SUCCESS", count=3, timeout=20)
    app.wait_for_post("C0SUPPORT", count=3, timeout=20)
    assert [c for c in app.fake.calls("chat.postMessage") if c["status"] == 429] == []


def test_app_home_lists_my_claims(make_app):
    app = make_app()
    item_id = app.post_webhook(NPS_3).json()["id"]
    [post] = app.wait_for_post("C0SUCCESS")
    app.click(ActionId.CLAIM, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    wait_for(lambda: "Claimed by" in _all_text(app.fake.message("C0SUCCESS", post["ts"])), what="claimed")
    event = {"token": "legacy", "team_id": "T0SANDBOX", "api_app_id": "A0CXLOOP", "type": "event_callback",
             "event_id": "Ev0HOME", "event_time": int(time.time()),
             "event": {"type": "app_home_opened", "user": "U0ANA", "channel": "D0ANA", "tab": "home"}}
    body = json.dumps(event)
    from bot.common.signing import sign_slack_request
    from tests.conftest import SIGNING_SECRET

    headers = {**sign_slack_request(SIGNING_SECRET, body), "Content-Type": "application/json"}
    assert app.http.post(f"{app.url}/slack/events", content=body, headers=headers).status_code == 200
    published = wait_for(lambda: [v for v in app.fake.views() if v["action"] == "publish"], what="views.publish")
    assert published[-1]["user"] == "U0ANA" and "Maya Chen" in json.dumps(published[-1]["view"])


def test_the_message_says_why_the_sentiment_and_themes(make_app):
    """A complaint TextBlob alone called neutral: the message shows the verdict, the cue that decided it,
    and the words each theme matched."""
    app = make_app()
    response = app.post_webhook({
        "id": "resp-voc-1", "kind": "nps", "score": 7,
        "comment": "Onboarding took weeks and support never replied.",
        "customer": {"email": "li@acme.example", "name": "Li Wei"},
    })
    assert response.status_code == 202
    [post] = app.wait_for_post("C0SUCCESS")
    text = json.dumps(post["blocks"], ensure_ascii=False)
    assert "😞 Negative" in text
    assert 'complaint: \\"took weeks\\", \\"never replied\\"' in text
    assert "onboarding (“onboarding”)" in text and "support (“support”)" in text


def test_a_comment_in_another_language_is_not_analysed(make_app):
    app = make_app()
    app.post_webhook({"id": "resp-voc-2", "kind": "nps", "score": 2,
                      "comment": "El soporte no responde y la factura está mal.",
                      "customer": {"email": "ana@acme.example"}})
    [post] = app.wait_for_post("C0SUCCESS")
    assert "Not analysed (language)" in _all_text(post)
