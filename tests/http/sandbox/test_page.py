"""The sandbox page: what the app posted to the fake Slack, rendered, and clicks sent back as signed Slack requests.

The app is the real one (uvicorn, a migrated database, the delivery worker) with the sandbox routes mounted,
exactly as `cxloop serve --sandbox` mounts them.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from bot.config import Settings
from bot.delivery.worker import DeliveryWorker
from bot.runtime import Runtime, build_runtime
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.page import render_blocks, render_date, render_mrkdwn, restore_history, sandbox_routes
from bot.slack.ids import ActionId, InputId, OverflowChoice
from bot.vip.book import AccountRecord, upsert_account
from bot.web import create_app
from models import Item, SlackMessage
from tests.conftest import _TLS, BOT_TOKEN, SIGNING_SECRET, bound_socket, make_config, wait_for

NPS_2 = {
    "id": "resp-sbx-1", "kind": "nps", "score": 2,
    "comment": "Exports broke again. <script>alert(1)</script> & <@U0BEN> <!channel>",
    "customer": {"email": "maya@acme.example", "name": "Maya Chen", "account": "Acme Corp"},
}


@dataclass
class Sandbox:
    url: str
    fake: FakeSlack
    http: httpx.Client
    runtime: Runtime

    def page(self, user: str = "U0ANA") -> str:
        response = self.http.get(f"{self.url}/sandbox", params={"as": user})
        assert response.status_code == 200
        return response.text

    def post(self, path: str, form: dict[str, str]) -> httpx.Response:
        response = self.http.post(f"{self.url}{path}", data=form)
        assert response.status_code == 303, response.text
        return response


@pytest.fixture
def sandbox(database_url: str, fake_slack: FakeSlack) -> Iterator[Sandbox]:
    settings = Settings(slack_bot_token=None, slack_signing_secret=None, slack_app_token=None,
                        slack_api_url=fake_slack.base_url, database_url=database_url, config_path="(test)",
                        port=0, log_level="INFO", sandbox=True)
    runtime = build_runtime(settings, make_config(), bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET,
                            slack_api_url=fake_slack.base_url)
    sock, port = bound_socket()
    url = f"http://127.0.0.1:{port}"
    app = create_app(runtime, worker=DeliveryWorker(runtime.factory, runtime.client, poll_interval=0.1),
                     extra_routes=sandbox_routes(fake_slack, runtime, app_url=url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 10, what="uvicorn to start")
    with httpx.Client(timeout=10, verify=_TLS) as http:
        yield Sandbox(url=url, fake=fake_slack, http=http, runtime=runtime)
    server.should_exit = True
    thread.join(10)


def _post_response(sandbox: Sandbox, payload: dict) -> dict:
    from bot.common.signing import sign_webhook
    from tests.conftest import WEBHOOK_SECRET

    body = httpx.Request("POST", "/", json=payload).content
    response = sandbox.http.post(f"{sandbox.url}/webhooks/generic", content=body,
                                 headers=sign_webhook(WEBHOOK_SECRET, body))
    assert response.status_code == 202, response.text
    return wait_for(lambda: next(iter(sandbox.fake.messages("C0SUCCESS")), None), what="the post in C0SUCCESS")


def _modal_page(sandbox: Sandbox) -> str:
    return wait_for(lambda: next((h for h in [sandbox.page()] if 'class="modal"' in h), None), what="a modal")


def _item_form(message: dict, action_id: str, user: str = "U0ANA", **extra: str) -> dict[str, str]:
    return {"as": user, "channel": "C0SUCCESS", "ts": message["ts"], "block_id": "cx_actions",
            "action_id": action_id, **extra}


def test_posted_response_shows_with_claim_and_claiming_from_the_page_shows_who(sandbox: Sandbox) -> None:
    message = _post_response(sandbox, NPS_2)
    html = sandbox.page()
    assert "#success" in html and "C0SUCCESS" in html and "Maya Chen" in html
    assert 'value="cx_claim"' in html and ">Claim</button>" in html

    response = sandbox.post("/sandbox/action", _item_form(message, ActionId.CLAIM))
    assert response.headers["location"] == "/sandbox?as=U0ANA"
    wait_for(lambda: 'Claimed by <span class="mention">@Ana Lima</span>' in sandbox.page(), what="Claimed by Ana")
    # A genuine signed block_actions reached the app: it claimed as Ana and threaded a note.
    assert wait_for(lambda: sandbox.fake.thread("C0SUCCESS", message["ts"]), what="the claim note")


def test_a_stale_claim_reaches_the_app_which_says_who_claimed_first(sandbox: Sandbox) -> None:
    message = _post_response(sandbox, NPS_2)
    # Ben's page still shows the Claim button (he loaded it before Ana clicked).
    ben_page = sandbox.page("U0BEN")
    claim_form = next(f for f in re.findall(r'<form method="post" action="/sandbox/action">(.*?)</form>', ben_page, re.S)
                      if f'value="{ActionId.CLAIM}"' in f and message["ts"] in f)
    stale = {k: html.unescape(v) for k, v in re.findall(r'name="(\w+)" value="([^"]*)"', claim_form)}
    sandbox.post("/sandbox/action", _item_form(message, ActionId.CLAIM))
    wait_for(lambda: "Claimed by" in sandbox.page("U0BEN"), what="Ana's claim on the page")

    sandbox.post("/sandbox/action", {**stale, "as": "U0BEN"})
    page = sandbox.page("U0BEN")
    assert "Already claimed by" in page and "@Ana Lima" in page
    assert "has changed since the page loaded" not in page


def test_customer_text_is_escaped_in_the_page(sandbox: Sandbox) -> None:
    _post_response(sandbox, NPS_2)
    html = sandbox.page()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    # Customer-typed mention syntax stays text: it never became a mention in Slack, nor here.
    assert "&lt;@U0BEN&gt;" in html and "&lt;!channel&gt;" in html


def test_resolve_modal_shows_errors_then_resolves(sandbox: Sandbox) -> None:
    message = _post_response(sandbox, NPS_2)
    sandbox.post("/sandbox/action", _item_form(message, ActionId.RESOLVE))
    html = _modal_page(sandbox)
    view_id = sandbox.fake.views()[-1]["id"]
    assert f'name="in_{InputId.OUTCOME}"' in html and "<textarea" in html
    assert 'class="modal"' not in sandbox.page("U0BEN")  # only the clicker sees it

    sandbox.post("/sandbox/view", {"as": "U0ANA", "view_id": view_id, f"in_{InputId.NOTE}": "called them"})
    assert "Choose an outcome." in sandbox.page()

    sandbox.post("/sandbox/view", {"as": "U0ANA", "view_id": view_id, f"in_{InputId.OUTCOME}": "fixed",
                                   f"in_{InputId.NOTE}": "called them"})
    wait_for(lambda: "Resolved by" in (h := sandbox.page()) and 'class="modal"' not in h, what="Resolved by")


def test_overflow_opens_reassign_modal_with_users_select(sandbox: Sandbox) -> None:
    message = _post_response(sandbox, NPS_2)
    [overflow] = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e["action_id"] == ActionId.MORE]
    [value] = [o["value"] for o in overflow["options"] if o["value"].startswith(f"{OverflowChoice.REASSIGN}:")]
    sandbox.post("/sandbox/action", _item_form(message, ActionId.MORE, value=value))
    html = _modal_page(sandbox)
    assert '<option value="U0BEN">Ben Okafor</option>' in html


def test_slash_command_answer_shows_as_an_ephemeral(sandbox: Sandbox) -> None:
    sandbox.post("/sandbox/command", {"as": "U0BEN", "channel": "C0SUCCESS", "text": "/cxloop help"})
    assert "Only visible to you" in sandbox.page("U0BEN")
    assert "Only visible to you" not in sandbox.page("U0ANA")


def test_vip_answer_buttons_work_from_the_ephemeral(sandbox: Sandbox) -> None:
    with sandbox.runtime.session() as session:
        for name, domain in (("Acme Corp", "acme.example"), ("Acme Labs", "acmelabs.example")):
            upsert_account(session, AccountRecord(name=name, domains=(domain,), owner="U0BEN"),
                           now=datetime.now(UTC))
    sandbox.post("/sandbox/command", {"as": "U0ANA", "channel": "C0SUCCESS", "text": "/vip acme"})
    page = sandbox.page()
    assert "Acme Labs" in page and "Check-in cadence" not in page
    # The first "Open" button of the ephemeral choice list, submitted as the page's own form would be.
    form = re.search(r'<form method="post" action="/sandbox/action">(.*?)</form>', page, re.S).group(1)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    assert fields["action_id"] == ActionId.VIP_OPEN and fields["ts"].startswith("eph:")
    sandbox.post("/sandbox/action", {k: html.unescape(v) for k, v in fields.items()})
    page = wait_for(lambda: (p := sandbox.page()) and "Check-in cadence" in p and p, what="the account card")
    assert "Log touch" in page and "Ben Okafor" in page


def test_render_mrkdwn_basics() -> None:
    names = {"U0ANA": "Ana Lima"}
    out = render_mrkdwn("*Bold* _it_ <@U0ANA> <https://x.example/a_b|link> <!date^1^{date}|2024-01-01>\n"
                        "> quoted &lt;b&gt;", names)
    assert "<b>Bold</b>" in out and "<i>it</i>" in out and "@Ana Lima" in out
    assert '<a href="https://x.example/a_b"' in out and "2024-01-01" in out
    assert "<blockquote>quoted &lt;b&gt;</blockquote>" in out
    assert "href" not in render_mrkdwn("<javascript:alert(1)|x>", names)


def test_render_mrkdwn_code_blocks_are_preformatted_not_literal_fences() -> None:
    # The weekly report's trend table is a ``` block: shown monospaced, its text escaped, no fences left.
    out = render_mrkdwn("*Trend*\n```\nWeek  Items\n2026-W42 &lt;b&gt; 22\n```\n*Rising themes:* none", {})
    assert "```" not in out
    assert "<pre>Week  Items\n2026-W42 &lt;b&gt; 22</pre>" in out
    assert out.startswith("<b>Trend</b>") and out.endswith("<b>Rising themes:</b> none")
    assert render_mrkdwn("```one line```", {}) == "<pre>one line</pre>"


def _send_sample(sandbox: Sandbox, kind: str, user: str = "U0ANA") -> tuple[int, str]:
    response = sandbox.post("/sandbox/sample", {"as": user, "kind": kind, "c": "C0SUCCESS"})
    with sandbox.runtime.session() as session:
        item_id, channel = session.execute(select(Item.id, Item.channel).order_by(Item.id.desc()).limit(1)).one()
    assert response.headers["location"] == f"/sandbox?as={user}&c={channel}"
    return item_id, channel


def test_sample_response_is_a_signed_webhook_and_its_post_is_on_the_page_it_opens(sandbox: Sandbox) -> None:
    item_id, channel = _send_sample(sandbox, "escalation")
    assert channel == "C0SUPPORT"  # routed by the configuration's escalation route, like any webhook
    html_ = sandbox.http.get(f"{sandbox.url}/sandbox", params={"as": "U0ANA", "c": channel}).text
    assert f'data-item="{item_id}"' in html_ and "Escalation" in html_
    assert f"item #{item_id}" in html_  # the page says what it sent


def test_run_digest_posts_the_digest_once(sandbox: Sandbox) -> None:
    _send_sample(sandbox, "detractor")
    today = datetime.now(UTC).astimezone(ZoneInfo("America/New_York")).date()
    form = {"as": "U0ANA", "team": "success", "day": today.isoformat(), "c": "C0SUCCESS"}
    assert sandbox.post("/sandbox/digest", form).headers["location"] == "/sandbox?as=U0ANA&c=C0SUCCESS"
    digests = [m for m in sandbox.fake.messages("C0SUCCESS") if "Daily digest" in m["text"]]
    assert len(digests) == 1 and "1 response" in digests[0]["text"]
    sandbox.post("/sandbox/digest", form)
    assert len([m for m in sandbox.fake.messages("C0SUCCESS") if "Daily digest" in m["text"]]) == 1
    assert "was already sent" in sandbox.page()


def test_home_tab_is_published_by_the_app_and_its_buttons_work(sandbox: Sandbox) -> None:
    item_id, channel = _send_sample(sandbox, "detractor")
    message = next(m for m in sandbox.fake.messages(channel) if not m.get("thread_ts"))
    sandbox.post("/sandbox/action", {**_item_form(message, ActionId.CLAIM), "channel": channel})
    sandbox.post("/sandbox/home", {"as": "U0ANA"})
    home = sandbox.http.get(f"{sandbox.url}/sandbox", params={"as": "U0ANA", "c": "home"}).text
    assert "Your day in cxloop" in home and "Your open claims</b> (1)" in home
    # A Home tab click: block_actions with the view and no channel, which the app answers with the modal.
    view = next(v for v in reversed(sandbox.fake.views()) if v["type"] == "home")
    # Home blocks carry no block_id; Slack (and the page) name them by position.
    [block_id] = [b.get("block_id") or f"blk{i}" for i, b in enumerate(view["view"]["blocks"])
                  if (b.get("accessory") or {}).get("action_id") == ActionId.HOME_RESOLVE]
    sandbox.post("/sandbox/action", {"as": "U0ANA", "channel": "", "ts": f"home:{view['id']}", "block_id": block_id,
                                     "action_id": ActionId.HOME_RESOLVE, "c": "home"})
    page = _modal_page(sandbox)
    assert f'name="in_{InputId.OUTCOME}"' in page


def test_restarted_sandbox_restores_its_channels_from_the_database(sandbox: Sandbox) -> None:
    item_id, channel = _send_sample(sandbox, "detractor")
    message = next(m for m in sandbox.fake.messages(channel) if m["ts"] and not m.get("thread_ts"))
    sandbox.post("/sandbox/action", {**_item_form(message, ActionId.CLAIM), "channel": channel})
    # The "claimed this" reply leaves through the outbox after the action answers: restore what was sent.
    wait_for(lambda: any("claimed this" in m["text"] for m in sandbox.fake.thread(channel, message["ts"])),
             what="the claim's thread reply")
    fresh = FakeSlack(token=BOT_TOKEN).start()
    try:
        assert restore_history(fresh, sandbox.runtime) >= 2  # the item and its thread
        [restored] = [m for m in fresh.messages(channel) if m["ts"] == message["ts"]]
        assert restored["metadata"]["event_payload"]["item_id"] == item_id
        assert any("Claimed by" in b.get("text", {}).get("text", "") for b in restored["blocks"])
        assert any("claimed this" in m["text"] for m in fresh.thread(channel, message["ts"]))
    finally:
        fresh.stop()


def test_restarted_sandbox_shows_the_digest_it_already_sent(sandbox: Sandbox) -> None:
    """The job ledger survives a restart, so the digest it says was sent must be in the channel again."""
    _send_sample(sandbox, "detractor")
    today = datetime.now(UTC).astimezone(ZoneInfo("America/New_York")).date()
    form = {"as": "U0ANA", "team": "success", "day": today.isoformat(), "c": "C0SUCCESS"}
    sandbox.post("/sandbox/digest", form)
    [digest] = [m for m in sandbox.fake.messages("C0SUCCESS") if "Daily digest" in m["text"]]
    fresh = FakeSlack(token=BOT_TOKEN).start()
    try:
        restore_history(fresh, sandbox.runtime)
        [restored] = [m for m in fresh.messages("C0SUCCESS") if "Daily digest" in m["text"]]
        assert restored["ts"] == digest["ts"] and restored["blocks"] == digest["blocks"]
    finally:
        fresh.stop()


def test_images_render_only_from_http_urls_and_files_are_served_by_the_page(sandbox: Sandbox) -> None:
    blocks = [{"type": "image", "image_url": "https://img.example/chart.png", "alt_text": "NPS <chart>"},
              {"type": "image", "image_url": "javascript:alert(1)", "alt_text": "bad"}]
    out = render_blocks(blocks, {}, None)
    assert '<img class="block-img" src="https://img.example/chart.png" alt="NPS &lt;chart&gt;"' in out
    assert "javascript:" not in out and "[image: bad]" in out
    assert sandbox.http.get(f"{sandbox.url}/sandbox/files/F0NOPE").status_code == 404


# --- dates: Slack date tokens with readable fallbacks, rendered for the reader ------------------------

CLAIM_LINE = re.compile(r"Claimed by <@U0ANA> · <!date\^(\d+)\^\{date_short_pretty\} at \{time\}\|([^>]*)>")


def test_the_claim_line_is_a_date_token_the_sandbox_shows_as_a_readable_local_time(sandbox: Sandbox) -> None:
    message = _post_response(sandbox, NPS_2)
    sandbox.post("/sandbox/action", _item_form(message, ActionId.CLAIM))
    claim = wait_for(lambda: CLAIM_LINE.search(json.dumps(sandbox.fake.messages("C0SUCCESS")[0]["blocks"],
                                                          ensure_ascii=False)), what="the claim line")
    epoch, fallback = int(claim.group(1)), claim.group(2)
    claimed = datetime.fromtimestamp(epoch, UTC)
    # The fallback (notifications, old clients) is a date a person reads, not 2026-12-03T16:06Z.
    assert fallback == f"{claimed:%a %d %b %Y %H:%M} UTC"
    # The sandbox shows the token as Slack does, in Ana's timezone (America/New_York), 12-hour clock.
    local = claimed.astimezone(ZoneInfo("America/New_York"))
    clock = f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
    html_page = sandbox.page()
    assert re.search(rf'Claimed by <span class="mention">@Ana Lima</span> · <time class="date" title="[^"]+">'
                     rf"(Today|Yesterday) at {clock}</time>", html_page), html_page
    assert "&lt;!date" not in html_page and not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", html_page)
    # The message's own time is in her timezone too, not the server's clock beside a local date token.
    posted = datetime.fromtimestamp(float(message["ts"]), UTC).astimezone(ZoneInfo("America/New_York"))
    posted_clock = f"{posted.hour % 12 or 12}:{posted:%M} {'AM' if posted.hour < 12 else 'PM'}"
    assert re.search(rf'<span class="who">[^<]*</span> <span class="muted">(Today|Yesterday) {posted_clock}</span>',
                     html_page), html_page


@pytest.mark.parametrize(("fmt", "now", "shown"), [
    ("{date_short_pretty} at {time}", datetime(2026, 12, 3, 20, 0, tzinfo=UTC), "Today at 11:06 AM"),
    ("{date_short_pretty} at {time}", datetime(2026, 12, 4, 20, 0, tzinfo=UTC), "Yesterday at 11:06 AM"),
    ("{date_short_pretty}", datetime(2026, 12, 20, tzinfo=UTC), "Dec 3, 2026"),
    ("{date_short}", datetime(2026, 12, 3, 20, 0, tzinfo=UTC), "Dec 3, 2026"),
    ("{date}", datetime(2026, 12, 3, 20, 0, tzinfo=UTC), "December 3rd, 2026"),
    ("{date_long} {time_secs}", datetime(2026, 12, 3, 20, 0, tzinfo=UTC), "Thursday, December 3rd, 2026 11:06:09 AM"),
    ("{date_num}", datetime(2026, 12, 3, 20, 0, tzinfo=UTC), "2026-12-03"),
    ("{ago}", datetime(2026, 12, 3, 19, 6, 9, tzinfo=UTC), "3 hours ago"),
])
def test_render_date_formats_a_token_as_slack_does(fmt, now, shown) -> None:
    epoch = int(datetime(2026, 12, 3, 16, 6, 9, tzinfo=UTC).timestamp())
    assert render_date(epoch, fmt, ZoneInfo("America/New_York"), now) == shown


def test_a_channel_mention_reads_as_the_channel_name_as_in_slack() -> None:
    html_out = render_mrkdwn("📣 Shared in <#C0SUCCESS>. See <#C0OTHER|general>.", {"C0SUCCESS": "success"})
    assert "#success" in html_out and "#general" in html_out and "C0SUCCESS" not in html_out


def test_restored_cards_say_who_else_said_something_similar(sandbox: Sandbox) -> None:
    """After a restart the latest cards come back as the worker renders them: with the similar line."""
    comments = ["The CSV export of our invoices fails every time", "Invoice CSV export fails again and again",
                "Our invoice export to CSV fails every single time"]
    for n, comment in enumerate(comments):
        _post_response(sandbox, {"id": f"similar-{n}", "kind": "nps", "score": 2, "comment": comment,
                                 "customer": {"email": f"c{n}@firm{n}.example", "name": f"Customer {n}"}})
    wait_for(lambda: len([m for m in sandbox.fake.messages("C0SUCCESS") if not m.get("thread_ts")]) >= 3,
             what="the three cards")
    with sandbox.runtime.session() as session:
        first = session.scalar(select(Item.id).where(Item.external_id == "similar-0"))
        ts = session.scalar(select(SlackMessage.ts).where(SlackMessage.item_id == first))
    fresh = FakeSlack(token=BOT_TOKEN).start()
    try:
        restore_history(fresh, sandbox.runtime)
        [card] = [m for m in fresh.messages("C0SUCCESS") if m["ts"] == ts]
        # The first card was posted before the others arrived; restored now, it names them.
        assert "2 other customers said something similar" in json.dumps(card["blocks"], ensure_ascii=False)
    finally:
        fresh.stop()
