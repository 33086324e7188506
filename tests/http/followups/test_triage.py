"""One triage order everywhere: App Home, `/cxloop open`, the digest and the dashboard list the same items
in the same order (escalations by severity, VIP detractors, detractors, passives, promoters; oldest first
within each), say so, and say how many more there are when a list is cut. `/cxloop open` takes filters.

Items arrive as signed webhooks and are back-dated in the database; every list is read where a person
reads it: the published Home view, the slash command's ephemeral, the digest posted to the fake Slack,
the dashboard page over HTTP.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update

import bot.followups.commands
import bot.followups.home
from bot.common.signing import sign_slack_request
from bot.followups.service import claim_followup
from bot.insights.scheduled import send_digest
from models import Item
from tests.conftest import _TLS, SIGNING_SECRET, make_config, wait_for

TOKEN = "dashboard-test-token-0123456789"
CONFIG = {
    "teams": [
        {"name": "success", "channel": "C0SUCCESS", "timezone": "America/New_York", "members": ["U0ANA"]},
        {"name": "support", "channel": "C0SUPPORT", "timezone": "Europe/London"},
    ],
    "sources": [{"name": "generic", "type": "generic", "secret_env": "GENERIC_WEBHOOK_SECRET"}],
    # Promoters need no follow-up by default; this route keeps them queued, so every band is listed.
    "routes": [{"name": "promoters wait too", "when": {"category": "promoter"}, "team": "success",
                "needs_follow_up": True}],
    "default_team": "success",
}

# (customer name, webhook fields, age). The oldest ones are the ones that matter least.
SEEDS = [
    ("Nora Ten", {"kind": "nps", "score": 10}, timedelta(days=30)),
    ("Pat Passive", {"kind": "nps", "score": 8}, timedelta(days=29)),
    ("Dan Detractor", {"kind": "nps", "score": 3}, timedelta(days=5)),
    ("Lou Low", {"kind": "escalation", "subject": "Invoice question", "priority": "low"}, timedelta(days=3)),
    ("Vera Vip", {"kind": "csat", "score": 1, "vip": True}, timedelta(days=2)),
    ("Uma Urgent", {"kind": "escalation", "subject": "SSO login loop", "priority": "Urgent"}, timedelta(hours=1)),
]
MOST_URGENT_FIRST = ["Uma Urgent", "Lou Low", "Vera Vip", "Dan Detractor", "Pat Passive", "Nora Ten"]
NAMES = [name for name, _, _ in SEEDS]


def seed(app) -> dict[str, int]:
    ids = {}
    for name, fields, _ in SEEDS:
        vip = fields.get("vip", False)
        body = {"id": f"triage-{name}", **{k: v for k, v in fields.items() if k != "vip"},
                "customer": {"name": name, "vip": vip}}
        response = app.post_webhook(body)
        assert response.status_code == 202, response.text
        ids[name] = response.json()["id"]
    now = app.runtime.now()
    with app.runtime.session() as session:
        for name, _, age in SEEDS:
            session.execute(update(Item).where(Item.id == ids[name]).values(received_at=now - age))
    return ids


def in_order(text: str, names=NAMES) -> list[str]:
    """The names that appear in `text`, in the order they appear."""
    return sorted((name for name in names if name in text), key=text.index)


def publish_home(app, user: str) -> dict:
    before = len([v for v in app.fake.views() if v["action"] == "publish" and v["user"] == user])
    event = {"token": "legacy", "team_id": "T0SANDBOX", "api_app_id": "A0CXLOOP", "type": "event_callback",
             "event_id": f"Ev0TRIAGE{before}", "event_time": int(time.time()),
             "event": {"type": "app_home_opened", "user": user, "channel": "D0ANA", "tab": "home"}}
    body = json.dumps(event)
    headers = {**sign_slack_request(SIGNING_SECRET, body), "Content-Type": "application/json"}
    assert app.http.post(f"{app.url}/slack/events", content=body, headers=headers).status_code == 200
    return wait_for(lambda: (lambda views: len(views) > before and views[-1])(
        [v for v in app.fake.views() if v["action"] == "publish" and v["user"] == user]), what="the Home")["view"]


def home_unclaimed(view: dict) -> str:
    """The text of the Home's "Unclaimed in your teams" section, up to the next divider."""
    texts, inside = [], False
    for block in view["blocks"]:
        text = json.dumps(block, ensure_ascii=False)
        if "Unclaimed in your teams" in text:
            inside = True
        elif inside and block["type"] == "divider":
            break
        if inside:
            texts.append(text)
    return "\n".join(texts)


def open_command(app, words: str, *, user: str = "U0ANA", channel: str = "C0SUCCESS") -> dict:
    response = app.slash(f"open {words}".strip(), user=user, channel=channel)
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    return answer


def posted_digest(app) -> str:
    config = app.runtime.config
    team = config.team("success")
    now = app.runtime.now()
    with app.runtime.session() as session:
        assert send_digest(session, config=config, team=team, claimed_by="test",
                           day=now.astimezone(ZoneInfo(team.timezone)).date(), now=now)
    app.runtime.queued()
    app.idle()
    [digest] = [m for m in app.fake.messages("C0SUCCESS")
                if (m.get("metadata") or {}).get("event_type") == "cxloop_outbox"]
    return next(b for b in digest["blocks"] if b.get("block_id") == "cx_digest_unclaimed")["text"]["text"]


