"""Topics end to end: comments arrive as signed webhooks; the weekly report in Slack and the dashboard
over HTTP show the week's topics; the item card says "N other customers said something similar" with
links; `cxloop forget` takes a customer's quote and membership out of all of it."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.common.periods import iso_week_label, local_today
from bot.insights.scheduled import send_report
from bot.slack.ids import ActionId, item_value
from models import Item, Topic, TopicMember
from models.base import utcnow
from tests.conftest import wait_for
from tests.service.insights.test_topics import EXPORT, LOGIN

TOKEN = "dashboard-test-token-0123456789"


def _body(n: int, comment: str) -> dict:
    return {"id": f"topic-{n}", "kind": "nps", "score": 3, "comment": comment,
            "customer": {"email": f"person{n}@customer{n}.example", "name": f"Person {n}", "account": f"Firm {n}"}}


def _cards(app) -> dict[int, dict]:
    return {p["metadata"]["event_payload"]["item_id"]: p for p in app.posts("C0SUCCESS")
            if (p.get("metadata") or {}).get("event_type") == "cxloop_item"}


def _report(app) -> dict:
    return next(m for m in app.fake.messages("C0SUCCESS")
                if any(b.get("block_id") == "cx_report_topics" for b in m.get("blocks") or []))


def test_the_weeks_topics_reach_the_report_the_dashboard_and_the_card_and_forget_takes_her_out(
        make_app, database_url):
    app = make_app()
    app.runtime.settings = replace(app.runtime.settings, dashboard_token=TOKEN)
    comments = EXPORT + LOGIN + ["ok", "Sehr schlecht, der Export der Rechnungen geht nicht mehr"]
    ids = [app.post_webhook(_body(n, text)).json()["id"] for n, text in enumerate(comments)]
    app.wait_for_post("C0SUCCESS", len(comments))
    posts = _cards(app)

    # The weekly report of this week: its topics are computed on demand, as `cxloop report` does.
    team = app.runtime.config.team("success")
    now = utcnow()
    week = iso_week_label(local_today(now, team.timezone))
    with app.runtime.session() as session:
        assert send_report(session, config=app.runtime.config, team=team, kind="weekly", period=week, now=now,
                           claimed_by="test")
    app.runtime.queued()
    app.idle()
    report = json.dumps(_report(app)["blocks"])
    assert "Topics this week" in report and "From 24 comments (2 empty, very short or not in English" in report
    assert "csv" in report and "sso" in report and "12 comments, new this week" in report
    with app.runtime.session() as session:
        export = session.scalars(select(Topic).where(Topic.label.contains("csv"))).one()
        quoted = session.get(Item, export.quote_item_id)
        quote_email, quote_text = quoted.customer_email, quoted.comment
    assert quote_text in report and f"Person {ids.index(quoted.id)}" in report

    # The dashboard shows them, with the same quote.
    page = app.http.get(f"{app.url}/dashboard?team=success", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200 and 'id="topics"' in page.text
    assert f"Topics of {week}" in page.text and quote_text in page.text and "new this week" in page.text
    # Its count opens the comments behind it: as many as it counts, the quote among them.
    [href] = re.findall(rf'href="(/dashboard/comments\?[^"]*topic={export.id}[^"]*)" data-count="12"', page.text)
    listed = app.http.get(f"{app.url}{html.unescape(href)}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert listed.status_code == 200 and "of 12" in listed.text and quote_text in listed.text, listed.text[:2000]
    bad = app.http.get(f"{app.url}/dashboard/comments?topic=x", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bad.status_code == 400 and "topic" in bad.text

    # A card refreshed after the run (a claim) names the other customers of its topic, with links.
    member = ids[1] if ids[1] != quoted.id else ids[2]
    app.click(ActionId.CLAIM, item_value(member), user="U0ANA", channel="C0SUCCESS", ts=posts[member]["ts"])

    def card_line(item_id: int) -> str:
        blocks = app.fake.message("C0SUCCESS", posts[item_id]["ts"])["blocks"] if item_id in posts else []
        context = next((b for b in blocks if b.get("block_id") == "cx_context"), {"elements": []})
        return " ".join(e.get("text", "") for e in context["elements"])

    def claimed() -> bool:
        blocks = app.fake.message("C0SUCCESS", posts[member]["ts"])["blocks"]
        return "Claimed by" in json.dumps([b for b in blocks if b.get("block_id") == "cx_status"])

    wait_for(claimed, what="the claimed card")
    line = card_line(member)
    assert "11 other customers said something similar this month" in line
    links = [ts for ts in (posts[i]["ts"].replace(".", "") for i in ids[:12]) if f"/p{ts}|#" in line]
    assert len(links) == 3 and "https://slack.com/archives/C0SUCCESS/p" in line

    # A comment newer than the run is compared with the month's comments when its card is posted.
    newer = app.post_webhook(_body(99, "Our invoices CSV export failed again this morning")).json()["id"]
    wait_for(lambda: newer in _cards(app), what="the new card")
    posts.update(_cards(app))
    assert "other customers said something similar this month: <https://slack.com/archives/C0SUCCESS/p" \
        in card_line(newer)

    # Forget the quoted customer: her quote leaves the report in Slack and the dashboard, her membership goes.
    result = CliRunner().invoke(main, ["forget", quote_email], catch_exceptions=False, env={
        "DATABASE_URL": database_url, "SLACK_BOT_TOKEN": None, "CXLOOP_CONFIG": "/nonexistent.toml"})
    assert result.exit_code == 0, result.output
    app.runtime.queued()
    wait_for(lambda: quote_text not in json.dumps(_report(app)["blocks"]), timeout=15,
             what="the report's quote of her to be removed")
    assert "csv" in json.dumps(_report(app)["blocks"])  # the topic stays, without her words
    with app.runtime.session() as session:
        assert session.scalar(select(func.count()).where(TopicMember.item_id == quoted.id)) == 0
        moved = session.get(Topic, export.id)
        assert moved.quote_item_id not in (None, quoted.id) and moved.count == 12
        new_quote = session.get(Item, moved.quote_item_id).comment
    page = app.http.get(f"{app.url}/dashboard?team=success", headers={"Authorization": f"Bearer {TOKEN}"})
    assert quote_text not in page.text and new_quote in page.text
