"""The VIP book's Block Kit: valid for Slack whatever the data, escaped, and wired to the right ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.sandbox.fake_slack import validate_blocks, validate_view
from bot.slack.ids import ActionId, InputId, ViewId, account_value
from bot.slack.vip_blocks import (
    ITEM_SECTIONS_MAX,
    SPARK_BARS,
    AccountCard,
    ItemLine,
    TouchView,
    account_card,
    account_card_text,
    account_choices,
    assign_owner_modal,
    due_list,
    log_touch_modal,
    money,
    no_match,
    sparkline,
)
from bot.vip.search import Match

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
HOSTILE = "<!channel> & <@U0HACKER> <https://evil.example|click>"
HUGE = ("word " * 2000).strip()  # 10 000 characters


def _card(**changes: Any) -> AccountCard:
    card = AccountCard(
        account_id=42, name="Acme Corp", vip=True, tier="Enterprise", owner="U0ANA", plan="Scale",
        arr=1_200_000.0, renewal_on=date(2026, 9, 30), domains=("acme.com", "acme.io"),
        cadence_days=30, cadence_status="5 days overdue",
        last_touch=TouchView(when=NOW - timedelta(days=3), who="U0ANA", channel="call", note="Talked renewal"),
        scores=((NOW - timedelta(days=1), "nps", 9), (NOW - timedelta(days=20), "nps", 7),
                (NOW - timedelta(days=40), "nps", 3)),
        open_items=(ItemLine(7, "NPS 3 · Detractor", "https://crm.example/r/7", NOW - timedelta(days=2)),
                    ItemLine(8, "CSAT 1", None, NOW - timedelta(days=1))),
        comments=((NOW - timedelta(days=1), "Love the new reports"), (NOW - timedelta(days=5), "Too slow")),
    )
    return replace(card, **changes)


def _mrkdwn_texts(node: Any) -> Iterator[str]:
    """Every mrkdwn string (the ones Slack parses for mentions and links)."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from _mrkdwn_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _mrkdwn_texts(value)


def _all_text(blocks: Any) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _buttons(blocks: list[dict]) -> list[dict]:
    found = []
    for block in blocks:
        if block.get("type") == "actions":
            found += [e for e in block["elements"] if e.get("type") == "button"]
        if block.get("accessory", {}).get("type") == "button":
            found.append(block["accessory"])
    return found


def _assert_valid(blocks: list[dict]) -> None:
    assert validate_blocks(blocks, surface="message") == []


# --- the card --------------------------------------------------------------------------------


def test_card_is_valid_and_shows_the_essentials():
    blocks = account_card(_card())
    _assert_valid(blocks)
    text = _all_text(blocks)
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"] == "Acme Corp ⭐ VIP"
    assert "<@U0ANA>" in text
    assert "every 30 days — 5 days overdue" in text
    assert "Enterprise" in text and "Scale" in text
    assert "$1,200,000" in text
    assert "Wed 30 Sep 2026" in text
    assert "📞" in text and "Call by <@U0ANA>" in text and "<!date^" in text and "> Talked renewal" in text
    assert "NPS 3 · 7 · 9" in text  # oldest → newest
    assert "<https://crm.example/r/7|NPS 3 · Detractor>" in text
    assert "CSAT 1" in text
    assert "> Love the new reports" in text and "> Too slow" in text
    assert "acme.com, acme.io" in text


def test_card_buttons_carry_the_account():
    buttons = {b["action_id"]: b for b in _buttons(account_card(_card()))}
    assert set(buttons) == {ActionId.VIP_LOG_TOUCH, ActionId.VIP_ASSIGN_OWNER, ActionId.VIP_SHARE}
    assert all(b["value"] == account_value(42) for b in buttons.values())
    assert buttons[ActionId.VIP_LOG_TOUCH]["style"] == "primary"


def test_card_without_share_button_when_not_shareable():
    ids = {b["action_id"] for b in _buttons(account_card(_card(), shareable=False))}
    assert ids == {ActionId.VIP_LOG_TOUCH, ActionId.VIP_ASSIGN_OWNER}


def test_sparse_card_is_valid():
    card = _card(vip=False, tier=None, owner=None, plan=None, arr=None, renewal_on=None, domains=(),
                 last_touch=None, scores=(), open_items=(), comments=(), cadence_days=1,
                 cadence_status="due today", name="")
    blocks = account_card(card)
    _assert_valid(blocks)
    text = _all_text(blocks)
    assert "_No owner_" in text and "_No touches logged yet._" in text and "every day — due today" in text
    assert "⭐" not in blocks[0]["text"]["text"] and blocks[0]["text"]["text"] == "Account #42"


@pytest.mark.parametrize("channel, icon", [("call", "📞"), ("email", "✉️"), ("meeting", "🤝"),
                                           ("social", "🌐"), ("slack", "💬")])
