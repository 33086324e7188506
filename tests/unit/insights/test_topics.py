"""The topics' Block Kit (weekly report section, the card's "similar" line) parsed by slack_sdk and the
fake Slack's validator at their longest, and the posted report's stored data read back as posted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.insights.digest import (
    PeriodStats,
    TrendReport,
    report_data,
    report_from_data,
    report_message,
    report_quoted_items,
    report_without_items,
)
from bot.insights.topics import TopicLine, TopicQuote, WeekTopics, _label, analysable
from bot.sandbox.fake_slack import validate_blocks
from bot.slack.blocks import item_message
from tests.unit.slack.test_block_kit_sdk import LONG, _item, _valid_blocks

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def _report(topics: WeekTopics | None) -> TrendReport:
    period = PeriodStats(label="2026-W48", start=NOW, end=NOW, volume=30, nps=-10, nps_count=20, detractors=8,
                         passives=6, promoters=6, median_claim_minutes=12.5)
    return TrendReport(team="success", kind="weekly", period="2026-W48", periods=[period, period],
                       themes_rising=[("bugs", 3, 1)], themes_falling=[], vip_total=2, vip_touched_within_cadence=1,
                       vip_as_of=NOW, active_issues=("acme/app#4 open",), topics=topics)


def _topics(label: str = "csv · export invoices · fails", text: str = "The <!channel> CSV export fails") -> WeekTopics:
    lines = [TopicLine(rank=n, label=label, count=12 - n, previous_count=n % 3,
                       quote=TopicQuote(item_id=100 + n, text=text, who="Maya Chen (Acme)", score="NPS 3",
                                        link=f"https://slack.com/archives/C0SUCCESS/p17000000000000{n}"))
             for n in range(1, 9)]
    return WeekTopics(week="2026-W48", scope="success", timezone="America/New_York", computed_at=NOW, analysed=80,
                      skipped=4, note=None, topics=lines)


def test_the_topics_section_parses_at_its_longest_and_escapes_customer_text():
    for topics in (_topics(), _topics(LONG[:200], LONG * 2), None,
                   replace(_topics(), topics=[], note="too few comments to find topics: 5 this week")):
        text, blocks = report_message(_report(topics))
        _valid_blocks(blocks)
        assert validate_blocks(blocks) == [] and text
    blocks = report_message(_report(_topics()))[1]
    shown = [b["text"]["text"] for b in blocks if b["block_id"].startswith("cx_report_topic")]
    assert shown[0].startswith("*Topics this week* · From 80 comments")
    assert "*csv · export invoices · fails* — 11 comments, ▲ from 1 the week before" in shown[1]
    assert "&lt;!channel&gt;" in shown[1] and "<!channel>" not in shown[1]
    assert "<https://slack.com/archives/C0SUCCESS/p170000000000001|Maya Chen (Acme)> · NPS 3" in shown[1]
    tiny = report_message(_report(replace(_topics(), topics=[], note="too few comments")))[1]
    assert any(b["block_id"] == "cx_report_topics" and "too few comments" in b["text"]["text"] for b in tiny)


def test_a_posted_report_is_rebuilt_from_its_data_and_without_a_forgotten_quote():
    report = _report(_topics())
    assert report_from_data(report_data(report)) == report
    assert report_quoted_items(report) == list(range(101, 109))
    erased = report_without_items(report, {101})
    assert erased.topics.topics[0].quote is None and erased.topics.topics[1].quote is not None
    assert "The &lt;!channel&gt; CSV export fails" in str(report_message(erased)[1])


def test_the_cards_similar_line_links_up_to_three_messages():
    links = tuple((n, f"https://slack.com/archives/C0SUCCESS/p17000000000000{n}") for n in range(1, 4))
    for item in (replace(_item("open"), similar_customers=11, similar_links=links),
                 replace(_item("claimed"), similar_customers=1, similar_links=())):
        _valid_blocks(item_message(item)[1])
    context = next(b for b in item_message(replace(_item("open"), similar_customers=11, similar_links=links))[1]
                   if b["block_id"] == "cx_context")
    assert context["elements"][-1]["text"] == (
        "💬 11 other customers said something similar this month: "
        "<https://slack.com/archives/C0SUCCESS/p170000000000001|#1> · "
        "<https://slack.com/archives/C0SUCCESS/p170000000000002|#2> · "
        "<https://slack.com/archives/C0SUCCESS/p170000000000003|#3>")
    plain = next(b for b in item_message(_item("open"))[1] if b["block_id"] == "cx_context")
    assert "similar" not in str(plain)


def test_what_is_left_out_of_topics():
    assert analysable("The CSV export fails", "negative")
    assert not analysable("ok", "neutral") and not analysable("", None) and not analysable("Great great!", "positive")
    assert not analysable("Die Exportfunktion funktioniert nicht mehr", "not_analysed")


def test_a_topic_label_names_subjects_not_verdicts() -> None:
    assert _label(["good", "hubspot integration", "great", "great support", "export"]) == [
        "hubspot integration", "great support", "export"]
