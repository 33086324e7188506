"""Promoters don't wait for a Claim: they are thanked / handed off and leave every unclaimed list
(Home, `/cxloop open`, the digest, the dashboard's open items, SLA nudges) unless a route says
`needs_follow_up = true`. Through the real webhook endpoint, the fake Slack and a real database.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from bot.schedule.reminders import nudge_unclaimed_items
from bot.slack.ids import ActionId
from models import Item, OutboxMessage
from tests.conftest import make_config, wait_for
from tests.http.followups.test_triage import (
    dashboard_rows,
    home_unclaimed,
    open_command,
    posted_digest,
    publish_home,
)

CONFIG = {
    "teams": [{"name": "success", "channel": "C0SUCCESS", "timezone": "America/New_York", "members": ["U0ANA"]}],
    "sources": [{"name": "generic", "type": "generic", "secret_env": "GENERIC_WEBHOOK_SECRET"}],
    "routes": [{"name": "VIP promoters", "when": {"vip": True, "category": "promoter"}, "team": "success",
                "needs_follow_up": True}],
    "default_team": "success",
    "schedule": {"sla_hours": {"detractor": 4, "promoter": 4}},
}
# A Tuesday morning in the team's timezone: inside business hours, so a nudge is due.
TUESDAY = datetime(2026, 12, 8, 11, 0, tzinfo=ZoneInfo("America/New_York"))


def post(app, external_id: str, score: int, name: str, *, vip: bool = False, updated_at: str | None = None) -> int:
    body = {"id": external_id, "kind": "nps", "score": score, "comment": "Thanks",
            "customer": {"name": name, "vip": vip}, **({"updated_at": updated_at} if updated_at else {})}
    response = app.post_webhook(body)
    assert response.status_code in (200, 202), response.text
    return response.json()["id"]


def nudged(app, item_ids: dict[str, int]) -> set[str]:
    """The names whose item got an SLA nudge from a tick five hours after they arrived."""
    with app.runtime.session() as session:
        session.execute(update(Item).values(received_at=TUESDAY - timedelta(hours=5)))
        before = dict(session.execute(select(OutboxMessage.item_id, func.count()).group_by(OutboxMessage.item_id)).all())
        nudge_unclaimed_items(session, config=app.runtime.config, now=TUESDAY, claimed_by="test")
        session.flush()
        after = dict(session.execute(select(OutboxMessage.item_id, func.count()).group_by(OutboxMessage.item_id)).all())
    return {name for name, item_id in item_ids.items() if after.get(item_id, 0) > before.get(item_id, 0)}


def status_block(message: dict) -> str:
    return next(b["text"]["text"] for b in message["blocks"] if b.get("block_id") == "cx_status")


def test_a_promoter_is_thanked_and_waits_in_no_list_unless_its_route_says_so(make_app):
    app = make_app(make_config(CONFIG))
    ids = {"Pia Promoter": post(app, "p-1", 10, "Pia Promoter"),
           "Val Vip": post(app, "p-2", 9, "Val Vip", vip=True),
           "Dan Detractor": post(app, "p-3", 2, "Dan Detractor")}
    posts = app.wait_for_post("C0SUCCESS", count=3)
    names = list(ids)

    listed = open_command(app, "")["text"]
    assert listed.startswith("*Unclaimed items for success* (2)")
    assert "Val Vip" in listed and "Dan Detractor" in listed and "Pia Promoter" not in listed
    home = home_unclaimed(publish_home(app, "U0ANA"))
    assert "(success): 2," in home and "Pia Promoter" not in home and "Val Vip" in home
    page, rows = dashboard_rows(app)
    assert "Open items (2)" in page and sorted(rows) == sorted([ids["Val Vip"], ids["Dan Detractor"]])
    digest = posted_digest(app)
    assert digest.startswith("*Unclaimed (2)") and "Pia Promoter" not in digest
    assert nudged(app, ids) == {"Val Vip", "Dan Detractor"}

    # The message says so; Claim is still there, just not the call to action.
    by_name = {name: next(p for p in posts if name in json.dumps(p)) for name in names}
    pia = by_name["Pia Promoter"]
    assert "Promoter — thanked, no follow-up needed" in status_block(pia)
    claim = next(e for b in pia["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == ActionId.CLAIM)
    assert "style" not in claim
    assert "Unclaimed" in status_block(by_name["Val Vip"])

    # Whoever wants to follow up anyway claims it from the message; unclaimed again, it queues as usual.
    app.click(ActionId.CLAIM, claim["value"], user="U0ANA", channel="C0SUCCESS", ts=pia["ts"])
    wait_for(lambda: "Claimed by" in status_block(app.fake.message("C0SUCCESS", pia["ts"])), what="claimed")
    mine = open_command(app, "mine")["text"]
    assert "Pia Promoter" in mine


def test_an_edit_that_turns_a_promoter_into_a_detractor_queues_it_again(make_app):
    app = make_app(make_config(CONFIG))
    item_id = post(app, "e-1", 9, "Eve Edited", updated_at="2026-12-01T10:00:00Z")
    [message] = app.wait_for_post("C0SUCCESS")
    assert "Nothing unclaimed for success" in open_command(app, "")["text"]

    # Delighted-style score update: same response, a newer version, now a 3.
    assert post(app, "e-1", 3, "Eve Edited", updated_at="2026-12-01T10:05:00Z") == item_id
    listed = open_command(app, "")["text"]
    assert listed.startswith("*Unclaimed items for success* (1)") and "Eve Edited" in listed
    assert nudged(app, {"Eve Edited": item_id}) == {"Eve Edited"}
    wait_for(lambda: status_block(app.fake.message("C0SUCCESS", message["ts"])) == "⏳ *Unclaimed*",
             what="the message edited back to Unclaimed")

    # And back to a promoter: out of the queue again.
    post(app, "e-1", 10, "Eve Edited", updated_at="2026-12-01T10:10:00Z")
    assert "Nothing unclaimed for success" in open_command(app, "")["text"]
