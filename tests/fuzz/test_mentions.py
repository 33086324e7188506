"""No payload text pings anyone: customer text containing `<!channel>`, `<@U…>`, `<#C…>`, `<!subteam^…>`,
`&lt;` games or `<http://x|y>` links reaches Slack escaped (bot/slack/mrkdwn.py's escape_mrkdwn is the
contract) in every message, App Home, /vip answer, digest and reminder the app builds for it.

What Slack parses: mrkdwn text objects and a message's top-level `text` (used for notifications).
plain_text objects are never parsed for mentions, so they are not checked.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from bot.common.signing import sign_slack_request
from bot.followups.home import HomeData, HomeItem, home_view
from bot.insights.digest import build_daily_digest, digest_message
from bot.schedule.reminders import nudge_unclaimed_items
from bot.slack.blocks import ItemView, item_message, thread_note
from bot.slack.mrkdwn import escape_mrkdwn
from bot.slack.vip_blocks import account_choices, due_list, no_match
from bot.vip.search import Match
from models import OutboxMessage
from tests.conftest import SIGNING_SECRET
from tests.fuzz.counting import counted
from tests.fuzz.strategies import MENTIONS, budget, unicode_text

# A ping or a link that could only have come from the payload (the app's own mentions use other ids).
FORBIDDEN = re.compile(r"<(?:!channel|!here|!everyone|!subteam\^S1\b|@U123ABC|@W999|@U0BEN|#C123ABC|mailto:"
                       r"|https://evil|http://x\||!date\^1\^)")

hostile = st.one_of(
    st.sampled_from(MENTIONS),
    st.lists(st.one_of(st.sampled_from(MENTIONS), unicode_text, st.sampled_from(["&", "&amp;", "<", ">", "&lt;",
                                                                                 "|", "*", "`", " "])),
             min_size=1, max_size=8).map("".join),
)
NOW = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)
HOME_OPENED = json.dumps({"type": "event_callback", "team_id": "T0SANDBOX", "api_app_id": "A0CXLOOP",
                          "event_id": "EvHOME", "event": {"type": "app_home_opened", "user": "U0ANA", "tab": "home"}})
_runs = [0]
_apps: dict[int, object] = {}


def mrkdwn_texts(value, *, top: bool = True):
    """The strings Slack would parse for mentions in a message, view or API call's arguments."""
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            return
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            yield value["text"]
        if top and isinstance(value.get("text"), str):
            yield value["text"]
        for key, child in value.items():
            if key != "text" or not isinstance(child, str):
                yield from mrkdwn_texts(child, top=False)
    elif isinstance(value, list | tuple):
        for child in value:
            yield from mrkdwn_texts(child, top=False)


def assert_no_payload_pings(*parts) -> None:
    for part in parts:
        for text in mrkdwn_texts(part):
            found = FORBIDDEN.search(text)
            assert found is None, f"unescaped {found.group(0)!r} in {text[:300]!r}"


def test_the_oracle_catches_an_unescaped_ping():
    """The check above can fail: raw payload text in mrkdwn is caught, escaped text passes."""
    raw = {"type": "section", "text": {"type": "mrkdwn", "text": "Customer said <!channel> hi"}}
    try:
        assert_no_payload_pings(raw)
    except AssertionError:
        pass
    else:
        raise AssertionError("an unescaped <!channel> went unnoticed")
    assert_no_payload_pings({"type": "mrkdwn", "text": escape_mrkdwn("<!channel> <@U123ABC> <#C123ABC>")})


@settings(max_examples=budget(200))
@given(comment=hostile, name=hostile, company=hostile, subject=hostile, other=hostile, tags=st.lists(hostile, max_size=3),
       kind=st.sampled_from(["nps", "csat", "escalation"]), status=st.sampled_from(["open", "claimed", "resolved"]))
@counted
def test_item_messages_and_thread_notes_escape_payload_text(comment, name, company, subject, other, tags, kind, status):
    item = ItemView(item_id=7, kind=kind, score=None if kind == "escalation" else 3, category="detractor",
                    comment=comment, source="generic", team="success", received_at=NOW, status=status,
                    customer_name=name, customer_email=other, account_name=company, plan=other, segment=other,
                    vip=True, subject=subject, priority=other, themes=tuple(tags), tags=tuple(tags),
                    url="https://x.example/r/7", route_name=other, claimed_by="U0ANA" if status != "open" else None,
                    claimed_at=NOW if status != "open" else None, resolved_by="U0ANA" if status == "resolved" else None,
                    resolved_at=NOW if status == "resolved" else None, outcome="fixed" if status == "resolved" else None)
    text, blocks = item_message(item)
    assert_no_payload_pings({"text": text, "blocks": blocks})
    note_text, note_blocks = thread_note(escape_mrkdwn(comment), quote=name)
    assert_no_payload_pings({"text": note_text, "blocks": note_blocks})