def dashboard_rows(app, query: str = "team=success") -> tuple[str, list[int]]:
    app.runtime.settings = replace(app.runtime.settings, dashboard_token=TOKEN)
    with httpx.Client(timeout=10, verify=_TLS) as client:
        page = client.get(f"{app.url}/dashboard?{query}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200, page.text
    table = page.text[page.text.index('<table id="open-items"'):]
    table = table[:table.index("</table>")]
    return page.text, [int(found) for found in re.findall(r'<tr data-item-id="(\d+)"', table)]


def test_home_open_digest_and_dashboard_list_the_same_items_most_urgent_first(make_app):
    app = make_app(make_config(CONFIG))
    ids = seed(app)

    home = home_unclaimed(publish_home(app, "U0ANA"))
    assert "*Unclaimed in your teams* (success): 6, most urgent first" in home
    assert in_order(home) == MOST_URGENT_FIRST

    listed = open_command(app, "")["text"]
    assert listed.startswith("*Unclaimed items for success* (6), most urgent first")
    assert in_order(listed) == MOST_URGENT_FIRST

    # The digest shows five: the sixth (the oldest promoter) is counted, not dropped in silence.
    digest = posted_digest(app)
    assert digest.startswith("*Unclaimed (6), most urgent first*")
    assert in_order(digest) == MOST_URGENT_FIRST[:5]
    assert "… and 1 more: `/cxloop open` in this channel lists them" in digest

    page, rows = dashboard_rows(app)
    assert "Open items (6), most urgent first" in page
    by_id = {item_id: name for name, item_id in ids.items()}
    assert [by_id[item_id] for item_id in rows] == MOST_URGENT_FIRST


def test_open_takes_filters_as_words(make_app):
    app = make_app(make_config(CONFIG))
    ids = seed(app)

    vip_detractors = open_command(app, "vip detractors")["text"]
    assert vip_detractors.startswith("*Unclaimed VIP detractors for success* (1), most urgent first")
    assert in_order(vip_detractors) == ["Vera Vip"]

    detractors = open_command(app, "Detractors")["text"]
    assert in_order(detractors) == ["Vera Vip", "Dan Detractor"]
    assert in_order(open_command(app, "escalations")["text"]) == ["Uma Urgent", "Lou Low"]
    assert in_order(open_command(app, "passive promoters")["text"]) == ["Pat Passive", "Nora Ten"]

    # Another team's items, from this channel; outside a team channel the team is named.
    support = open_command(app, "passives team support")["text"]
    assert support == "*Unclaimed passives for support*: none. 🎉"
    assert in_order(open_command(app, "team success escalations", channel="C0ELSEWHERE")["text"]) == \
        ["Uma Urgent", "Lou Low"]

    # Claimed items leave the unclaimed list; `mine` and `@person` list what a person holds.
    with app.runtime.session() as session:
        assert claim_followup(session, item_id=ids["Dan Detractor"], user_id="U0BEN", now=app.runtime.now()).changed
        assert claim_followup(session, item_id=ids["Nora Ten"], user_id="U0ANA", now=app.runtime.now()).changed
    assert "Dan Detractor" not in open_command(app, "")["text"]
    mine = open_command(app, "mine")["text"]
    assert mine.startswith("*Your claimed items in all teams* (1)") and in_order(mine) == ["Nora Ten"]
    bens = open_command(app, "detractors <@U0BEN|ben>")["text"]
    assert bens.startswith("*Detractors claimed by <@U0BEN> in all teams* (1)") and in_order(bens) == ["Dan Detractor"]


def test_open_new_lists_what_arrived_since_the_last_workday_ended(make_app):
    app = make_app(make_config(CONFIG))
    monday = datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo("America/New_York"))
    app.runtime.now = lambda: monday
    seed(app)  # Uma 1 h ago, Vera on Saturday morning, Lou on Friday morning, the rest before
    new = open_command(app, "new")["text"]
    assert new.startswith("*Unclaimed items for success since your last workday ended (<!date^")
    assert "Fri 04 Dec 2026 18:00 EST" in new
    assert in_order(new) == ["Uma Urgent", "Vera Vip"]
    assert in_order(open_command(app, "overnight escalations")["text"]) == ["Uma Urgent"]


@pytest.mark.parametrize("words, complaint", [
    ("detractorz", "I don't know `detractorz`."),
    ("vip team", "`team` needs a team name after it."),
    ("team marketing", "There is no team `marketing`."),
    ("owner bob", "`bob` is not a person"),
    ("URGENT", "I don't know `URGENT`."),
])
def test_a_word_open_does_not_take_gets_what_it_accepts(make_app, words, complaint):
    app = make_app(make_config(CONFIG))
    seed(app)
    answer = open_command(app, words)["text"]
    assert answer.startswith(complaint)
    for accepted in ("`escalations`, `detractors`, `passives`, `promoters`", "`vip`", "`team <name>`",
                     "`success`, `support`", "`mine`, `owner @person` or `@person`"):
        assert accepted in answer
    assert not any(name in answer for name in NAMES)  # no list that ignored the word


def test_a_cut_list_says_how_many_more_and_where_to_see_them(make_app, monkeypatch):
    monkeypatch.setattr(bot.followups.commands, "LIST_LIMIT", 4)
    monkeypatch.setattr(bot.followups.home, "LIST_LIMIT", 4)
    app = make_app(make_config(CONFIG))
    seed(app)

    listed = open_command(app, "")["text"]
    assert in_order(listed) == MOST_URGENT_FIRST[:4]
    assert listed.endswith("… and 2 more: narrow it (`/cxloop open help`) or see the dashboard's Open items "
                           "table, which lists them all.")

    home = home_unclaimed(publish_home(app, "U0ANA"))
    assert in_order(home) == MOST_URGENT_FIRST[:4]
    assert "… and 2 more: `/cxloop open` in a team's channel narrows them" in home
