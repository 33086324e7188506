"""Today's VIP picks, through `/vip picks`, the morning DM and App Home: risk and value first, each with why."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.common.signing import sign_slack_request
from bot.db import session_scope
from bot.schedule.reminders import remind_vip_checkins
from bot.vip.book import AccountRecord, upsert_account
from models import Account
from tests.conftest import SIGNING_SECRET, make_config, wait_for
from tests.http.vip.test_commands import VIP_CONFIG, _slash_vip


def _book(app) -> None:
    """Ana owns four accounts. Quiet Co slipped 20 days; Acme was touched yesterday but has an unclaimed
    NPS 1, renews in 30 days and is the largest; Snoozed Ltd is overdue but snoozed; Calm Inc is not due."""
    now = datetime.now(UTC)
    # Renewal is a calendar date: days are counted in the owner's timezone.
    today = now.astimezone(ZoneInfo(app.runtime.config.timezone_of("U0ANA"))).date()
    with app.runtime.session() as session:
        for name, domain, cadence, arr, renewal in (
                ("Quiet Co", "quiet.example", 10, 20_000.0, None),
                ("Acme Corp", "acme.example", 30, 120_000.0, today + timedelta(days=30)),
                ("Snoozed Ltd", "snoozed.example", 10, 90_000.0, None),
                ("Calm Inc", "calm.example", 90, 50_000.0, None)):
            upsert_account(session, AccountRecord(name=name, domains=(domain,), owner="U0ANA", cadence_days=cadence,
                                                  arr=arr, renewal_on=renewal), now=now - timedelta(days=30))
        for account in session.query(Account):
            if account.name == "Acme Corp":
                account.next_due_at = now + timedelta(days=29)  # touched yesterday, as far as the cadence knows
            if account.name == "Snoozed Ltd":
                account.checkin_snoozed_until = now + timedelta(days=3)
            if account.name == "Calm Inc":
                account.next_due_at = now + timedelta(days=60)
    app.post_webhook({"id": "acme-1", "kind": "nps", "score": 1, "comment": "Exports fail every day",
                      "customer": {"email": "ops@acme.example"}})
    app.post_webhook({"id": "calm-1", "kind": "nps", "score": 9, "comment": "Love it",
                      "customer": {"email": "ops@calm.example"}})
    app.wait_for_post("C0SUCCESS", count=2)


def test_picks_put_the_account_at_risk_first_and_say_why(make_app):
    app = make_app(make_config(VIP_CONFIG))
    _book(app)
    answer = _slash_vip(app, "picks", user="U0ANA").json()
    lines = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"][1:]
    assert lines[0].startswith("1. *Acme Corp* — 1 open detractor (lowest score 1)")
    assert "renews in 30 days" in lines[0] and "$120k ARR" in lines[0]
    assert lines[1].startswith("2. *Quiet Co* —") and "check-in 20 days overdue" in lines[1]
    text = json.dumps(answer)
    assert "Snoozed Ltd" not in text      # snoozed, nothing open
    assert "Calm Inc" not in text          # not due, only a promoter open
    assert "Quiet Co" not in json.dumps(_slash_vip(app, "picks", user="U0BEN").json())  # not Ben's


def test_the_morning_dm_and_app_home_show_the_same_picks(make_app):
    config = make_config({**VIP_CONFIG, "schedule": {"vip_checkins": 1}})
    app = make_app(config)
    _book(app)
    # The last working morning in Ana's timezone (a DM queued for the future would wait until then).
    morning = datetime.now(ZoneInfo("America/New_York")).replace(hour=10, minute=0) - timedelta(days=1)
    while morning.weekday() >= 5:
        morning -= timedelta(days=1)
    with session_scope(app.runtime.factory) as session:
        assert remind_vip_checkins(session, config=config, now=morning, claimed_by="test") == 1
    app.runtime.queued()
    [dm] = app.wait_for_post("DU0ANA")
    sections = [b["text"]["text"] for b in dm["blocks"] if b["type"] == "section"]
    assert len(sections) == 1 and "*Acme Corp* — 1 open detractor" in sections[0]
    assert "1 more due or at risk" in json.dumps(dm["blocks"][-1]) and "/vip picks" in json.dumps(dm["blocks"][-1])

    event = {"token": "legacy", "team_id": "T0SANDBOX", "api_app_id": "A0CXLOOP", "type": "event_callback",
             "event_id": "Ev0PICKS", "event_time": 1,
             "event": {"type": "app_home_opened", "user": "U0ANA", "channel": "D0ANA", "tab": "home"}}
    body = json.dumps(event)
    headers = {**sign_slack_request(SIGNING_SECRET, body), "Content-Type": "application/json"}
    assert app.http.post(f"{app.url}/slack/events", content=body, headers=headers).status_code == 200
    home = wait_for(lambda: [v["view"] for v in app.fake.views() if v["action"] == "publish" and v["user"] == "U0ANA"],
                    what="Ana's App Home")[-1]
    text = json.dumps(home, ensure_ascii=False)
    assert "ranked by risk and value" in text and "*Acme Corp* — 1 open detractor" in text
    assert "Quiet Co" not in text and "1 more" in text and "/vip picks" in text
