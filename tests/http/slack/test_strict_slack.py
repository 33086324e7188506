"""Against the strict fake Slack (scopes from manifest.yml, channel membership, Slack's Block Kit rules):
what a first install in a real workspace would meet."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import select

from bot.common.periods import iso_week_label
from bot.db import session_scope
from bot.delivery.handlers import requeue_dead
from bot.insights.scheduled import send_report
from bot.sandbox.fake_slack import validate_blocks
from bot.schedule.reminders import remind_vip_checkins
from bot.slack.ids import ActionId, InputId
from bot.vip.book import AccountRecord, upsert_account
from models import OutboxMessage
from models.base import utcnow
from models.delivery import DEAD
from tests.conftest import TEST_CONFIG, make_config, wait_for


def test_an_item_in_a_public_channel_never_joined_is_posted_once_when_its_first_answer_was_lost(make_app):
    app = make_app()
    assert "C0SUCCESS" not in app.fake.joined()
    app.fake.set_faults(rate_500_after_effect=1.0, seed=1)  # Slack posts it; cxloop never hears back
    app.post_webhook({"id": "lost-1", "kind": "nps", "score": 2, "comment": "Checkout broke"})
    wait_for(lambda: app.fake.calls("chat.postMessage"), what="the first post")
    app.fake.set_faults()
    app.idle(timeout=20)
    assert len(app.posts("C0SUCCESS")) == 1  # found in history, not posted again
    assert [c["args"]["channel"] for c in app.fake.calls("conversations.join")] == ["C0SUCCESS"]
    with session_scope(app.runtime.factory) as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "post_item")).one()
        assert (row.status, row.last_error) == ("sent", "found in history")


def test_a_check_in_dm_for_25_vips_reaches_slack_once(make_app):
    config = make_config({**TEST_CONFIG, "schedule": {"vip_checkins": 25}})
    app = make_app(config)
    created = datetime(2026, 6, 1, tzinfo=ZoneInfo("UTC"))
    now = datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    with session_scope(app.runtime.factory) as session:
        for n in range(30):
            upsert_account(session, AccountRecord(name=f"Account <{n}>", external_id=f"a{n}", owner="U0ANA",
                                                  cadence_days=10 + n), now=created)
    with session_scope(app.runtime.factory) as session:
        assert remind_vip_checkins(session, config=config, now=now, claimed_by="test") == 1
    app.runtime.queued()
    app.idle(timeout=20)
    [dm] = app.wait_for_post("DU0ANA")
    assert len(dm["blocks"]) <= 50 and validate_blocks(dm["blocks"]) == []
    # 30 are due: 24 with their buttons, and a last line saying 6 more and where they are.
    assert sum(b["type"] == "actions" for b in dm["blocks"]) == 24
    assert "6 more" in dm["blocks"][-1]["elements"][0]["text"]
    with session_scope(app.runtime.factory) as session:
        assert session.scalar(select(OutboxMessage).where(OutboxMessage.status == DEAD)) is None


def test_a_mis_scoped_install_parks_the_chart_at_once_with_the_fix(make_app):
    app = make_app()
    app.fake.set_scopes(app.fake.scopes - {"files:write"})
    from bot.schedule.plans import queue_upload
    from models.base import utcnow
    with session_scope(app.runtime.factory) as session:
        queue_upload(session, channel="C0SUCCESS", content=b"\x89PNG", filename="c.png", title="NPS", comment=None,
                     now=utcnow())
    app.runtime.queued()
    app.idle(timeout=20)
    with session_scope(app.runtime.factory) as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "upload_file")).one()
        assert row.status == DEAD and row.failures == 1  # parked at once, not after 15 retries
        assert row.last_error.startswith("missing_scope files:write:") and "manifest.yml" in row.last_error
    assert len(app.fake.calls("files.getUploadURLExternal")) == 1


def _resolve_modal(app, post, user: str) -> dict:
    value = next(e["value"] for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e.get("action_id") == ActionId.RESOLVE)
    before = len(app.fake.views())
    app.click(ActionId.RESOLVE, value, user=user, channel="C0SUCCESS", ts=post["ts"])
    return wait_for(lambda: len(app.fake.views()) > before and app.fake.views()[-1]["view"], what="the modal")


def test_an_answer_slack_cannot_show_as_an_ephemeral_reaches_the_person_in_the_dm(make_app, fake_slack):
    # Cara reads the public channel without being a member: Slack shows her no ephemeral there.
    fake_slack.set_channel_members("C0SUCCESS", ["U0ANA", "U0BEN"])
    app = make_app()
    app.post_webhook({"id": "both-1", "kind": "nps", "score": 2, "comment": "Checkout broke"})
    [post] = app.wait_for_post("C0SUCCESS")
    ana, cara = _resolve_modal(app, post, "U0ANA"), _resolve_modal(app, post, "U0CARA")
    values = {InputId.OUTCOME: {InputId.OUTCOME: {"type": "static_select", "selected_option": {
        "text": {"type": "plain_text", "text": "Fixed"}, "value": "fixed"}}}}
    assert app.submit_view(ana, values, user="U0ANA").status_code == 200
    wait_for(lambda: "Resolved by" in json.dumps(app.fake.message("C0SUCCESS", post["ts"])), what="Ana's resolve")
    assert app.submit_view(cara, values, user="U0CARA").status_code == 200  # too late: already resolved
    [dm] = app.wait_for_post("DU0CARA")
    assert "Could not resolve this item" in json.dumps(dm) and validate_blocks(dm["blocks"]) == []
    assert [c["error"] for c in app.fake.calls("chat.postEphemeral")] == ["user_not_in_channel"]
    assert app.fake.ephemerals() == []


@pytest.mark.parametrize("kind", ["weekly", "monthly"])
def test_a_report_and_its_chart_reach_slack_once_in_a_channel_never_joined(make_app, kind):
    app = make_app()
    for n, score in enumerate([2, 9, 10, 7, 3, 9]):
        app.post_webhook({"id": f"r{n}", "kind": "nps", "score": score, "comment": f"Checkout <{n}> & export"})
    app.wait_for_post("C0SUCCESS", count=6)
    now = utcnow()
    period = iso_week_label(now.date()) if kind == "weekly" else now.strftime("%Y-%m")
    with session_scope(app.runtime.factory) as session:
        assert send_report(session, config=app.runtime.config, team=app.runtime.config.team("success"), kind=kind,
                           period=period, now=now, claimed_by="test")
    app.runtime.queued()
    app.idle(timeout=20)
    reports = [m for m in app.posts("C0SUCCESS") if "report for success" in m["text"]]
    [report] = reports  # once
    assert validate_blocks(report["blocks"]) == []
    for block in report["blocks"]:
        Block.parse(block).validate_json()
    assert f"{kind.title()} report · success · {period}" in json.dumps(report["blocks"], ensure_ascii=False)
    [chart] = app.fake.files()  # once, a PNG, shared in the team's channel
    assert chart["bytes"].startswith(b"\x89PNG") and chart["channels"] == ["C0SUCCESS"] and chart["alt_txt"] is None
    assert [len(app.fake.calls(m)) for m in ("files.getUploadURLExternal", "files.completeUploadExternal")] == [1, 1]
    assert [c for c in app.fake.calls() if c["error"]] == []  # nothing Slack refused on the way
    assert "C0SUCCESS" not in app.fake.joined()  # chat:write.public and files:write were enough
    with session_scope(app.runtime.factory) as session:
        assert {row.status for row in session.scalars(select(OutboxMessage))} == {"sent"}


def test_an_item_for_a_private_channel_the_bot_was_not_invited_to_is_parked_with_the_fix_then_posted_once(make_app):
    teams = [{**team, "channel": "G0PRIVATE"} if team["name"] == "success" else team for team in TEST_CONFIG["teams"]]
    app = make_app(make_config({**TEST_CONFIG, "teams": teams}))
    app.post_webhook({"id": "priv-1", "kind": "nps", "score": 2, "comment": "Checkout broke"})
    app.idle(timeout=20)
    with session_scope(app.runtime.factory) as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "post_item")).one()
        # chat:write.public covers public channels only: parked at once, saying what the admin does.
        assert (row.status, row.failures) == (DEAD, 1)
        assert row.last_error.startswith("channel_not_found: channel G0PRIVATE") and "/invite @cxloop" in row.last_error
    assert app.fake.messages("G0PRIVATE") == []
    app.fake.join("G0PRIVATE")  # /invite @cxloop, then `cxloop outbox retry`
    with session_scope(app.runtime.factory) as session:
        assert requeue_dead(session, now=utcnow()) == 1
    app.runtime.queued()
    app.idle(timeout=20)
    [post] = app.wait_for_post("G0PRIVATE")
    assert validate_blocks(post["blocks"]) == [] and "Checkout broke" in json.dumps(post["blocks"])
