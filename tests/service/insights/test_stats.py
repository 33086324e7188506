"""One definition per figure (bot.insights.stats, bot.common.periods): the digest, the weekly report, the
dashboard (page over HTTP, and its data), the App Home, `/cxloop stats` and the SLA reminders give the
same number for the same team and window, and each states its window.

Each test seeds data on which the places used to disagree (items claimed on a day but received before
it, an NPS response just outside the local 7 days but inside "now − 7 × 24 h", an item exactly at its
SLA), on SQLite and Postgres.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.common.periods import local_midnight, parse_week, range_label, window_label
from bot.db import session_scope
from bot.followups.commands import run_cxloop_command
from bot.followups.home import home_view, load_home
from bot.insights.dashboard import dashboard_data, resolve_filters
from bot.insights.digest import build_daily_digest, build_weekly_report, digest_window, report_message
from bot.intake.scoring import categorize
from bot.schedule.reminders import nudge_unclaimed_items
from models import Account, FollowUp, Item, Touch
from tests.conftest import _TLS, TEST_CONFIG, make_config

NY = ZoneInfo("America/New_York")
CONFIG = make_config({**TEST_CONFIG, "teams": [
    {"name": "success", "channel": "C0SUCCESS", "timezone": "America/New_York", "members": ["U0ANA", "U0BEN"]},
    {"name": "support", "channel": "C0SUPPORT", "timezone": "Europe/London"},
]})
SUCCESS = CONFIG.team("success")
DAY = date(2026, 11, 20)                          # a Friday in New York (UTC−5)
TOKEN = "stats-dashboard-token"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY).astimezone(UTC)


def add_item(session, n: int, *, kind: str = "nps", score: int | None = 3, received_at: datetime,
             claimed_at: datetime | None = None, claimed_by: str | None = "U0ANA",
             resolved_at: datetime | None = None, team: str = "success") -> Item:
    item = Item(source="generic", external_id=f"stat-{n}", kind=kind, score=score, category=categorize(kind, score),
                customer_name=f"Customer {n}", themes=[], received_at=received_at, updated_at=received_at, team=team,
                channel="C0SUCCESS" if team == "success" else "C0SUPPORT", content_hash="x")
    session.add(item)
    session.flush()
    status = "resolved" if resolved_at else "claimed" if claimed_at else "open"
    session.add(FollowUp(item_id=item.id, status=status, claimed_by=claimed_by if claimed_at else None,
                         claimed_at=claimed_at, resolved_by=claimed_by if resolved_at else None,
                         resolved_at=resolved_at, updated_at=received_at))
    return item


def page_metrics(html: str) -> dict[str, tuple[str, str, str]]:
    """data-metric → (data-value, shown value, the card's sub-line)."""
    found = re.findall(r'data-metric="([^"]+)" data-value="([^"]*)">([^<]*)</div><div class="s">([^<]*)</div>', html)
    return {metric: (value, shown, sub) for metric, value, shown, sub in found}


def dashboard_page(make_app, factory_seed, query: str) -> dict[str, tuple[str, str, str]]:
    app = make_app(CONFIG, worker=False)
    app.runtime.settings = replace(app.runtime.settings, dashboard_token=TOKEN)
    with session_scope(app.runtime.factory) as session:
        factory_seed(session)
    response = httpx.get(f"{app.url}/dashboard?{query}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10, verify=_TLS)
    assert response.status_code == 200, response.text
    return app, page_metrics(response.text.replace("&#x27;", "'"))


# --- median time to claim --------------------------------------------------------------------------


def seed_claims(session) -> None:
    """Claims on DAY of items received days before, and items received on DAY claimed after it."""
    for n, (received, claimed) in enumerate([
            (local(DAY - timedelta(days=3), 9), local(DAY, 9)),        # received before DAY, claimed on it
            (local(DAY - timedelta(days=2), 16), local(DAY, 11, 30)),
            (local(DAY, 8), local(DAY, 8, 20)),                         # received and claimed on DAY
            (local(DAY, 10), local(DAY + timedelta(days=1), 9)),        # received on DAY, claimed after it
            (local(DAY, 12), local(DAY + timedelta(days=2), 9))]):
        add_item(session, n, received_at=received, claimed_at=claimed)


def test_median_time_to_claim_is_the_same_in_the_digest_the_report_the_home_and_the_dashboard(make_app) -> None:
    now = local(DAY + timedelta(days=3), 9)
    app, page = dashboard_page(make_app, seed_claims, f"team=success&from={DAY}&to={DAY}")
    factory = app.runtime.factory
    with session_scope(factory) as session:
        digest = build_daily_digest(session, team=SUCCESS, day=DAY, now=now)
        day = dashboard_data(session, config=CONFIG, team="success", start=DAY, end=DAY, now=now)
        week = parse_week("2026-W47")
        report = build_weekly_report(session, team=SUCCESS, week="2026-W47", now=now)
        dashboard_week = dashboard_data(session, config=CONFIG, team="success", start=week,
                                        end=week + timedelta(days=6), now=now)
        home = load_home(session, user_id="U0ANA", config=CONFIG, now=local(DAY, 23))
        dashboard_home = dashboard_data(session, config=CONFIG, team="success", owner="U0ANA",
                                        start=DAY - timedelta(days=6), end=DAY, now=local(DAY, 23))
    # The claims made on DAY: 3 days, 2 days minus 4.5 h, and 20 minutes after arrival → median 43.5 h.
    expected = 43.5 * 60
    assert digest.median_claim_minutes == pytest.approx(expected, abs=0.01)
    assert day.median_claim_minutes == pytest.approx(expected, abs=0.01) and day.claimed_count == 3
    assert float(page["median-claim"][0]) == pytest.approx(expected, abs=0.01)
    assert page["median-claim"][2] == "over 3 items claimed 20 Nov 2026"
    assert report.current.median_claim_minutes == pytest.approx(dashboard_week.median_claim_minutes, abs=0.01)
    assert home.median_claim_minutes == pytest.approx(dashboard_home.median_claim_minutes, abs=0.01)
    assert home.median_claim_minutes == pytest.approx(expected, abs=0.01)
    assert "*Your last 7 days to 20 Nov*" in str(home_view(home))


# --- NPS -------------------------------------------------------------------------------------------


def test_nps_of_the_last_7_days_is_the_same_in_the_command_the_digest_and_the_dashboard(session_factory) -> None:
    now = local(DAY, 10)  # 10:00 in New York: "now − 7 × 24 h" is 10:00 on 13 Nov
    with session_scope(session_factory) as session:
        add_item(session, 1, score=10, received_at=local(DAY, 8))
        add_item(session, 2, score=9, received_at=local(DAY - timedelta(days=6), 0, 5))   # first local day
        add_item(session, 3, score=0, received_at=local(DAY - timedelta(days=7), 23))     # 13 Nov 23:00: outside
        add_item(session, 4, score=2, received_at=local(DAY - timedelta(days=7), 23, 30))
    with session_scope(session_factory) as session:
        stats = run_cxloop_command(session, text="stats 7d", user_id="U0ANA", channel_id="C0SUCCESS", config=CONFIG,
                                   now=now)
        digest = build_daily_digest(session, team=SUCCESS, day=DAY, now=now)
        dash = dashboard_data(session, config=CONFIG, team="success", start=DAY - timedelta(days=6), end=DAY, now=now)
    assert digest.nps_7d == dash.nps == 100 and digest.nps_7d_count == dash.nps_count == 2
    assert "*Last 7 days to 20 Nov for success*" in stats
    assert "NPS *+100* from 2 responses" in stats


# --- SLA breach ------------------------------------------------------------------------------------


def test_the_reminder_and_the_dashboard_call_the_same_item_breached_at_the_same_moment(session_factory) -> None:
    received = local(DAY, 10)  # a detractor: SLA 4 h (the default [schedule].sla_hours)
    with session_scope(session_factory) as session:
        add_item(session, 1, score=2, received_at=received)
    for now, breached in ((received + timedelta(hours=4), False), (received + timedelta(hours=4, minutes=1), True)):
        with session_scope(session_factory) as session:
            nudged = nudge_unclaimed_items(session, config=CONFIG, now=now, claimed_by="test")
            dash = dashboard_data(session, config=CONFIG, team="success", start=DAY, end=DAY, now=now)
        assert nudged == int(breached), now
        assert [item.sla_breached for item in dash.open_items] == [breached], now
        assert dash.sla_breaches == int(breached), now


# --- VIP coverage ----------------------------------------------------------------------------------


def seed_vips(session) -> None:
    end = local_midnight(date(2026, 11, 23), "America/New_York")  # the end of W47 in New York
    created = end - timedelta(days=400)
    for n, (owner, cadence, touched_days_before) in enumerate([
            ("U0ANA", 30, 5), ("U0ANA", 30, 29.9), ("U0BEN", 30, 40), ("U0BEN", 7, 3), ("U0BEN", 7, 10),
            ("U0ANA", 30, -2), ("U0ANA", 30, None), ("U0CARA", 30, 1)]):
        touched = None if touched_days_before is None else end - timedelta(days=touched_days_before)
        account = Account(name=f"A{n}", search_name=f"a{n}", vip=True, owner=owner, cadence_days=cadence,
                          properties={}, last_touch_at=touched, next_due_at=end, created_at=created, updated_at=created)
        session.add(account)
        session.flush()
        if touched is not None:
            session.add(Touch(account_id=account.id, actor=owner, channel="call", touched_at=touched, created_at=end))


def test_vip_coverage_is_the_same_in_the_weekly_report_and_on_the_dashboard_page(make_app) -> None:
    app, page = dashboard_page(make_app, seed_vips, "team=success&from=2026-11-16&to=2026-11-22")
    now = local(date(2026, 11, 30), 9)
    with session_scope(app.runtime.factory) as session:
        report = build_weekly_report(session, team=SUCCESS, week="2026-W47", now=now)
    # The members' 7 accounts; touched within cadence at the end of 22 Nov: 5 and 29.9 days before (30-day
    # cadence), 3 days before (7-day cadence).
    assert (report.vip_total, report.vip_touched_within_cadence) == (7, 3)
    assert page["vip-coverage"][:2] == (f"{100 * 3 / 7:.2f}", "43%")
    assert page["vip-coverage"][2] == "3 of 7 VIPs touched within cadence, as of 22 Nov"
    assert "43% of 7 VIPs touched within cadence as of 22 Nov" in str(report_message(report)[1])


# --- periods ---------------------------------------------------------------------------------------


def test_a_local_day_is_the_same_span_in_the_digest_and_the_dashboard_on_dst_days() -> None:
    for day in (date(2026, 3, 8), date(2026, 11, 1), DAY):
        filters = resolve_filters(config=CONFIG, team="success", kind=None, start=day, end=day,
                                  now=local(DAY + timedelta(days=1), 9))
        assert digest_window(SUCCESS, day) == (filters.start_utc, filters.end_utc)
    assert window_label(DAY - timedelta(days=6), DAY) == "last 7 days to 20 Nov"
    assert window_label(DAY, DAY) == "20 Nov"
    assert range_label(date(2026, 11, 16), date(2026, 11, 22)) == "16 Nov – 22 Nov 2026"
    assert range_label(date(2026, 12, 28), date(2027, 1, 3)) == "28 Dec 2026 – 3 Jan 2027"
