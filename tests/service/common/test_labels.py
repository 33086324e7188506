"""One label per item (bot.common.labels) and one "waiting items" definition (bot.followups.queries):
the digest, `/cxloop open|mine`, the App Home, the follow-up DM, modals and the VIP card name the same
item the same way, and count the same unclaimed items, on SQLite and Postgres."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from bot.common.labels import item_label
from bot.db import session_scope
from bot.followups.commands import run_cxloop_command
from bot.followups.home import load_home
from bot.followups.service import item_summary
from bot.insights.dashboard import dashboard_data
from bot.insights.digest import build_daily_digest
from bot.intake.scoring import categorize
from bot.schedule.reminders import follow_up_due_message
from models import FollowUp, Item
from tests.conftest import TEST_CONFIG, make_config

CONFIG = make_config({**TEST_CONFIG, "teams": [
    {"name": "success", "channel": "C0SUCCESS", "timezone": "America/New_York", "members": ["U0ANA"]},
    {"name": "support", "channel": "C0SUPPORT", "timezone": "Europe/London"},
]})
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LABEL = "NPS 3 · Detractor — Maya Chen (Acme) ⭐"


def add(session, n: int, *, status: str = "open", team: str = "success", kind: str = "nps", score: int | None = 3,
        name: str | None = "Maya Chen", account: str | None = "Acme", vip: bool = True, subject: str | None = None,
        priority: str | None = None, days_ago: int = 1) -> Item:
    received = NOW - timedelta(days=days_ago, hours=n)
    item = Item(source="generic", external_id=f"label-{n}", kind=kind, score=score, category=categorize(kind, score),
                customer_name=name, customer_email=f"c{n}@example.com" if name else None, account_name=account, vip=vip,
                subject=subject, priority=priority, themes=[], received_at=received, updated_at=received, team=team,
                channel="C0SUCCESS" if team == "success" else "C0SUPPORT", content_hash="x")
    session.add(item)
    session.flush()
    session.add(FollowUp(item_id=item.id, status=status, claimed_by="U0ANA" if status != "open" else None,
                         claimed_at=received + timedelta(minutes=5) if status != "open" else None,
                         resolved_at=received + timedelta(minutes=9) if status == "resolved" else None,
                         updated_at=received))
    return item


def test_an_item_has_one_label_everywhere_it_is_listed(session_factory) -> None:
    with session_scope(session_factory) as session:
        item_id = add(session, 1).id
        add(session, 2, kind="escalation", score=None, name=None, account=None, vip=False, subject="Server down",
            priority="HIGH")
    with session_scope(session_factory) as session:
        item = session.get(Item, item_id)
        digest = build_daily_digest(session, team=CONFIG.team("success"), day=date(2026, 11, 19), now=NOW)
        opened = run_cxloop_command(session, text="open", user_id="U0ANA", channel_id="C0SUCCESS", config=CONFIG,
                                    now=NOW)
        home = load_home(session, user_id="U0ANA", config=CONFIG, now=NOW)
        dm_text, _ = follow_up_due_message(item, None)
        summary = item_summary(session, item_id)
    assert [ref.label for ref in digest.oldest_unclaimed] == ["Escalation (high) — Server down", LABEL]
    assert [entry.label for entry in home.unclaimed] == ["Escalation (high) — Server down", LABEL]
    listed = re.findall(r"^• (.*) — <!date", opened, flags=re.MULTILINE)
    assert listed == ["Escalation (high) — Server down", LABEL]
    assert dm_text == f"📅 Follow up today: {LABEL}"
    assert summary == LABEL == item_label(item)


def test_the_unclaimed_items_of_a_team_are_the_same_in_every_list(session_factory) -> None:
    with session_scope(session_factory) as session:
        for n in range(7):
            add(session, n, name=f"Open {n}", days_ago=1 + n * 3)          # unclaimed, some weeks old
        add(session, 10, status="claimed", name="Held")
        add(session, 11, status="resolved", name="Done")
        add(session, 12, team="support", name="Elsewhere")
    with session_scope(session_factory) as session:
        digest = build_daily_digest(session, team=CONFIG.team("success"), day=date(2026, 11, 19), now=NOW)
        opened = run_cxloop_command(session, text="open", user_id="U0ANA", channel_id="C0SUCCESS", config=CONFIG,
                                    now=NOW)
        home = load_home(session, user_id="U0ANA", config=CONFIG, now=NOW)
        dash = dashboard_data(session, config=CONFIG, team="success", owner="unclaimed", start=date(2026, 10, 1),
                              end=date(2026, 11, 20), now=NOW)
    assert digest.unclaimed_total == home.unclaimed_total == len(dash.open_items) == 7
    assert "*Unclaimed items for success* (7)" in opened
    assert [ref.label for ref in digest.oldest_unclaimed] == [entry.label for entry in home.unclaimed[:5]]
    assert dash.open_items_total == 7  # "Open items" with the unclaimed filter: the same seven