def test_touch_channel_icons(channel, icon):
    touch = TouchView(when=NOW, who="U0ANA", channel=channel, note=None)
    section = next(b for b in account_card(_card(last_touch=touch)) if b.get("block_id") == "vip_last_touch")
    assert section["text"]["text"].startswith(icon)


def test_hostile_stored_text_never_reaches_mrkdwn_raw():
    card = _card(name=HOSTILE, tier=HOSTILE, plan=HOSTILE, owner=HOSTILE, domains=(HOSTILE,),
                 cadence_status=HOSTILE,
                 last_touch=TouchView(when=NOW, who=HOSTILE, channel=HOSTILE, note=HOSTILE),
                 scores=((NOW, HOSTILE, 3),),
                 open_items=(ItemLine(1, HOSTILE, "https://x.example/a?b=1&c=<!here>", NOW),),
                 comments=((NOW, HOSTILE),))
    blocks = account_card(card)
    _assert_valid(blocks)
    for text in _mrkdwn_texts(blocks):
        assert "<!channel>" not in text and "<@U0HACKER>" not in text and "<!here>" not in text
        assert "<https://evil.example" not in text
    assert "&lt;!channel&gt;" in _all_text(blocks)


def test_huge_texts_are_truncated_and_still_valid():
    many_items = tuple(ItemLine(i, HUGE, f"https://crm.example/{'x' * 300}/{i}", NOW) for i in range(200))
    card = _card(name=HUGE, tier=HUGE, plan=HUGE, domains=tuple(f"{i}{HUGE}.com" for i in range(50)),
                 last_touch=TouchView(when=NOW, who="U0ANA", channel="email", note="<" * 10_000),
                 scores=tuple((NOW - timedelta(days=i), "nps", i % 11) for i in range(100)),
                 open_items=many_items, comments=tuple((NOW, "&" * 10_000) for _ in range(100)),
                 cadence_status=HUGE, arr=10.0 ** 13)
    blocks = account_card(replace(card, all_items_hint="`/vip items acme`"))
    _assert_valid(blocks)
    assert len(blocks) <= 11 + ITEM_SECTIONS_MAX
    assert len(blocks[0]["text"]["text"]) <= 150 and blocks[0]["text"]["text"].endswith("⭐ VIP")
    comments = [b for b in blocks if b.get("block_id", "").startswith("vip_comment_")]
    assert len(comments) == 3
    for block in comments:
        assert len(block["text"]["text"]) < 400 and block["text"]["text"].endswith("…")
        assert "&amp" in block["text"]["text"] and not block["text"]["text"].rstrip("…").endswith("&")
    touch = next(b for b in blocks if b.get("block_id") == "vip_last_touch")["text"]["text"]
    assert len(touch) < 800 and "&lt;" in touch and "<<" not in touch
    items = [b["text"]["text"] for b in blocks if b.get("block_id", "").startswith("vip_items")]
    assert len(items) == ITEM_SECTIONS_MAX and all(len(text) <= 3000 for text in items)
    shown = sum(line.startswith("• ") for text in items for line in text.split("\n"))
    assert "Open items (200)" in items[0]
    assert items[-1].endswith(f"… and {200 - shown} more: `/vip items acme`")  # cut only where Slack's limits cut
    assert account_card_text(card).endswith("…") and len(account_card_text(card)) <= 300


def test_scores_show_at_most_five_and_group_by_kind():
    scores = ((NOW, "csat", 5), (NOW - timedelta(days=1), "nps", 10), (NOW - timedelta(days=2), "csat", 1),
              (NOW - timedelta(days=3), "nps", 0), (NOW - timedelta(days=4), "ces", 4),
              (NOW - timedelta(days=5), "nps", 5))
    text = next(b for b in account_card(_card(scores=scores)) if b.get("block_id") == "vip_scores")["text"]["text"]
    assert "CSAT 1 · 5  ▁█" in text
    assert "NPS 0 · 10  ▁█" in text
    assert "CES 4  ▅" in text
    assert "NPS 5" not in text  # the sixth-newest score is not shown


def test_link_items_need_a_safe_http_url():
    items = (ItemLine(1, "A", "javascript:alert(1)", NOW), ItemLine(2, "B", "https://ok.example/x|y", NOW),
             ItemLine(3, "C", "https://ok.example/c?a=1&b=2", NOW))
    text = next(b for b in account_card(_card(open_items=items)) if b.get("block_id") == "vip_items")["text"]["text"]
    assert "javascript" not in text and "|y" not in text
    assert "<https://ok.example/c?a=1&amp;b=2|C>" in text


# --- sparkline and money ----------------------------------------------------------------------


