"""The manager's drafted status report: `/cxloop status [3d|7d]` through the signed slash command DMs a
draft (voice of the customer by theme with account and ARR, what she did, what is open, kudos, counts
with their trend, active linked issues), its "Share in channel" posts it for team members only, its
"Markdown copy" opens a modal, and the clock sends it on its weekdays exactly once.

Items arrive as signed webhooks and are back-dated in the database; what is read is what Slack shows.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.common.periods import local_today
from bot.config import ConfigError
from bot.followups.service import add_note, claim_followup, resolve_followup
from bot.insights.scheduled import send_digest
from bot.privacy.erasure import forget_customer
from bot.schedule.tick import tick
from bot.vip.accounts import log_touch, search_key
from models import Account, FollowUp, IssueLink, Item, JobRun, OutboxMessage, TrackerIssue
from tests.conftest import make_config, wait_for

TZ = "America/New_York"
CONFIG = {
    "teams": [
        {"name": "success", "channel": "C0SUCCESS", "timezone": TZ, "members": ["U0ANA"]},
        {"name": "support", "channel": "C0SUPPORT", "timezone": "Europe/London"},
    ],
    "sources": [{"name": "generic", "type": "generic", "secret_env": "GENERIC_WEBHOOK_SECRET"}],
    "routes": [{"name": "everything to success", "when": {}, "team": "success"}],
    "default_team": "success",
    "trackers": [{"name": "github", "type": "github", "repo": "acme/app", "token_env": "GITHUB_TOKEN",
                  "secret_env": "GITHUB_WEBHOOK_SECRET", "api_url": "http://127.0.0.1:9"}],
}
ENVIRON = {"GITHUB_TOKEN": "ghp-test", "GITHUB_WEBHOOK_SECRET": "gh-secret"}

# (id, webhook fields, age): the first five are in the last 7 days, the last one in the 7 days before.
SEEDS = [
    ("crash", {"kind": "nps", "score": 2, "comment": "The export keeps crashing and we lose our work.",
               "customer": {"name": "Maya Chen", "email": "maya@acme.com", "account": "Acme"}}, timedelta(days=2)),
    ("kudos", {"kind": "nps", "score": 10, "comment": "Thanks Maria, the onboarding call was superb.",
               "customer": {"name": "Omar Diaz", "email": "omar@globex.com"}}, timedelta(days=1)),
    ("churn", {"kind": "nps", "score": 1, "comment": "We are switching to a competitor at renewal.",
               "customer": {"name": "Lee Park", "email": "lee@initech.com", "vip": True}}, timedelta(days=3)),
    ("escalation", {"kind": "escalation", "subject": "SSO login loop", "priority": "high",
                    "customer": {"name": "Kim Ode", "email": "kim@hooli.com"}}, timedelta(hours=5)),
    ("passive", {"kind": "nps", "score": 7, "comment": "It is fine I guess",
                 "customer": {"name": "Pat Mid", "email": "pat@mid.com"}}, timedelta(days=4)),
    ("old-bug", {"kind": "nps", "score": 3, "comment": "The app crashes every time I upload a file.",
                 "customer": {"name": "Old Bug", "email": "old@bug.com"}}, timedelta(days=10)),
]


def _seed(app) -> dict[str, int]:
    ids = {}
    for key, fields, _ in SEEDS:
        response = app.post_webhook({"id": f"status-{key}", **fields})
        assert response.status_code == 202, response.text
        ids[key] = response.json()["id"]
    app.wait_for_post("C0SUCCESS", count=len(SEEDS))
    app.idle()
    now = app.runtime.now()
    with app.runtime.session() as session:
        for key, _, age in SEEDS:
            session.execute(update(Item).where(Item.id == ids[key]).values(received_at=now - age))
        acme = Account(name="Acme", search_name=search_key("Acme"), arr=120000.0, vip=True, owner="U0ANA",
                       cadence_days=30, next_due_at=now, created_at=now - timedelta(days=90), updated_at=now)
        session.add(acme)
        session.flush()
        session.execute(update(Item).where(Item.id == ids["crash"]).values(account_id=acme.id))
        # What Ana did this week: one claim, one resolution, one note, one VIP touch.
        assert claim_followup(session, item_id=ids["crash"], user_id="U0ANA", now=now).outcome == "changed"
        assert resolve_followup(session, item_id=ids["passive"], user_id="U0ANA", outcome="contacted", note=None,
                                now=now).outcome == "changed"
        add_note(session, item_id=ids["crash"], user_id="U0ANA", text="Called them", now=now)
        log_touch(session, account_id=acme.id, actor="U0ANA", channel="call", note=None, now=now)
        # Its follow-up date has passed: overdue.
        session.execute(update(FollowUp).where(FollowUp.item_id == ids["crash"])
                        .values(follow_up_on=local_today(now, TZ) - timedelta(days=2)))
        issue = TrackerIssue(tracker="github", key="42", url="https://github.com/acme/app/issues/42",
                             title="Export crashes", state="open", created_at=now, updated_at=now)
        session.add(issue)
        session.flush()
        session.add(IssueLink(issue_id=issue.id, item_id=ids["crash"], linked_by="U0ANA", linked_at=now))
    return ids


def _dm(app, user: str, count: int = 1) -> dict:
    return app.wait_for_post(f"D{user}", count=count)[-1]


def _text(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def _button(message: dict, action_id: str) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return element["value"]
    raise AssertionError(f"no {action_id} button")


def test_status_7d_dms_a_draft_with_every_section_and_share_posts_it(make_app):
    app = make_app(make_config(CONFIG, environ=ENVIRON))
    _seed(app)
    answer = app.slash("status 7d", user="U0ANA", channel="C0SUCCESS")
    assert answer.status_code == 200 and "on its way to your DMs" in answer.json()["text"]
    dm = _dm(app, "U0ANA")
    text = _text(dm)
    today = local_today(app.runtime.now(), TZ)
    window = f"last 7 days to {today:%a} {today.day} {today:%b}"
    assert window in text and "Draft" in text
    # Voice of the customer: the critical quote with customer, account and ARR; the glowing one.
    assert "The export keeps crashing" in text and "Maya Chen (Acme) · $120,000 ARR · NPS 2" in text
    assert "Thanks Maria" in text
    # What she did, from the audit trail.
    assert "1 claim · 1 resolution · 0 replies to customers · 1 note · 1 VIP touch" in text
    # Open now: the overdue follow-up, the escalation, the churn risk.
    assert "Overdue follow-ups: 1" in text and "Open escalations: 1" in text and "Churn risks: 1" in text
    # Unclaimed past their SLA, as the dashboard counts breaches: the churn risk (NPS 1, 3 days), the old bug
    # report (NPS 3, 10 days) and the escalation (5 hours); the claimed crash and the resolved passive are not.
    assert "Unclaimed past their SLA: 3" in text, text
    assert "Escalation (high) — Kim Ode" in text and "We are switching to a competitor" in text
    # How long what is open has waited: ten days is not this morning.
    assert re.search(r"NPS 3 · Detractor[^\n]*— waiting 10 days", text), text
    assert "It is fine" not in text  # a passive is neither critical nor glowing
    # Kudos name a person.
    assert "names *Maria*" in text
    # Counts with their trend: 2 bug comments now (crash, churn? no: crash only) vs 1 the week before.
    assert "VIP customers' responses 1 (▲ 1 more than the 7 days before: 0)" in text
    assert "Bugs 1 (same as the 7 days before)" in text
    assert "Feature requests 0 (same as the 7 days before)" in text  # counted beside bugs, even when none
    # Linked open issues.
    assert "acme/app#42" in text and "Active bugs related to customer feedback" in text
    # NPS from stats.nps over the same window: 4 NPS responses, 1 promoter, 2 detractors -> -25.
    assert "NPS -25 from 4 responses" in text

    # Share in channel: the same report in the team channel, without the draft buttons.
    before = len(app.posts("C0SUCCESS"))
    share = app.click("cx_status_share", _button(dm, "cx_status_share"), user="U0ANA", channel="DU0ANA",
                      ts=dm["ts"])
    assert share.status_code == 200
    shared = app.wait_for_post("C0SUCCESS", count=before + 1)[-1]
    assert "The export keeps crashing" in _text(shared) and "Shared by <@U0ANA>" in _text(shared)
    assert not [b for b in shared["blocks"] if b["type"] == "actions"] and "Draft" not in _text(shared)
    # A second click shares nothing more and says so.
    app.click("cx_status_share", _button(dm, "cx_status_share"), user="U0ANA", channel="DU0ANA", ts=dm["ts"])
    told = wait_for(lambda: [e for e in app.fake.ephemerals("DU0ANA") if "Already shared" in e["text"]],
                    what="the second share's answer")[-1]
    assert "by <@U0ANA>" in told["text"]
    app.idle()
    assert len(app.posts("C0SUCCESS")) == before + 1

    # Markdown copy: a modal with the report in a prefilled input (at most 3000 characters each).
    app.click("cx_status_markdown", _button(dm, "cx_status_markdown"), user="U0ANA", channel="DU0ANA", ts=dm["ts"])
    view = wait_for(lambda: [v for v in app.fake.views() if v["action"] == "open"], what="the modal")[-1]["view"]
    inputs = [b["element"]["initial_value"] for b in view["blocks"] if b["type"] == "input"]
    assert inputs and all(len(part) <= 3000 for part in inputs)
    assert inputs[0].startswith("# Status · success") and "## Voice of the customer" in inputs[0]
    assert "[acme/app#42](https://github.com/acme/app/issues/42)" in "".join(inputs)


def test_a_non_member_gets_the_draft_but_cannot_share_it(make_app, fake_slack):
    app = make_app(make_config(CONFIG, environ=ENVIRON))
    _seed(app)
    fake_slack.set_channel_members("C0SUCCESS", ["U0ANA"])
    # Ben is in no team: asked in the team's channel, the draft is of that team.
    assert "on its way" in app.slash("status", user="U0BEN", channel="C0SUCCESS").json()["text"]
    dm = _dm(app, "U0BEN")
    before = len(app.posts("C0SUCCESS"))
    app.click("cx_status_share", _button(dm, "cx_status_share"), user="U0BEN", channel="DU0BEN", ts=dm["ts"])
    refusal = wait_for(lambda: app.fake.ephemerals("DU0BEN"), what="the refusal")[-1]
    assert "Only members of the success team" in refusal["text"]
    app.idle()
    assert len(app.posts("C0SUCCESS")) == before
    # Someone else clicking Ana's draft's button (a forged click) shares nothing either.
    assert "on its way" in app.slash("status", user="U0ANA", channel="C0SUCCESS").json()["text"]
    ana = _dm(app, "U0ANA")
    app.click("cx_status_share", _button(ana, "cx_status_share"), user="U0BEN", channel="DU0BEN", ts=ana["ts"])
    wait_for(lambda: len(app.fake.ephemerals("DU0BEN")) >= 2, what="the second refusal")
    assert "not yours to share" in app.fake.ephemerals("DU0BEN")[-1]["text"]
    app.idle()
    assert len(app.posts("C0SUCCESS")) == before


def test_a_bad_period_is_an_ephemeral_usage_error_and_queues_nothing(make_app):
    app = make_app(make_config(CONFIG, environ=ENVIRON))
    answer = app.slash("status 9x", user="U0ANA", channel="C0SUCCESS").json()
    assert answer["response_type"] == "ephemeral"
    assert "I don't know the period `9x`" in answer["text"] and "/cxloop status [3d|7d]" in answer["text"]
    with app.runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert session.scalar(select(func.count()).select_from(JobRun)) == 0


def test_since_the_last_status_is_the_default_window(make_app):
    app = make_app(make_config(CONFIG, environ=ENVIRON))
    now = app.runtime.now()
    with app.runtime.session() as session:
        session.add(JobRun(job="status_request", target="success:U0ANA", period="earlier",
                           scheduled_for=now - timedelta(hours=30), claimed_at=now - timedelta(hours=30),
                           claimed_by="U0ANA", detail={}))
    app.slash("status", user="U0ANA", channel="C0SUCCESS")
    text = _text(_dm(app, "U0ANA"))
    assert "since your last status (" in text and "the 30 hours before" in text


def _last_monday_4pm(now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(TZ))
    monday = local.date() - timedelta(days=local.weekday())
    at = datetime.combine(monday, time(16, 0), tzinfo=ZoneInfo(TZ))
    if at > local:
        at -= timedelta(days=7)
    return at.astimezone(UTC)


def test_the_schedule_sends_it_once_on_monday_at_four_and_not_on_tuesday(make_app):
    teams = [{**CONFIG["teams"][0], "status_report": {"days": ["mon", "wed", "fri"], "time": "16:00",
                                                      "to": ["U0ANA", "U0CARA"]}}, CONFIG["teams"][1]]
    app = make_app(make_config({**CONFIG, "teams": teams}, environ=ENVIRON))
    monday = _last_monday_4pm(app.runtime.now())
    assert "status_report:success" not in tick(app.runtime.factory, app.runtime.config,
                                               now=monday - timedelta(minutes=1), claimed_by="clock")
    sent = tick(app.runtime.factory, app.runtime.config, now=monday, claimed_by="clock")
    assert sent.get("status_report:success") == 2
    app.runtime.queued()
    for user in ("U0ANA", "U0CARA"):
        assert "Status · success" in _text(_dm(app, user))
    # A second clock a minute later, and the same one on Tuesday at 16:00, send no status report.
    assert "status_report:success" not in tick(app.runtime.factory, app.runtime.config,
                                               now=monday + timedelta(minutes=1), claimed_by="other-clock")
    assert "status_report:success" not in tick(app.runtime.factory, app.runtime.config,
                                               now=monday + timedelta(days=1), claimed_by="clock")
    app.idle()
    assert len(app.posts("DU0ANA")) == 1 and len(app.posts("DU0CARA")) == 1


def test_status_report_config_is_validated():
    bad = {**CONFIG["teams"][0], "status_report": {"days": ["monday", "mon"], "time": "4pm", "to": []}}
    with pytest.raises(ConfigError) as error:
        make_config({**CONFIG, "teams": [bad, CONFIG["teams"][1]]}, environ=ENVIRON)
    message = str(error.value)
    assert "teams[0].status_report.days[0]" in message and "teams[0].status_report.time" in message
    assert "teams[0].status_report.to" in message


def test_the_daily_digest_says_how_many_customers_were_told_and_the_time_to_shipped(make_app):
    app = make_app(make_config(CONFIG, environ=ENVIRON))
    ids = _seed(app)
    now = app.runtime.now()
    today = local_today(now, TZ)
    with app.runtime.session() as session:
        issue = session.scalar(select(TrackerIssue))
        issue.state, issue.state_reason, issue.shipped_at = "closed", "completed", now - timedelta(minutes=5)
        session.execute(update(IssueLink).values(told_at=now - timedelta(minutes=1), told_by="U0ANA"))
        session.add(IssueLink(issue_id=issue.id, item_id=ids["old-bug"], linked_by="U0ANA", linked_at=now))
    with app.runtime.session() as session:
        assert send_digest(session, config=app.runtime.config, team=app.runtime.config.team("success"), day=today,
                           now=now, claimed_by="test")
    app.runtime.queued()
    digest = wait_for(lambda: [m for m in app.posts("C0SUCCESS") if "cx_digest_product" in _text(m)],
                      what="the digest")[-1]
    # One customer told today; the issue shipped 10 days after its first linked feedback (the old bug).
    line = next(b["text"]["text"] for b in digest["blocks"] if b.get("block_id") == "cx_digest_product")
    assert "1 customer told their issue shipped" in line
    assert "acme/app#42" in line and "(10.0 days from feedback to shipped)" in line


def test_forgetting_a_quoted_customer_empties_the_draft_and_its_buttons(make_app):
    app = make_app(make_config(CONFIG, environ=ENVIRON))
    _seed(app)
    app.slash("status 7d", user="U0ANA", channel="C0SUCCESS")
    dm = _dm(app, "U0ANA")
    assert "The export keeps crashing" in _text(dm)
    with app.runtime.session() as session:
        forget_customer(session, email="maya@acme.com", actor="test", now=app.runtime.now())
    app.runtime.queued()
    app.idle()
    erased = app.fake.message("DU0ANA", dm["ts"])
    assert "The export keeps crashing" not in json.dumps(erased) and "erased" in erased["text"]
    # The old message's buttons (as a client may still show them) copy and share nothing.
    before = len(app.posts("C0SUCCESS"))
    app.click("cx_status_markdown", _button(dm, "cx_status_markdown"), user="U0ANA", channel="DU0ANA", ts=dm["ts"])
    app.click("cx_status_share", _button(dm, "cx_status_share"), user="U0ANA", channel="DU0ANA", ts=dm["ts"])
    wait_for(lambda: len(app.fake.ephemerals("DU0ANA")) >= 2, what="two answers")
    answers = " ".join(e["text"] for e in app.fake.ephemerals("DU0ANA"))
    assert "no longer available" in answers and "erased" in answers
    assert not [v for v in app.fake.views() if v["action"] == "open"]
    app.idle()
    assert len(app.posts("C0SUCCESS")) == before
