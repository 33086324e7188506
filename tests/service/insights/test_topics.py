"""Topic discovery on a real database (SQLite and Postgres): a seeded week grouped into topics with
labels, counts, trend and quote; what is left out; tiny weeks; the weekly clock job, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from bot.db import session_scope
from bot.insights.topics import (
    compute_topics,
    discover_topics,
    forget_in_topics,
    similar_items,
    week_topics,
)
from bot.schedule.plans import TOPICS, WEEKLY_REPORT, due_runs
from bot.schedule.tick import tick
from models import Item, JobRun, Topic, TopicMember, TopicRun
from models.topic import ALL_TEAMS
from tests.conftest import make_config

WEEK = "2026-W48"                                   # Mon 23 Nov – Sun 29 Nov 2026
MONDAY = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)    # Monday 30 Nov, 09:30 in New York

EXPORT = [
    "The CSV export of our invoices fails every time",
    "Cannot export invoices to CSV since the update",
    "Invoice export to CSV is broken again",
    "Exporting invoices as CSV times out",
    "Our accountant cannot get the invoice CSV export",
    "CSV export drops half of the invoices",
    "Please fix the invoice export, the CSV is empty",
    "The export of invoices to CSV takes forever",
    "Invoices CSV export shows wrong totals",
    "Export invoices CSV button does nothing",
    "We need the CSV export of invoices to work",
    "Broken invoice export: CSV file never arrives",
]
LOGIN = [
    "Login with SSO does not work for our team",
    "SSO login loops back to the sign in page",
    "Cannot login since SSO was enabled",
    "The SSO login fails with an error",
    "Our users cannot login through SSO",
    "SSO login is very slow in the morning",
    "Login via SSO keeps asking for the password",
    "After the update the SSO login broke",
    "SSO login rejects valid accounts",
    "Login page hangs with SSO",
    "We get logged out and SSO login fails",
    "New hires cannot login with SSO",
]
LEFT_OUT = [("ok", "neutral"), ("", "neutral"), ("Great!", "positive"),
            ("Die Exportfunktion für Rechnungen funktioniert überhaupt nicht mehr", "not_analysed")]


def _item(n: int, comment: str, received_at: datetime, *, team: str = "success", label: str = "negative",
          email: str | None = None) -> dict:
    return {"source": "test", "external_id": f"t{n}", "kind": "nps", "score": n % 7, "category": "detractor",
            "comment": comment, "customer_name": f"Customer {n}", "customer_email": email or f"c{n}@example.com",
            "account_name": f"Account {n}", "sentiment_label": label, "themes": [], "properties": {}, "tags": [],
            "vip": False, "received_at": received_at, "updated_at": received_at, "team": team,
            "channel": "C0SUCCESS", "content_hash": "test", "revision": 1}


def seed_week(session, *, team: str = "success") -> None:
    rows = [_item(n, text, MONDAY + timedelta(hours=n), team=team) for n, text in enumerate(EXPORT + LOGIN)]
    rows += [_item(100 + n, text, MONDAY + timedelta(hours=n), team=team, label=label)
             for n, (text, label) in enumerate(LEFT_OUT)]
    # The week before: three export complaints, no login ones.
    rows += [_item(200 + n, EXPORT[n], MONDAY - timedelta(days=3, hours=n), team=team) for n in range(3)]
    session.execute(insert(Item.__table__), rows)


def test_a_week_is_grouped_into_labelled_topics_with_counts_trend_and_quote(session_factory):
    with session_scope(session_factory) as session:
        seed_week(session)
        compute_topics(session, week=WEEK, team="success", teams=["success"], timezone="UTC", now=NOW)
    with session_scope(session_factory) as session:
        found = week_topics(session, week=WEEK, scope="success")
        assert found is not None and found.note is None
        assert (found.analysed, found.skipped) == (24, 4)  # empty, short and German comments left out
        by_subject = {("export" if "export" in t.label else "login" if "login" in t.label else t.label): t
                      for t in found.topics}
        assert set(by_subject) == {"export", "login"}, [t.label for t in found.topics]
        export, login = by_subject["export"], by_subject["login"]
        assert "csv" in export.label and "sso" in login.label and " · " in export.label
        assert (export.count, login.count) == (12, 12)
        assert (export.previous_count, export.trend) == (3, "▲ from 3 the week before")
        assert (login.previous_count, login.trend) == (0, "new this week")
        # The quote is the member closest to the topic, with who said it and their score.
        assert export.quote.text in EXPORT and login.quote.text in LOGIN
        assert export.quote.who.startswith("Customer ") and export.quote.score.startswith("NPS ")
        members = session.scalar(select(func.count()).select_from(TopicMember))
        assert members == 24


def test_the_same_comments_give_the_same_topics(session_factory):
    with session_scope(session_factory) as session:
        seed_week(session)
        first = discover_topics(session, week=WEEK, team="success", teams=["success"], timezone="UTC")
        second = discover_topics(session, week=WEEK, team="success", teams=["success"], timezone="UTC")
    assert first == second and first.topics


def test_a_tiny_week_gets_no_topics_and_says_why(session_factory):
    with session_scope(session_factory) as session:
        session.execute(insert(Item.__table__), [_item(n, text, MONDAY) for n, text in enumerate(EXPORT[:5])])
        compute_topics(session, week=WEEK, team="success", teams=["success"], timezone="UTC", now=NOW)
    with session_scope(session_factory) as session:
        found = week_topics(session, week=WEEK, scope="success")
        assert found.topics == [] and found.note == "too few comments to find topics: 5 this week, at least 20 needed"


def test_the_weekly_job_computes_each_team_and_all_teams_once_before_the_report(session_factory):
    config = make_config()
    with session_scope(session_factory) as session:
        seed_week(session)
    planned = [(run.job, run.target, run.period) for run in due_runs(config, NOW)]
    assert planned.index((TOPICS, "success", WEEK)) < planned.index((WEEKLY_REPORT, "success", WEEK))
    assert (TOPICS, ALL_TEAMS, WEEK) in planned
    for _ in range(2):  # a second clock (or tick) finds the ledger claimed and computes nothing again
        tick(session_factory, config, now=NOW, claimed_by="test-clock")
    with session_scope(session_factory) as session:
        runs = {run.scope: run for run in session.scalars(select(TopicRun))}
        assert set(runs) == {"success", "support", ALL_TEAMS}
        assert session.scalar(select(func.count()).where(JobRun.job == TOPICS)) == 3
        assert runs["support"].note.startswith("too few comments")
        assert week_topics(session, week=WEEK, scope=ALL_TEAMS).analysed == 24


def test_forget_leaves_the_topics_and_moves_the_quote(session_factory):
    with session_scope(session_factory) as session:
        seed_week(session)
        compute_topics(session, week=WEEK, team="success", teams=["success"], timezone="UTC", now=NOW)
    with session_scope(session_factory) as session:
        topic = session.scalars(select(Topic).where(Topic.label.contains("csv"))).one()
        quoted = topic.quote_item_id
        session.get(Item, quoted).erased_at = NOW
        assert forget_in_topics(session, [quoted]) == 1
    with session_scope(session_factory) as session:
        topic = session.get(Topic, topic.id)
        assert topic.quote_item_id not in (None, quoted) and topic.count == 12
        assert session.scalar(select(func.count()).where(TopicMember.item_id == quoted)) == 0


def test_similar_is_the_topic_for_a_member_and_the_nearest_comments_for_a_newer_item(session_factory):
    with session_scope(session_factory) as session:
        seed_week(session)
        compute_topics(session, week=WEEK, team="success", teams=["success"], timezone="UTC", now=NOW)
        member = session.scalar(select(Item.id).where(Item.external_id == "t0"))
        newer = Item(**_item(500, "The CSV export of invoices is failing for us too", NOW + timedelta(hours=1)))
        same_customer = Item(**_item(501, "Invoice CSV export broken", NOW, email="c0@example.com"))
        session.add_all([newer, same_customer])
    with session_scope(session_factory) as session:
        similar = similar_items(session, member, now=NOW + timedelta(hours=2))
        # The 11 other export members, and the later comment of the same customer is not "another customer".
        assert similar.customers == 11 and similar.links == ()  # nothing was posted to Slack here
        nearest = similar_items(session, newer.id, now=NOW + timedelta(hours=2))
        assert nearest is not None and nearest.customers >= 5
        # Nothing similar 30 days on.
        assert similar_items(session, member, now=NOW + timedelta(days=40)) is None
