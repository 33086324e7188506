"""Every Block Kit builder's output parsed by slack_sdk's own models: a second check, independent of
the fake Slack's validator."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.followups.home import HomeData, HomeItem, home_view
from bot.insights.digest import (
    DailyDigest,
    ItemRef,
    PeriodStats,
    Quote,
    TrendReport,
    digest_message,
    report_message,
)
from bot.intake.escalations import escalate_modal
from bot.sandbox.fake_slack import validate_blocks, validate_view
from bot.schedule.reminders import checkin_blocks, follow_up_due_message
from bot.slack import blocks as item_blocks
from bot.slack.blocks import ItemView
from bot.slack.vip_blocks import (
    AccountCard,
    ItemLine,
    TouchView,
    account_card,
    account_choices,
    assign_owner_modal,
    due_list,
    log_touch_modal,
    no_match,
)
from bot.vip.picks import Pick
from bot.vip.search import Match
from models import Account, Item, SlackMessage
from tests.conftest import make_config

NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


def _valid_blocks(blocks: list[dict]) -> None:
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()


def _item(status: str) -> ItemView:
    return ItemView(item_id=7, kind="nps", score=2, category="detractor", comment="It <broke> & stayed broken",
                    source="generic", team="success", received_at=NOW, status=status, customer_name="Maya",
                    customer_email="maya@acme.example", account_name="Acme", plan="pro", segment=None, vip=True,
                    subject=None, priority=None, sentiment_label="negative", sentiment_polarity=-0.6,
                    themes=("billing",), tags=(), url="https://x.example/r/7", route_name="detractors",
                    claimed_by="U0ANA" if status != "open" else None, claimed_at=NOW if status != "open" else None,
                    resolved_by="U0ANA" if status == "resolved" else None,
                    resolved_at=NOW if status == "resolved" else None,
                    outcome="fixed" if status == "resolved" else None, follow_up_on=None, snoozed_until=None,
                    reply_via="e-mail from Acme CX <cx@acme.example>")


@pytest.mark.parametrize("status", ["open", "claimed", "resolved"])
def test_item_messages_parse(status):
    _valid_blocks(item_blocks.item_message(_item(status))[1])


@pytest.mark.parametrize("view", [
    item_blocks.resolve_modal(7, summary="Maya <x>"), item_blocks.reply_modal(7, via="e-mail from A <a@b>", to="m@x"),
    item_blocks.note_modal(7), item_blocks.reassign_modal(7), item_blocks.follow_up_modal(7, date(2026, 12, 9)),
    item_blocks.snooze_modal(7),
    escalate_modal(channel_id="C0SALES", message_ts="1.2", message_text="down", config=make_config()),
])
def test_modals_parse(view):
    View(**view).validate_json()


def test_thread_note_ephemeral_and_check_in_parse():
    _valid_blocks(item_blocks.thread_note("note", "quoted <text>")[1])
    _valid_blocks(item_blocks.ephemeral_text("hello"))
    due = [Pick(Account(id=i, name=f"A{i}", cadence_days=30, vip=True, next_due_at=NOW - timedelta(days=i)), 1.0,
                ("renews in 3 days", "$120k ARR"), i) for i in range(1, 26)]
    _valid_blocks(checkin_blocks(due, candidates=30))


# ---- every other builder, with the largest data it can be given (long texts, many rows)

LONG = "Checkout <broke> & the *export* _never_ finished ~ `again` " * 80  # ~4 800 characters, mrkdwn-hostile
ITEM_REFS = [ItemRef(n, f"NPS {n % 11} · {LONG}", f"https://sandbox.slack.local/archives/C0S/p{n}", NOW)
             for n in range(200)]


def _valid_view(view: dict) -> None:
    View(**view).validate_json()  # the View model parses its blocks too
    assert validate_view(view) == []  # and the fake agrees


def test_app_home_with_long_lists_parses():
    entries = [HomeItem(n, f"NPS 2 · {LONG}", f"https://sandbox.slack.local/archives/C0S/p{n}", NOW - timedelta(days=n))
               for n in range(300)]
    data = HomeData(user_id="U0ANA", claims=entries, unclaimed=entries, team_names=[LONG] * 40,
                    vips_due=[(n, LONG, (LONG, "300 days overdue")) for n in range(300)], touches_7d=10**6,
                    resolved_7d=10**6, median_claim_minutes=10.0**7)
    _valid_view(home_view(data))
    empty = HomeData(user_id="U0ANA", claims=[], unclaimed=[], team_names=[], vips_due=[], touches_7d=0,
                     resolved_7d=0, median_claim_minutes=None)
    _valid_view(home_view(empty))


def test_vip_card_lists_and_modals_parse():
    card = AccountCard(
        account_id=42, name=LONG, vip=True, tier=LONG, owner="U0ANA", plan=LONG, arr=10.0**13,
        renewal_on=date(2026, 9, 30), domains=tuple(f"{n}.{LONG[:40]}.example" for n in range(50)), cadence_days=30,
        cadence_status=LONG, last_touch=TouchView(when=NOW, who="U0ANA", channel="email", note=LONG),
        scores=tuple((NOW - timedelta(days=n), "nps", n % 11) for n in range(100)),
        open_items=tuple(ItemLine(n, LONG, f"https://crm.example/{'x' * 300}/{n}", NOW) for n in range(200)),
        comments=tuple((NOW, LONG) for _ in range(100)))
    for shareable in (True, False):
        _valid_blocks(account_card(card, shareable=shareable))
    matches = [Match(n, LONG, 70.0, f"contact {LONG}") for n in range(100)]
    _valid_blocks(account_choices(matches, LONG))
    _valid_blocks(no_match(LONG, matches[:5]))
    _valid_blocks(no_match(LONG, []))
    _valid_blocks(due_list([(n, LONG, "30 days overdue") for n in range(300)], title=LONG))
    _valid_blocks(due_list([], title="Due"))
    _valid_view(log_touch_modal(42, LONG))
    _valid_view(assign_owner_modal(42, LONG, "U0ANA"))
    _valid_view(assign_owner_modal(42, LONG, None))


def _digest(**changes) -> DailyDigest:
    quote = Quote(item_id=1, text=LONG, who=LONG, score=0, kind="nps")
    digest = DailyDigest(
        team=LONG, day=date(2026, 12, 7), responses_by_kind={k: 10**5 for k in ("nps", "csat", "ces", "support")},
        nps_day=-100, nps_day_count=10**5, nps_7d=100, nps_prev_7d=-100, detractors_new=10**5,
        detractors_claimed=10**5, detractors_resolved=10**5, detractors_open=10**5, median_claim_minutes=10.0**7,
        median_resolve_minutes=10.0**7, top_themes=[(f"theme-{n}-{LONG[:60]}", n) for n in range(20)],
        critical_quote=quote, glowing_quote=quote, oldest_unclaimed=ITEM_REFS, top_closer=("U0ANA", 10**5),
        claimed_total=10**5, resolved_total=10**5, timezone="Pacific/Kiritimati", nps_7d_count=10**5)
    return replace(digest, **changes)


def test_daily_digest_busy_and_quiet_parse():
    for digest in (_digest(), _digest(critical_quote=None, glowing_quote=None, oldest_unclaimed=[], top_themes=[],
                                      nps_day=None, nps_7d=None, nps_prev_7d=None, top_closer=None),
                   _digest(responses_by_kind={}, claimed_total=0, resolved_total=0)):
        text, blocks = digest_message(digest)
        _valid_blocks(blocks)
        assert validate_blocks(blocks) == [] and text


@pytest.mark.parametrize("kind", ["weekly", "monthly"])
def test_weekly_and_monthly_reports_parse(kind):
    periods = [PeriodStats(label=f"2026-W{n:02d}", start=NOW, end=NOW, volume=10**6, nps=(-1) ** n * 100,
                           nps_count=10**6, detractors=10**5, passives=10**5, promoters=10**5,
                           median_claim_minutes=10.0**7) for n in range(1, 53)]
    movers = [(f"theme-{n}-{LONG[:80]}", 10**5, 0) for n in range(10)]
    for report in (TrendReport(team=LONG, kind=kind, period="2026-W52", periods=periods, themes_rising=movers,
                               themes_falling=movers, vip_total=10**5, vip_touched_within_cadence=1),
                   TrendReport(team="success", kind=kind, period="2026-W52", periods=periods[:1], themes_rising=[],
                               themes_falling=[], vip_total=0, vip_touched_within_cadence=0)):
        text, blocks = report_message(report)
        _valid_blocks(blocks)
        assert validate_blocks(blocks) == [] and text


def test_item_messages_with_the_longest_fields_parse():
    item = replace(_item("resolved"), comment=LONG * 3, customer_name=LONG, account_name=LONG, subject=LONG,
                   themes=tuple(f"t{n}" for n in range(50)), tags=tuple(LONG[:50] for _ in range(50)),
                   url="https://x.example/" + "r" * 2900, reply_via=f"e-mail from {LONG[:200]} <cx@acme.example>")
    for status in ("open", "claimed", "resolved"):
        _valid_blocks(item_blocks.item_message(replace(item, status=status))[1])
    _valid_blocks(item_blocks.thread_note(LONG, LONG * 3)[1])


def test_modals_with_long_texts_parse():  # past 100 teams: tests/unit/slack/test_limits.py
    for view in (item_blocks.resolve_modal(7, summary=LONG), item_blocks.reply_modal(7, via=LONG, to=LONG),
                 escalate_modal(channel_id="C0SALES", message_ts="1.2", message_text=LONG * 3, config=make_config())):
        _valid_view(view)


def test_follow_up_due_dm_parses():
    item = Item(id=7, kind="nps", score=2, customer_name=LONG, account_name=LONG, comment=LONG)
    for message in (SlackMessage(channel="C0SUCCESS", ts="1700000000.000100"), None):
        _valid_blocks(follow_up_due_message(item, message)[1])
