"""The VIP book end to end: items linked to accounts at ingest, `/vip` look-ups, touches, App Home."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.common.signing import sign_slack_request
from bot.slack.ids import ActionId, InputId, ViewId, account_value, item_value
from bot.vip.book import AccountRecord, upsert_account
from models import Account, FollowUp, Item
from tests.conftest import SIGNING_SECRET, TEST_CONFIG, make_config, wait_for

VIP_CONFIG = {
    **TEST_CONFIG,
    "admins": ["U0CARA"],
    "teams": [{**TEST_CONFIG["teams"][0], "members": ["U0ANA", "U0BEN"]}, TEST_CONFIG["teams"][1]],
    "routes": [{"name": "VIPs to success", "when": {"vip": True}, "team": "success"}, *TEST_CONFIG["routes"]],
}


def _seed(app, *, days_since_created: int = 20) -> dict[str, int]:
    created = datetime.now(UTC) - timedelta(days=days_since_created)
    ids = {}
    with app.runtime.session() as session:
        for record in (
            AccountRecord(name="Acme Corp", external_id="acct-acme", domains=("acme.example",), owner="U0ANA",
                          tier="platinum", cadence_days=14, plan="enterprise", arr=120000.0,
                          contacts=(("maya@acme.example", "Maya Chen"),)),
            AccountRecord(name="Globex", external_id="acct-globex", domains=("globex.example",), owner="U0ANA",
                          cadence_days=90),
            AccountRecord(name="Initech", external_id="acct-initech", domains=("initech.example",), owner="U0BEN",
                          cadence_days=7),
        ):
            upsert_account(session, record, now=created)
        for account in session.scalars(select(Account)):
            ids[account.name] = account.id
    return ids


def _slash_vip(app, text: str, *, user: str, channel: str = "C0SUCCESS"):
    app._counter[0] += 1  # each command unique, as Slack's are: the same signed bytes again are a replay
    return app.post_slack({
        "token": "legacy", "team_id": "T0SANDBOX", "team_domain": "sandbox", "channel_id": channel,
        "channel_name": "cx", "user_id": user, "user_name": user.lower(), "command": "/vip", "text": text,
        "api_app_id": "A0CXLOOP", "response_url": app.fake.response_url("vip"), "trigger_id": f"trigger-vip-{app._counter[0]}",
    })


def test_an_item_from_a_vip_contact_is_linked_badged_routed_and_its_owner_mentioned(make_app):
    app = make_app(make_config(VIP_CONFIG))
    ids = _seed(app)
    # Not a detractor and no VIP flag in the payload: only the VIP book makes it a VIP.
    response = app.post_webhook({"id": "r-vip", "kind": "csat", "score": 4, "comment": "Fine",
                                 "customer": {"email": "Maya@Acme.example"}})
    [post] = app.wait_for_post("C0SUCCESS")
    text = json.dumps(post["blocks"])
    assert "VIP" in text and "Acme Corp" in text and "VIPs to success" in text
    wait_for(lambda: any("<@U0ANA> (account owner)" in json.dumps(m) for m in app.fake.thread("C0SUCCESS", post["ts"])),
             what="the account owner mentioned in the thread")
    with app.runtime.session() as session:
        assert session.get(Item, response.json()["id"]).account_id == ids["Acme Corp"]

    # Linked by e-mail domain when the contact is unknown, and by account id first of all.
    by_domain = app.post_webhook({"id": "r-dom", "kind": "nps", "score": 9, "customer": {"email": "new@globex.example"}})
    by_id = app.post_webhook({"id": "r-id", "kind": "nps", "score": 9,
                              "customer": {"email": "x@globex.example", "account_id": "acct-initech"}})
    with app.runtime.session() as session:
        assert session.get(Item, by_domain.json()["id"]).account_id == ids["Globex"]
        assert session.get(Item, by_id.json()["id"]).account_id == ids["Initech"]


def test_vip_lookup_with_a_typo_answers_with_the_card(make_app):
    app = make_app(make_config(VIP_CONFIG))
    _seed(app)
    app.post_webhook({"id": "r-1", "kind": "nps", "score": 3, "comment": "Renewal pricing is a concern",
                      "customer": {"email": "maya@acme.example"}})
    app.wait_for_post("C0SUCCESS")
    _slash_vip(app, "touch acme emailed about the QBR", user="U0ANA")

    answer = _slash_vip(app, "acmee", user="U0BEN")
    assert answer.status_code == 200
    body = answer.json()
    text = json.dumps(body["blocks"])
    assert body["response_type"] == "ephemeral"
    assert "Acme Corp" in text and "<@U0ANA>" in text            # owner
    assert "QBR" in text and "email" in text.lower()              # last touch: what and how
    assert "NPS 3" in text                                        # open item and score history
    actions = [e["action_id"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ActionId.VIP_LOG_TOUCH in actions and ActionId.VIP_ASSIGN_OWNER in actions


def test_vip_lookup_several_and_none(make_app):
    app = make_app(make_config(VIP_CONFIG))
    _seed(app)
    with app.runtime.session() as session:
        upsert_account(session, AccountRecord(name="Acme Labs", domains=("acmelabs.example",)),
                       now=datetime.now(UTC))
    several = json.dumps(_slash_vip(app, "acme", user="U0BEN").json()["blocks"])
    assert "Acme Corp" in several and "Acme Labs" in several and ActionId.VIP_OPEN in several
    nothing = _slash_vip(app, "zzqqxxv", user="U0BEN").json()
    assert "No account matches" in json.dumps(nothing)


def test_a_touch_updates_last_touch_and_leaves_the_due_list(make_app):
    app = make_app(make_config(VIP_CONFIG))
    _seed(app, days_since_created=20)  # Acme (14-day cadence) is overdue; Globex (90) is not
    due = json.dumps(_slash_vip(app, "due", user="U0ANA").json()["blocks"])
    assert "Acme Corp" in due and "Globex" not in due and "Initech" not in due  # Initech is Ben's

    logged = _slash_vip(app, "touch acme called about renewal", user="U0ANA").json()
    assert "Logged a call with *Acme Corp*" in logged["text"]
    assert "Acme Corp" not in json.dumps(_slash_vip(app, "due", user="U0ANA").json()["blocks"])
    card = json.dumps(_slash_vip(app, "acme corp", user="U0ANA").json()["blocks"])
    assert "called about renewal" in card


def test_a_touch_logged_from_the_modal(make_app):
    app = make_app(make_config(VIP_CONFIG))
    ids = _seed(app)
    click = app.click(ActionId.VIP_LOG_TOUCH, account_value(ids["Initech"]), user="U0BEN", channel="C0SUCCESS",
                      ts="1.000001")
    assert click.status_code == 200
    view = wait_for(lambda: [v for v in app.fake.views() if v.get("callback_id") == ViewId.VIP_TOUCH],
                    what="the log-touch modal")[-1]["view"]
    values = {InputId.TOUCH_CHANNEL: {InputId.TOUCH_CHANNEL: {"type": "static_select", "selected_option": {
                  "text": {"type": "plain_text", "text": "Meeting"}, "value": "meeting"}}},
              InputId.TOUCH_NOTE: {InputId.TOUCH_NOTE: {"type": "plain_text_input", "value": "Onsite QBR"}}}
    answer = app.submit_view(view, values, user="U0BEN")
    assert answer.json()["response_action"] == "update"
    with app.runtime.session() as session:
        account = session.get(Account, ids["Initech"])
        assert account.last_touch_at is not None
        assert account.next_due_at > datetime.now(UTC) + timedelta(days=6)
    assert "Initech" not in json.dumps(_slash_vip(app, "due", user="U0BEN").json()["blocks"])


def test_only_admins_edit_the_book(make_app):
    app = make_app(make_config(VIP_CONFIG))
    ids = _seed(app)
    refused = _slash_vip(app, "add hooli.example <@U0BEN|ben> gold", user="U0BEN").json()
    assert "only cxloop admins" in refused["text"] and "<@U0CARA>" in refused["text"]
    added = _slash_vip(app, "add hooli.example <@U0BEN|ben> gold", user="U0CARA").json()
    assert "Added *Hooli*" in added["text"]
    assert "<@U0BEN>" in json.dumps(_slash_vip(app, "hooli", user="U0BEN").json()["blocks"])
    _slash_vip(app, "owner globex <@U0CARA|cara>", user="U0CARA")
    with app.runtime.session() as session:
        assert session.get(Account, ids["Globex"]).owner == "U0CARA"


def test_app_home_shows_exactly_my_claims_and_my_due_vips(make_app):
    app = make_app(make_config(VIP_CONFIG))
    _seed(app)
    mine = app.post_webhook({"id": "r-a", "kind": "nps", "score": 2, "customer": {"name": "Zed Mine"}}).json()["id"]
    app.post_webhook({"id": "r-b", "kind": "nps", "score": 1, "customer": {"name": "Yan Bens"}})
    app.post_webhook({"id": "r-c", "kind": "nps", "score": 0, "customer": {"name": "Xia Open"}})
    posts = app.wait_for_post("C0SUCCESS", count=3)
    ts = {json.loads(json.dumps(p["metadata"]))["event_payload"]["item_id"]: p["ts"] for p in posts}
    app.click(ActionId.CLAIM, item_value(mine), user="U0ANA", channel="C0SUCCESS", ts=ts[mine])
    app.click(ActionId.CLAIM, item_value(mine + 1), user="U0BEN", channel="C0SUCCESS", ts=ts[mine + 1])
    for item_id, user in ((mine, "U0ANA"), (mine + 1, "U0BEN")):
        wait_for(lambda i=item_id, u=user: f"Claimed by <@{u}>" in json.dumps(app.fake.message("C0SUCCESS", ts[i])),
                 what="both claims")

    published_before = len(app.fake.views())
    event = {"token": "legacy", "team_id": "T0SANDBOX", "api_app_id": "A0CXLOOP", "type": "event_callback",
             "event_id": "Ev0ANA", "event_time": 1,
             "event": {"type": "app_home_opened", "user": "U0ANA", "channel": "D0ANA", "tab": "home"}}
    body = json.dumps(event)
    headers = {**sign_slack_request(SIGNING_SECRET, body), "Content-Type": "application/json"}
    assert app.http.post(f"{app.url}/slack/events", content=body, headers=headers).status_code == 200

    def ana_home():
        views = [v for v in app.fake.views()[published_before:] if v["action"] == "publish" and v["user"] == "U0ANA"]
        return views and views[-1]["view"]
    home = json.dumps(wait_for(ana_home, what="Ana's App Home"))
    assert "Zed Mine" in home                      # her claim, with Resolve
    assert ActionId.HOME_RESOLVE in home
    assert "Yan Bens" not in home                  # Ben's claim
    assert "Xia Open" in home                      # unclaimed in her team
    assert "Acme Corp" in home                     # her VIP due
    assert "Initech" not in home                   # Ben's VIP


def test_account_names_are_escaped_in_the_touch_confirmation(make_app):
    app = make_app(make_config(VIP_CONFIG))
    with app.runtime.session() as session:
        upsert_account(session, AccountRecord(name="<!channel> Corp", domains=("evil.example",), owner="U0ANA"),
                       now=datetime.now(UTC))
        account_id = session.scalar(select(Account.id).where(Account.name == "<!channel> Corp"))
    view = {"type": "modal", "callback_id": ViewId.VIP_TOUCH, "private_metadata": str(account_id)}
    values = {InputId.TOUCH_CHANNEL: {InputId.TOUCH_CHANNEL: {"type": "static_select", "selected_option": {
        "text": {"type": "plain_text", "text": "Call"}, "value": "call"}}}}
    answer = json.dumps(app.submit_view(view, values, user="U0ANA").json())
    assert "&lt;!channel&gt; Corp" in answer and "<!channel>" not in answer


def test_the_card_lists_every_open_item_escalations_and_detractors_first_with_who_holds_each(make_app):
    app = make_app(make_config(VIP_CONFIG))
    _seed(app)
    # Posted oldest first. Promoters are the newest: the card used to show only the five newest. Now they are
    # thanked and wait for nobody (no route asks for a follow-up), so the card lists what does wait.
    sent = [("esc-low", {"kind": "escalation", "subject": "Invoice question", "priority": "low"}),
            ("nps-4", {"kind": "nps", "score": 4}),
            ("nps-7", {"kind": "nps", "score": 7}),
            ("nps-1", {"kind": "nps", "score": 1}),
            ("csat-2", {"kind": "csat", "score": 2}),
            ("nps-0", {"kind": "nps", "score": 0}),
            ("esc-urgent", {"kind": "escalation", "subject": "SSO login loop", "priority": "urgent"}),
            *((f"nps-10-{n}", {"kind": "nps", "score": 10}) for n in range(6))]
    ids = {}
    for key, fields in sent:
        ids[key] = app.post_webhook({"id": f"r-{key}", **fields, "customer": {"email": "maya@acme.example"}}).json()["id"]
    posts = app.wait_for_post("C0SUCCESS", count=len(sent))
    ts = {p["metadata"]["event_payload"]["item_id"]: p["ts"] for p in posts}
    app.click(ActionId.CLAIM, item_value(ids["nps-0"]), user="U0BEN", channel="C0SUCCESS", ts=ts[ids["nps-0"]])
    wait_for(lambda: "Claimed by <@U0BEN>" in json.dumps(app.fake.message("C0SUCCESS", ts[ids["nps-0"]])),
             what="the NPS 0 claimed")

    card = _slash_vip(app, "acme", user="U0ANA").json()["blocks"]
    items = "\n".join(b["text"]["text"] for b in card if b.get("block_id", "").startswith("vip_items"))
    assert "Open items (7)" in items
    lines = [line for line in items.split("\n") if line.startswith("• ")]
    assert len(lines) == 7
    assert [re.match(r"• <[^|>]*\|([^>]*)>", line).group(1) for line in lines] == [
        "Escalation (urgent) — SSO login loop", "Escalation (low) — Invoice question", "NPS 4 · Detractor",
        "NPS 1 · Detractor", "CSAT 2 · Detractor", "NPS 0 · Detractor", "NPS 7 · Passive"]
    # The one triage order (bot.followups.triage): within a band, oldest first.
    assert "claimed by <@U0BEN>" in lines[5]
    assert all("_unclaimed_" in line for i, line in enumerate(lines) if i != 5)
    assert "more" not in items

    everything = _slash_vip(app, "items acme", user="U0ANA").json()
    listed = [line for b in everything["blocks"] if b.get("block_id", "").startswith("vip_all_items")
              for line in b["text"]["text"].split("\n") if line.startswith("• ")]
    assert listed == lines and "7 open" in json.dumps(everything["blocks"])


def test_a_card_too_long_for_slack_says_how_many_more_and_how_to_see_them(make_app):
    app = make_app(make_config(VIP_CONFIG))
    ids = _seed(app)
    now = datetime.now(UTC)
    with app.runtime.session() as session:
        for n in range(140):  # more lines than the card's sections hold
            item = Item(source="generic", external_id=f"bulk-{n}", kind="nps", score=n % 11,
                        category="detractor" if n % 11 <= 6 else "passive" if n % 11 <= 8 else "promoter",
                        customer_email="maya@acme.example", account_id=ids["Acme Corp"], vip=True,
                        received_at=now - timedelta(minutes=n), updated_at=now, team="success", channel="C0SUCCESS",
                        content_hash=f"h{n}")
            session.add(item)
            session.flush()
            session.add(FollowUp(item_id=item.id, status="open", updated_at=now))
    card = _slash_vip(app, "acme corp", user="U0ANA").json()["blocks"]  # the strict fake Slack checked it
    assert len(card) <= 50
    items = [b["text"]["text"] for b in card if b.get("block_id", "").startswith("vip_items")]
    shown = sum(line.startswith("• ") for text in items for line in text.split("\n"))
    assert "Open items (140)" in items[0]
    assert items[-1].endswith(f"… and {140 - shown} more: `/vip items \"Acme Corp\"` lists them all")
    assert all(len(text) <= 3000 for text in items)
    assert "NPS 6" in items[0].split("\n")[1]  # the oldest detractor first (n = 138, scored 138 % 11)


def test_typos_find_the_account_and_a_touch_says_which_account_it_used(make_app):
    app = make_app(make_config(VIP_CONFIG))
    _seed(app)
    with app.runtime.session() as session:  # what drowned "aceme" and "initek" in the demo's book
        for name in ("Coho Travel", "Ironclad Bank", "Granite Bank", "Granite Foods", "Granite Airlines"):
            slug = name.lower().replace(" ", "")
            upsert_account(session, AccountRecord(name=name, domains=(f"{slug}.example",),
                                                  contacts=((f"grace.moreau@{slug}.example", "Grace Moreau"),)),
                           now=datetime.now(UTC))

    card = _slash_vip(app, "aceme", user="U0ANA").json()
    assert card["blocks"][0]["text"]["text"].startswith("Acme Corp")

    initek = json.dumps(_slash_vip(app, "initek", user="U0ANA").json()["blocks"])
    assert "Initech" in initek and "Granite" not in initek

    logged = _slash_vip(app, "touch aceme called about renewal", user="U0ANA").json()["text"]
    assert logged.startswith("Logged a call with *Acme Corp* (best match for `aceme`).")
    with app.runtime.session() as session:
        assert session.scalar(select(Account).where(Account.name == "Acme Corp")).last_touch_at is not None
