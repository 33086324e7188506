"""Every Block Kit builder's output parsed by slack_sdk's own models: a second check, independent of
the fake Slack's validator."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.escalations import escalate_modal
from bot.reminders import checkin_blocks
from bot.slack import blocks as item_blocks
from bot.slack.blocks import ItemView
from bot.vip import DueAccount
from models import Account
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
    due = [DueAccount(Account(id=i, name=f"A{i}", cadence_days=30, vip=True, next_due_at=NOW - timedelta(days=i)), i)
           for i in range(1, 26)]
    _valid_blocks(checkin_blocks(due, now=NOW))
