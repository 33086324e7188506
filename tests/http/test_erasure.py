"""`cxloop forget` and `cxloop purge` against the running app: the database, the audit log, and what
the fake Slack shows after the real worker applies the erasure."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.erasure import email_hash
from bot.jobs import send_digest
from bot.slack.ids import ActionId, InputId, ViewId, item_value
from models import AuditEntry, Contact, FollowUp, Item, OutboxMessage
from models.base import utcnow
from tests.conftest import wait_for

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

    result = _cli(["forget", "maya.chen@ACME.example"], database_url)
    assert result.exit_code == 0 and "Erased 1 item(s) and 1 VIP-book contact(s)" in result.output
    app.runtime.queued()
    wait_for(lambda: "555-0199" not in _slack_text(app, "C0SUCCESS") and "Maya" not in _slack_text(app, "C0SUCCESS"),
             timeout=15, what="every Slack copy of her words and name to be rewritten")
    message = app.fake.message("C0SUCCESS", post["ts"])
    assert "[erased]" in json.dumps(message["blocks"])
    rewritten = app.fake.message("C0SUCCESS", digest["ts"])
    assert "[erased]" in json.dumps(rewritten["blocks"]) and "CSV export lost" not in json.dumps(rewritten)
    assert "Onboarding was confusing" in _slack_text(app, "C0SUCCESS")  # someone else's item is untouched

    with app.runtime.session() as session:
        item = session.get(Item, item_id)
        assert (item.comment, item.customer_name, item.customer_email) == ("[erased]", None, None)
        assert item.score == 0 and item.category == "detractor"  # the anonymous facts stay for reports
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


def test_purge_applies_the_retention_policy_once_and_audits_it(make_app, database_url):
    app = make_app(worker=False)
    old_id = app.post_webhook(OTHER).json()["id"]
    new_id = app.post_webhook(NPS_0).json()["id"]
    with app.runtime.session() as session:
        session.get(Item, old_id).received_at = utcnow() - timedelta(days=401)

    refused = _cli(["purge", "--older-than", "400"], database_url)
    assert refused.exit_code == 2 and "400d" in refused.output
    first = _cli(["purge", "--older-than", "400d", "--yes"], database_url)
    assert first.exit_code == 0 and "1 item(s)" in first.output
    second = _cli(["purge", "--older-than", "400d", "--yes"], database_url)
    assert "0 item(s)" in second.output
    with app.runtime.session() as session:
        assert session.get(Item, old_id) is None and session.get(Item, new_id) is not None
        assert session.scalar(select(func.count()).where(FollowUp.item_id == old_id)) == 0
        assert session.scalar(select(func.count()).where(OutboxMessage.item_id == old_id)) == 0
        assert [e.detail["items"] for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "purge").order_by(AuditEntry.id))] == [1, 0]