@settings(max_examples=budget(150))
@given(labels=st.lists(hostile, min_size=1, max_size=4), names=st.lists(hostile, min_size=1, max_size=3),
       query=hostile)
@counted
def test_app_home_and_vip_answers_escape_payload_text(labels, names, query):
    status = "3 days overdue"  # composed by the app (vip.cadence_status), never payload text
    entries = [HomeItem(item_id=i + 1, label=label, link=None, since=NOW) for i, label in enumerate(labels)]
    view = home_view(HomeData(user_id="U0ANA", claims=entries, unclaimed=entries, team_names=["success"],
                              vips_due=[(i + 1, name, (status,)) for i, name in enumerate(names)], touches_7d=1,
                              resolved_7d=2, median_claim_minutes=12.0))
    assert_no_payload_pings(view)
    matches = [Match(account_id=i + 1, name=name, score=90.0, matched=f"contact {query}") for i, name in enumerate(names)]
    assert_no_payload_pings({"blocks": account_choices(matches, query)}, {"blocks": no_match(query, matches)},
                            {"blocks": no_match(query, [])}, {"blocks": due_list(
                                [(i + 1, name, status) for i, name in enumerate(names)], title=query)})


@settings(max_examples=budget(6))
@given(comment=hostile, name=hostile, company=hostile)
@counted
def test_everything_posted_for_a_hostile_response_escapes_it(make_app, comment, name, company):
    """End to end: webhook → posted item, thread cc, App Home, /vip, /cxloop, digest and reminder."""
    # One app for every example (a fixture's value lives as long as the test function, not the example).
    app = _apps.get(id(make_app)) or _apps.setdefault(id(make_app), make_app())
    app.fake.reset()
    _runs[0] += 1
    response = app.post_webhook({"id": f"hostile-{_runs[0]}", "kind": "nps", "score": 1,
                                 "comment": comment, "subject": name,
                                 "customer": {"name": name, "account": company, "plan": company[:100],
                                              "email": "ann@acme.example"}, "tags": [company[:90] or "x"]})
    assert response.status_code == 202, response.text
    app.wait_for_post("C0SUCCESS")
    app.slash("open", user="U0ANA", channel="C0SUCCESS")
    vip = app.post_slack({"command": "/vip", "text": company[:200], "user_id": "U0ANA", "channel_id": "C0SUCCESS",
                          "team_id": "T0SANDBOX", "response_url": app.fake.response_url("vip"),
                          "trigger_id": f"t-{_runs[0]}"})  # unique, as Slack's are (a repeat is a replay)
    with app.runtime.session() as session:
        nudge_unclaimed_items(session, config=app.runtime.config, now=datetime.now(UTC) + timedelta(days=3),
                              claimed_by="fuzz")
        digest = build_daily_digest(session, team=app.runtime.config.team("success"),
                                    day=date.today(), now=datetime.now(UTC) + timedelta(days=1))
        digest_text, digest_blocks = digest_message(digest)
        # The nudge was queued as of its `now`, three days ahead: let the worker see it due today. (Without
        # this the test only passed when that day fell outside business hours and nothing was nudged.)
        session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending")
                        .values(available_at=datetime.now(UTC)))
    app.runtime.queued()
    app.idle()
    home = app.http.post(f"{app.url}/slack/events", content=HOME_OPENED, headers={
        **sign_slack_request(SIGNING_SECRET, HOME_OPENED), "Content-Type": "application/json"})
    assert home.status_code == 200
    app.wait_for_post("C0SUCCESS")
    calls = [c for c in app.fake.calls() if c["method"] in ("chat.postMessage", "chat.update", "views.publish",
                                                            "chat.postEphemeral", "response_url")]
    assert calls
    assert_no_payload_pings(*[c["args"] for c in calls], vip.json() if vip.content else {},
                            {"text": digest_text, "blocks": digest_blocks})