def test_sparkline_scales_to_the_range():
    assert sparkline([0, 5, 10], 0, 10) == "▁▅█"
    assert sparkline([1, 3, 5], 1, 5) == "▁▅█"
    line = sparkline(list(range(11)), 0, 10)
    assert [SPARK_BARS.index(c) for c in line] == sorted(SPARK_BARS.index(c) for c in line)
    assert line[0] == "▁" and line[-1] == "█"
    assert sparkline([-5, 50], 0, 10) == "▁█"  # clamped
    assert sparkline([], 0, 10) == ""
    assert sparkline([3, 3], 3, 3) == "▅▅"


def test_money():
    assert money(1_200_000) == "$1,200,000"
    assert money(99.5) == "$99.50"
    assert money(-10) == "-$10"


# --- result lists ------------------------------------------------------------------------------


def test_account_choices():
    matches = [Match(1, "Acme Corp", 90, "Acme Corp"), Match(2, "Acme Labs", 88, "domain acmelabs.com")]
    blocks = account_choices(matches, "acme")
    _assert_valid(blocks)
    text = _all_text(blocks)
    assert "Several accounts match 'acme'" in text and "matched domain acmelabs.com" in text
    buttons = _buttons(blocks)
    assert [b["action_id"] for b in buttons] == [ActionId.VIP_OPEN] * 2
    assert [b["value"] for b in buttons] == [account_value(1), account_value(2)]


def test_account_choices_escape_and_stay_valid_when_long():
    matches = [Match(i, HOSTILE + HUGE, 70, f"contact {HOSTILE}") for i in range(80)]
    blocks = account_choices(matches, HOSTILE + HUGE)
    _assert_valid(blocks)
    for text in _mrkdwn_texts(blocks):
        assert "<!channel>" not in text


def test_no_match_with_and_without_suggestions():
    blocks = no_match("zzzzqqq", [])
    _assert_valid(blocks)
    assert "No account matches 'zzzzqqq'" in _all_text(blocks) and "/vip add" in _all_text(blocks)
    assert _buttons(blocks) == []

    blocks = no_match("<!channel>", [Match(3, "Globex", 40.0, "Globex")])
    _assert_valid(blocks)
    assert "Closest" in _all_text(blocks) and "&lt;!channel&gt;" in _all_text(blocks)
    assert [(b["action_id"], b["value"]) for b in _buttons(blocks)] == [(ActionId.VIP_OPEN, account_value(3))]


def test_due_list():
    blocks = due_list([(1, "Acme", "5 days overdue"), (2, "<!channel>", "due today")], title="My VIPs")
    _assert_valid(blocks)
    text = _all_text(blocks)
    assert text.index("5 days overdue") < text.index("due today")  # the order given
    assert "<!channel>" not in "".join(_mrkdwn_texts(blocks))
    assert [(b["action_id"], b["value"]) for b in _buttons(blocks)] == [
        (ActionId.VIP_LOG_TOUCH, account_value(1)), (ActionId.VIP_LOG_TOUCH, account_value(2))]


def test_due_list_empty_and_huge():
    blocks = due_list([], title="Due")
    _assert_valid(blocks)
    assert "Nothing due. 🎉" in _all_text(blocks)
    blocks = due_list([(i, HUGE, HUGE) for i in range(500)], title=HUGE)
    _assert_valid(blocks)
    assert "and 455 more" in _all_text(blocks)


# --- modals ------------------------------------------------------------------------------------


def test_log_touch_modal():
    view = log_touch_modal(42, "<!channel> Acme")
    assert validate_view(view) == []
    assert view["callback_id"] == ViewId.VIP_TOUCH and view["private_metadata"] == "42"
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    channel, note = inputs[InputId.TOUCH_CHANNEL], inputs[InputId.TOUCH_NOTE]
    assert channel["element"]["action_id"] == InputId.TOUCH_CHANNEL
    assert channel["element"]["type"] == "static_select"
    assert [o["value"] for o in channel["element"]["options"]] == ["call", "email", "meeting", "social", "slack"]
    assert channel["element"]["initial_option"]["value"] == "call"
    assert note["element"]["action_id"] == InputId.TOUCH_NOTE and note["optional"] is True
    assert note["element"]["multiline"] is True and note["element"]["max_length"] == 2900
    assert "<!channel>" not in "".join(_mrkdwn_texts(view))
    assert validate_view(log_touch_modal(1, HUGE)) == []


def test_assign_owner_modal():
    view = assign_owner_modal(42, "Acme", "U0ANA")
    assert validate_view(view) == []
    assert view["callback_id"] == ViewId.VIP_OWNER and view["private_metadata"] == "42"
    owner = next(b for b in view["blocks"] if b["type"] == "input")
    assert owner["block_id"] == owner["element"]["action_id"] == InputId.OWNER
    assert owner["element"]["type"] == "users_select" and owner["element"]["initial_user"] == "U0ANA"
    view = assign_owner_modal(42, HUGE, None)
    assert validate_view(view) == []
    assert "initial_user" not in next(b for b in view["blocks"] if b["type"] == "input")["element"]
