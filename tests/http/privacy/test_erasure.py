"""`cxloop forget` and `cxloop purge` against the running app: the database, the audit log, and what
the fake Slack shows after the real worker applies the erasure."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.common.signing import sign_slack_request
from bot.insights.digest import build_daily_digest, digest_message
from bot.insights.scheduled import send_digest
from bot.privacy.erasure import email_hash
from bot.schedule.plans import queue_message
from bot.schedule.reminders import remind_follow_ups
from bot.slack.ids import ActionId, InputId, ViewId, item_value
from models import AuditEntry, Contact, FollowUp, Item, OutboxMessage, Touch
from models.base import utcnow
from models.followup import CLAIMED, RESOLVED
from tests.conftest import SIGNING_SECRET, TEST_CONFIG, make_config, wait_for

COMMENT = "Terrible, the worst: the CSV export lost our whole quarter of invoices. Maya, 555-0199"
NPS_0 = {"id": "gdpr-1", "kind": "nps", "score": 0, "comment": COMMENT,
         "customer": {"email": "Maya.Chen@acme.example", "name": "Maya Chen", "account": "Acme Corp"}}
OTHER = {"id": "gdpr-2", "kind": "nps", "score": 2, "comment": "Onboarding was confusing but the team was nice.",
         "customer": {"email": "sam@globex.example", "name": "Sam Ortiz", "account": "Globex"}}


def _cli(args: list[str], database_url: str):
    env = {"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": None, "CXLOOP_CONFIG": "/nonexistent.toml"}
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def _slack_text(app, channel: str) -> str:
    return json.dumps(app.fake.messages(channel))


def test_forget_erases_the_customer_here_and_in_slack_and_a_resent_webhook_cannot_bring_it_back(
        make_app, database_url):
    app = make_app()
    item_id = app.post_webhook(NPS_0).json()["id"]
    app.post_webhook(OTHER)
    post = next(p for p in app.wait_for_post("C0SUCCESS", 2) if p["metadata"]["event_payload"]["item_id"] == item_id)
    # Resolve with a note that quotes her, so the thread holds her words too.
    app.click(ActionId.RESOLVE, item_value(item_id), user="U0ANA", channel="C0SUCCESS", ts=post["ts"])
    view = wait_for(lambda: [v for v in app.fake.views() if v.get("callback_id") == ViewId.RESOLVE],
                    what="the resolve modal")[-1]["view"]
    app.submit_view(view, {
        InputId.OUTCOME: {InputId.OUTCOME: {"type": "static_select", "selected_option": {
            "text": {"type": "plain_text", "text": "Fixed"}, "value": "fixed"}}},
        InputId.NOTE: {InputId.NOTE: {"type": "plain_text_input", "value": "Maya Chen confirmed on 555-0199"}},
    }, user="U0ANA")
    # Today's digest quotes the day's most critical comment: hers.
    with app.runtime.session() as session:
        session.add(Contact(account_id=_account_id(session), email="maya.chen@acme.example", name="Maya Chen"))
        now = utcnow()
        team = app.runtime.config.team("success")
        from zoneinfo import ZoneInfo
        assert send_digest(session, config=app.runtime.config, team=team, claimed_by="test",
                           day=now.astimezone(ZoneInfo(team.timezone)).date(), now=now)
    app.runtime.queued()
    app.idle()
    assert "555-0199" in _slack_text(app, "C0SUCCESS")
    [digest] = [m for m in app.fake.messages("C0SUCCESS") if (m.get("metadata") or {}).get("event_type") == "cxloop_outbox"]
    assert "CSV export lost" in json.dumps(digest["blocks"])

    # The sentiment reason and theme matches quote her words too.
    assert 'complaint: \\"lost \\u2026 invoices\\", \\"worst\\"' in json.dumps(
        app.fake.message("C0SUCCESS", post["ts"])["blocks"])

    result = _cli(["forget", "maya.chen@ACME.example"], database_url)
    assert result.exit_code == 0 and "Erased 1 item(s) and 1 VIP-book contact(s)" in result.output
    app.runtime.queued()
    wait_for(lambda: "555-0199" not in _slack_text(app, "C0SUCCESS") and "Maya" not in _slack_text(app, "C0SUCCESS"),
             timeout=15, what="every Slack copy of her words and name to be rewritten")
    message = app.fake.message("C0SUCCESS", post["ts"])
    assert "[erased]" in json.dumps(message["blocks"]) and "lost our" not in json.dumps(message["blocks"])
    assert "invoices" not in json.dumps(message["blocks"])  # nor the words the reason and themes quoted
    rewritten = app.fake.message("C0SUCCESS", digest["ts"])
    assert "[erased]" in json.dumps(rewritten["blocks"]) and "CSV export lost" not in json.dumps(rewritten)
    assert "Onboarding was confusing" in _slack_text(app, "C0SUCCESS")  # someone else's item is untouched

    with app.runtime.session() as session:
        item = session.get(Item, item_id)
        assert (item.comment, item.customer_name, item.customer_email) == ("[erased]", None, None)
        assert item.score == 0 and item.category == "detractor"  # the anonymous facts stay for reports
        assert item.sentiment_reason is None and item.theme_matches is None
        assert session.scalar(select(FollowUp.resolution_note).where(FollowUp.item_id == item_id)) == "[erased]"
        assert session.scalar(select(func.count()).select_from(Contact)) == 0
        stored = json.dumps([row.payload for row in session.scalars(select(OutboxMessage))])
        assert "555-0199" not in stored and "maya" not in stored.lower()
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "forget"))
        assert entry.subject == email_hash("maya.chen@acme.example") and "maya" not in json.dumps(entry.detail)

    # The provider resends the original response: it stays erased.
    again = app.post_webhook(NPS_0)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    with app.runtime.session() as session:
        assert session.get(Item, item_id).comment == "[erased]"
    # Forgetting twice changes nothing more, and is audited again.
    second = _cli(["forget", "maya.chen@acme.example"], database_url)
    assert "Nothing stored about that address" in second.output
    with app.runtime.session() as session:
        assert session.scalar(select(func.count()).where(AuditEntry.action == "forget")) == 2


def _account_id(session) -> int:
    from models import Account

    now = utcnow()
    account = Account(name="Acme Corp", search_name="acme corp", vip=True, next_due_at=now, created_at=now, updated_at=now)
    session.add(account)
    session.flush()
    return account.id


def _all_payloads(app) -> str:
    with app.runtime.session() as session:
        return json.dumps([row.payload for row in session.scalars(select(OutboxMessage))])


# Newline and double spaces in the first 40 characters: the digest shows it on one line, so the
# stored comment's text is not what the digest's text contains.
DANA_COMMENT = "Call me\n  at 555-0100 — Dana  Smith. Terrible, awful: the export failed again and again."
DANA = {"id": "gdpr-dana", "kind": "nps", "score": 1, "comment": DANA_COMMENT,
        "customer": {"email": "dana@initech.example", "name": "Dana Smith"}}
DANA_WORDS = ("555-0100", "Dana", "Call me", "export failed")


def _publish_home(app, user: str) -> dict:
    before = len([v for v in app.fake.views() if v["action"] == "publish" and v["user"] == user])
    event = {"token": "legacy", "team_id": "T0SANDBOX", "api_app_id": "A0CXLOOP", "type": "event_callback",
             "event_id": f"Ev0HOME{before}", "event_time": int(time.time()),
             "event": {"type": "app_home_opened", "user": user, "channel": "D0ANA", "tab": "home"}}
    body = json.dumps(event)
    headers = {**sign_slack_request(SIGNING_SECRET, body), "Content-Type": "application/json"}
    assert app.http.post(f"{app.url}/slack/events", content=body, headers=headers).status_code == 200
    return _wait_home(app, user, before + 1)


def _wait_home(app, user: str, count: int) -> dict:
    return wait_for(lambda: (lambda p: len(p) >= count and p[-1])(
        [v for v in app.fake.views() if v["action"] == "publish" and v["user"] == user]),
        what=f"home publish #{count} for {user}")["view"]


def test_forget_rewrites_every_message_that_quoted_her_whatever_the_text_looks_like(make_app, database_url):
    config = make_config({**TEST_CONFIG, "teams": [{**TEST_CONFIG["teams"][0], "members": ["U0ANA"]},
                                                   TEST_CONFIG["teams"][1]]})
    app = make_app(config)
    dana_id = app.post_webhook(DANA).json()["id"]
    app.post_webhook(OTHER)
    posts = app.wait_for_post("C0SUCCESS", 2)
    dana_post = next(p for p in posts if p["metadata"]["event_payload"]["item_id"] == dana_id)
    team = config.team("success")
    with app.runtime.session() as session:  # the daily digest: both unclaimed, her comment the most critical
        now = utcnow()
        assert send_digest(session, config=config, team=team, claimed_by="test",
                           day=now.astimezone(ZoneInfo(team.timezone)).date(), now=now)
    app.runtime.queued()
    app.idle()
    [digest] = [m for m in app.fake.messages("C0SUCCESS") if (m.get("metadata") or {}).get("event_type") == "cxloop_outbox"]
    assert all(word in json.dumps(digest) for word in ("555-0100", "Dana Smith", "Sam Ortiz"))

    # Ana claims it; her follow-up date comes, and the reminder DM names the customer.
    app.click(ActionId.CLAIM, item_value(dana_id), user="U0ANA", channel="C0SUCCESS", ts=dana_post["ts"])
    wait_for(lambda: "Claimed by" in json.dumps(app.fake.message("C0SUCCESS", dana_post["ts"])), what="the claim")
    wednesday = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)  # 13:00 in New York, a workday
    with app.runtime.session() as session:
        session.scalar(select(FollowUp).where(FollowUp.item_id == dana_id)).follow_up_on = wednesday.date()
    with app.runtime.session() as session:
        assert remind_follow_ups(session, config=config, now=wednesday, claimed_by="test") == 1
    app.runtime.queued()
    app.idle()
    [reminder] = app.fake.messages("DU0ANA")
    assert "Dana Smith" in json.dumps(reminder)
    assert "Dana Smith" in json.dumps(_publish_home(app, "U0ANA"))  # her App Home lists the claim
    homes = len([v for v in app.fake.views() if v["action"] == "publish" and v["user"] == "U0ANA"])

    result = _cli(["forget", "dana@initech.example"], database_url)
    assert result.exit_code == 0 and "Erased 1 item(s)" in result.output
    app.runtime.queued()
    app.idle(timeout=15)

    rewritten = json.dumps(app.fake.message("C0SUCCESS", digest["ts"]))
    assert not [word for word in DANA_WORDS if word in rewritten], rewritten
    assert "[erased]" in rewritten and "Sam Ortiz" in rewritten  # someone else's line in the digest stays
    assert "Most critical" in rewritten  # the digest keeps its shape and figures
    dm = json.dumps(app.fake.message("DU0ANA", reminder["ts"]))
    assert not [word for word in DANA_WORDS if word in dm] and "Follow up today" in dm
    home = json.dumps(_wait_home(app, "U0ANA", homes + 1))
    assert not [word for word in DANA_WORDS if word in home] and "Your open claims" in home
    stored = _all_payloads(app)
    assert not [word for word in DANA_WORDS if word.lower() in stored.lower()], "an outbox payload kept her words"
    assert "Sam Ortiz" in stored


def test_forget_still_finds_a_digest_queued_before_quotes_were_recorded(make_app, database_url):
    """A digest stored the old way (no quote record): found by its text, newline and double spaces folded."""
    app = make_app()
    app.post_webhook({**DANA, "customer": {"email": "dana@initech.example", "name": "Dana"}})
    app.wait_for_post("C0SUCCESS")
    team = app.runtime.config.team("success")
    with app.runtime.session() as session:
        now = utcnow()
        text, blocks = digest_message(build_daily_digest(
            session, team=team, day=now.astimezone(ZoneInfo(team.timezone)).date(), now=now))
        queue_message(session, channel=team.channel, text=text, blocks=blocks, now=now)  # as before 0009
    app.runtime.queued()
    app.idle()
    [digest] = [m for m in app.fake.messages("C0SUCCESS") if (m.get("metadata") or {}).get("event_type") == "cxloop_outbox"]
    assert "555-0100" in json.dumps(digest)

    assert _cli(["forget", "dana@initech.example"], database_url).exit_code == 0
    app.runtime.queued()
    app.idle(timeout=15)
    rewritten = json.dumps(app.fake.message("C0SUCCESS", digest["ts"]))
    assert "555-0100" not in rewritten and "Call me" not in rewritten and "[erased]" in rewritten
    assert "555-0100" not in _all_payloads(app)


def _item_at(session, item_id: int, *, days_old: int, status: str | None = None) -> None:
    session.get(Item, item_id).received_at = utcnow() - timedelta(days=days_old)
    if status is not None:
        follow_up = session.scalar(select(FollowUp).where(FollowUp.item_id == item_id))
        follow_up.status = status
        follow_up.claimed_by = "U0ANA"


def test_purge_keeps_open_and_claimed_items_and_each_accounts_latest_touch_and_says_what_it_deletes(
        make_app, database_url):
    app = make_app(worker=False)
    ids = [app.post_webhook({**OTHER, "id": f"old-{n}"}).json()["id"] for n in range(3)]
    resolved, claimed, still_open = ids
    new_id = app.post_webhook(NPS_0).json()["id"]
    old = utcnow() - timedelta(days=500)
    with app.runtime.session() as session:
        _item_at(session, resolved, days_old=401, status=RESOLVED)
        _item_at(session, claimed, days_old=402, status=CLAIMED)
        _item_at(session, still_open, days_old=403)
        account_id = _account_id(session)
        touches = [Touch(account_id=account_id, actor="U0ANA", channel="call", note=f"touch {n}",
                         touched_at=old + timedelta(days=n), created_at=old + timedelta(days=n)) for n in range(3)]
        session.add_all(touches)
        session.flush()
        latest_touch = touches[-1].id

    asked = CliRunner().invoke(main, ["purge", "--older-than", "400d"], input="n\n", catch_exceptions=False,
                               env={"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": None,
                                    "CXLOOP_CONFIG": "/nonexistent.toml"})
    assert asked.exit_code == 1 and "Delete them?" in asked.output
    assert "1 resolved items" in asked.output and "2 touch(es)" in asked.output
    with app.runtime.session() as session:  # refused: nothing went
        assert session.scalar(select(func.count()).select_from(Item)) == 4
        assert session.scalar(select(func.count()).select_from(Touch)) == 3

    first = _cli(["purge", "--older-than", "400d", "--yes"], database_url)
    assert first.exit_code == 0 and "Purged before" in first.output and "1 item(s)" in first.output
    with app.runtime.session() as session:
        assert session.get(Item, resolved) is None
        assert {claimed, still_open, new_id} <= set(session.scalars(select(Item.id)))
        assert list(session.scalars(select(Touch.id))) == [latest_touch]

    everything = _cli(["purge", "--older-than", "400d", "--include-open", "--yes"], database_url)
    assert "2 items (open and claimed included)" in everything.output and "2 item(s)" in everything.output
    with app.runtime.session() as session:
        assert list(session.scalars(select(Item.id))) == [new_id]
        assert list(session.scalars(select(Touch.id))) == [latest_touch]
        assert [e.detail["items"] for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "purge").order_by(AuditEntry.id))] == [1, 2]


def test_forget_rewrites_a_vip_card_shared_in_the_channel(make_app, database_url):
    """`/vip` → Share in channel posts the account card, with her comment, for everyone: erasure reaches it."""
    app = make_app()
    dana_id = app.post_webhook(DANA).json()["id"]
    app.wait_for_post("C0SUCCESS")
    with app.runtime.session() as session:
        account_id = _account_id(session)
        session.get(Item, dana_id).account_id = account_id
    before = len(app.fake.messages("C0SUCCESS"))
    response = app.click(ActionId.VIP_SHARE, f"account:{account_id}", user="U0ANA", channel="C0SUCCESS",
                         ts="1700000000.000100")
    assert response.status_code == 200
    card = wait_for(lambda: len(app.fake.messages("C0SUCCESS")) > before and app.fake.messages("C0SUCCESS")[-1],
                    what="the shared card")
    assert "Acme Corp" in json.dumps(card) and "555-0100" in json.dumps(card)

    result = _cli(["forget", "dana@initech.example"], database_url)
    assert result.exit_code == 0, result.output
    app.runtime.queued()
    app.idle(timeout=15)
    shared = json.dumps(app.fake.message("C0SUCCESS", card["ts"]))
    assert not [word for word in DANA_WORDS if word in shared], shared
    assert not [word for word in DANA_WORDS if word.lower() in _all_payloads(app).lower()]
