from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.slack.blocks import (
    ItemView,
    ephemeral_text,
    follow_up_modal,
    item_message,
    note_modal,
    reassign_modal,
    resolve_modal,
    snooze_modal,
    thread_note,
)
from bot.slack.ids import OUTCOMES, ActionId, InputId, ViewId, item_value, parse_item_value, split_version
from bot.slack.mrkdwn import escape_mrkdwn, escaped_truncated, slack_date, truncate, user_mention

try:  # written concurrently; used in addition to the explicit checks below when present
    from bot.sandbox import fake_slack
except ImportError:  # pragma: no cover
    fake_slack = None  # type: ignore[assignment]

RECEIVED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOSTILE = "<!channel> & <@U123> "
STATUSES = ("open", "claimed", "resolved")
KINDS = ("nps", "csat", "ces", "psat", "escalation")


# --- limit checking --------------------------------------------------------------------------


def _texts(node: Any) -> Iterator[str]:
    """Every string that Slack would render or echo: all 'text' values anywhere."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _texts(value)


def _plain_len(obj: dict[str, Any]) -> int:
    assert obj["type"] in ("plain_text", "mrkdwn")
    assert obj["text"], "empty text object"
    return len(obj["text"])


def _check_element(el: dict[str, Any]) -> None:
    if "action_id" in el:
        assert len(el["action_id"]) <= 255
    kind = el["type"]
    if kind == "button":
        assert el["text"]["type"] == "plain_text" and _plain_len(el["text"]) <= 75
        assert len(el.get("value", "")) <= 2000
        if "url" in el:
            assert len(el["url"]) <= 3000 and re.match(r"^https?://", el["url"])
    elif kind == "overflow":
        assert 2 <= len(el["options"]) <= 5
        for option in el["options"]:
            assert _plain_len(option["text"]) <= 75 and len(option["value"]) <= 150
    elif kind == "static_select":
        assert 1 <= len(el["options"]) <= 100
        for option in el["options"]:
            assert _plain_len(option["text"]) <= 75 and len(option["value"]) <= 150
    elif kind == "plain_text_input":
        assert el.get("max_length", 3000) <= 3000


def assert_valid_blocks(blocks: list[dict[str, Any]], surface: str = "message") -> None:
    assert 1 <= len(blocks) <= (50 if surface == "message" else 100)
    for block in blocks:
        assert len(block.get("block_id", "")) <= 255
        kind = block["type"]
        if kind == "header":
            assert block["text"]["type"] == "plain_text" and _plain_len(block["text"]) <= 150
        elif kind == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert _plain_len(block["text"]) <= 3000
            fields = block.get("fields", [])
            assert len(fields) <= 10
            assert all(_plain_len(f) <= 2000 for f in fields)
        elif kind == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(_plain_len(e) <= 3000 for e in block["elements"])
        elif kind == "actions":
            assert 1 <= len(block["elements"]) <= 25
            ids = [e["action_id"] for e in block["elements"]]
            assert len(ids) == len(set(ids)), "action ids must be unique within a block"
            for element in block["elements"]:
                _check_element(element)
        elif kind == "input":
            assert _plain_len(block["label"]) <= 2000
            _check_element(block["element"])
        else:
            raise AssertionError(f"unexpected block type {kind}")
    if fake_slack is not None and hasattr(fake_slack, "validate_blocks"):
        assert fake_slack.validate_blocks(blocks, surface=surface) == []


def assert_valid_modal(view: dict[str, Any]) -> None:
    assert view["type"] == "modal"
    for key in ("title", "submit", "close"):
        assert view[key]["type"] == "plain_text" and _plain_len(view[key]) <= 24
    assert len(view["callback_id"]) <= 255 and len(view["private_metadata"]) <= 3000
    assert_valid_blocks(view["blocks"], surface="modal")
    if fake_slack is not None and hasattr(fake_slack, "validate_view"):
        assert fake_slack.validate_view(view) == []


# --- fixtures --------------------------------------------------------------------------------


def make_item(**overrides: Any) -> ItemView:
    base = ItemView(
        item_id=42,
        kind="nps",
        score=3,
        category="detractor",
        comment="The app is slow and crashes constantly, too expensive",
        source="generic",
        team="cx-emea",
        received_at=RECEIVED,
        status="open",
        customer_name="Jane Doe",
        customer_email="jane@example.com",
        account_name="Acme",
        plan="Pro",
        segment="SMB",
        sentiment_label="negative",
        sentiment_polarity=-0.267,
        themes=("performance", "bugs", "feature_request"),
        url="https://surveys.example.com/r/42",
        route_name="detractors",
    )
    return replace(base, **overrides)


def with_status(item: ItemView, status: str) -> ItemView:
    if status == "claimed":
        return replace(item, status=status, claimed_by="U0ANA", claimed_at=RECEIVED)
    if status == "resolved":
        return replace(
            item,
            status=status,
            claimed_by="U0ANA",
            resolved_by="U0RES",
            resolved_at=RECEIVED,
            outcome="fixed",
        )
    return item


def for_kind(kind: str) -> ItemView:
    if kind == "escalation":
        return make_item(kind=kind, score=None, category=None, subject="Checkout is down", priority="high")
    score = {"nps": 3, "csat": 2, "ces": 2, "psat": 1}[kind]
    return make_item(kind=kind, score=score, category="detractor")


def block(blocks: list[dict[str, Any]], block_id: str) -> dict[str, Any]:
    return next(b for b in blocks if b.get("block_id") == block_id)


def actions(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return block(blocks, "cx_actions")["elements"]


def overflow_values(blocks: list[dict[str, Any]]) -> list[str]:
    menu = next(e for e in actions(blocks) if e["action_id"] == ActionId.MORE)
    return [o["value"] for o in menu["options"]]


def all_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(_texts(blocks))


# --- item_message ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_status_and_kind_is_valid(status: str, kind: str) -> None:
    fallback, blocks = item_message(with_status(for_kind(kind), status))
    assert_valid_blocks(blocks)
    assert 0 < len(fallback) <= 300
    assert blocks[0]["type"] == "header"


@pytest.mark.parametrize(
    ("overrides", "header"),
    [
        ({"score": 3, "category": "detractor"}, "🔴 NPS 3 · Detractor"),
        ({"kind": "csat", "score": 3, "category": "passive"}, "🟡 CSAT 3 · Passive"),
        ({"score": 10, "category": "promoter"}, "🟢 NPS 10 · Promoter"),
        ({"kind": "ces", "score": 7, "category": "promoter"}, "🟢 CES 7 · Promoter"),
        (
            {
                "kind": "escalation",
                "score": None,
                "category": None,
                "subject": "Checkout down",
                "priority": "high",
            },
            "🚨 Escalation · high: Checkout down",
        ),
    ],
)
def test_header_reads_like_the_score(overrides: dict[str, Any], header: str) -> None:
    _, blocks = item_message(make_item(**overrides))
    assert blocks[0]["text"]["text"] == header


def test_long_escalation_subject_fits_header() -> None:
    item = make_item(kind="escalation", score=None, category=None, subject="word " * 100, priority="urgent")
    _, blocks = item_message(item)
    header = blocks[0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…")


def test_open_item_offers_claim_resolve_link_and_menu() -> None:
    _, blocks = item_message(make_item())
    elements = actions(blocks)
    assert [e["action_id"] for e in elements] == [
        ActionId.CLAIM,
        ActionId.RESOLVE,
        ActionId.OPEN_SOURCE,
        ActionId.MORE,
    ]
    claim = elements[0]
    assert claim["style"] == "primary" and parse_item_value(claim["value"]) == ("item", 42)
    assert elements[2]["url"] == "https://surveys.example.com/r/42"
    assert elements[2]["text"]["text"] == "Open in generic"
    assert overflow_values(blocks) == ["reassign:42", "note:42", "follow_up:42", "snooze:42"]
    assert "Unclaimed" in block(blocks, "cx_status")["text"]["text"]


def test_claimed_item_shows_who_and_when_and_can_be_unclaimed() -> None:
    _, blocks = item_message(with_status(make_item(), "claimed"))
    assert [e["action_id"] for e in actions(blocks)] == [
        ActionId.RESOLVE,
        ActionId.OPEN_SOURCE,
        ActionId.MORE,
    ]
    assert overflow_values(blocks)[0] == "unclaim:42"
    status = block(blocks, "cx_status")["text"]["text"]
    assert status.startswith("🙋 Claimed by <@U0ANA>")
    unix = int(RECEIVED.timestamp())
    assert f"<!date^{unix}^{{date_short_pretty}} at {{time}}|Wed 01 May 2024 12:00 UTC>" in status


def test_unclaim_carries_the_version_the_message_shows_and_only_unclaim_does() -> None:
    _, blocks = item_message(replace(with_status(make_item(), "claimed"), version=7))
    values = overflow_values(blocks)
    assert values[0] == "unclaim:42@7" and split_version(values[0]) == ("unclaim:42", 7)
    assert all("@" not in value for value in values[1:])
    assert split_version("unclaim:42") == ("unclaim:42", None)  # a message posted before versions
    for forged in ("unclaim:42@", "unclaim:42@x", "unclaim:42@-1", f"unclaim:42@{2**31}", "unclaim:42@٣"):
        with pytest.raises(ValueError):
            split_version(forged)


def test_resolved_item_offers_reopen_and_shows_outcome() -> None:
    _, blocks = item_message(with_status(make_item(), "resolved"))
    assert [e["action_id"] for e in actions(blocks)] == [ActionId.REOPEN, ActionId.OPEN_SOURCE, ActionId.MORE]
    values = overflow_values(blocks)
    assert "note:42" in values
    assert not any(v.split(":")[0] in ("unclaim", "reassign", "snooze") for v in values)
    status = block(blocks, "cx_status")["text"]["text"]
    assert status.startswith(f"✅ Resolved by <@U0RES> — {OUTCOMES['fixed']}")
    assert actions(blocks)[0]["text"]["text"] == "Reopen"


def test_hostile_20k_comment_is_escaped_and_truncated() -> None:
    comment = (HOSTILE * 1000)[:20_000]
    fallback, blocks = item_message(make_item(comment=comment, customer_name="<!here> Mallory"))
    assert_valid_blocks(blocks)
    rendered = all_text(blocks) + fallback
    for ping in ("<!channel>", "<@U123>", "<!here>"):
        assert ping not in rendered
    section = block(blocks, "cx_comment")["text"]["text"]
    assert len(section) <= 3000
    assert section.endswith("…")
    assert section.startswith("> &lt;!channel&gt; &amp; &lt;@U123&gt;")
    # No half entity right before the marker.
    assert not re.search(r"&[a-z]{0,3}…$", section)
    assert "truncated" in block(blocks, "cx_truncated")["elements"][0]["text"]
    # The notification text is an excerpt, not the comment.
    assert len(fallback) <= 300 and comment not in fallback


def test_multiline_comment_is_quoted_line_by_line() -> None:
    _, blocks = item_message(make_item(comment="first line\nsecond > line\r\n\n\n\n\nlast"))
    section = block(blocks, "cx_comment")["text"]["text"]
    assert section == "> first line\n> second &gt; line\n> \n> last"
    assert not any(b.get("block_id") == "cx_truncated" for b in blocks)


@pytest.mark.parametrize("comment", [None, "", "   \n "])
def test_missing_comment(comment: str | None) -> None:
    fallback, blocks = item_message(make_item(comment=comment))
    assert_valid_blocks(blocks)
    assert "No comment" in all_text(blocks)
    assert not any(
        b["type"] == "section" and b["text"]["text"].startswith(">") for b in blocks if "text" in b
    )
    assert fallback.startswith("🔴 NPS 3 · Detractor")


def test_missing_customer_and_metadata() -> None:
    item = make_item(
        customer_name=None,
        customer_email=None,
        account_name=None,
        plan=None,
        segment=None,
        sentiment_label=None,
        sentiment_polarity=None,
        themes=(),
        route_name=None,
        url=None,
    )
    fallback, blocks = item_message(item)
    assert_valid_blocks(blocks)
    fields = block(blocks, "cx_details")["fields"]
    assert [f["text"] for f in fields] == ["*Customer*\n_Unknown_"]
    assert "Routed by" not in all_text(blocks)
    assert "No route matched: default team" in all_text(blocks)
    assert fallback


def test_details_show_customer_vip_sentiment_and_themes() -> None:
    _, blocks = item_message(make_item(vip=True, account_name="Acme & Sons"))
    fields = [f["text"] for f in block(blocks, "cx_details")["fields"]]
    assert "*Customer*\nJane Doe · jane@example.com" in fields
    assert "*Account*\nAcme &amp; Sons · ⭐ VIP" in fields
    assert "*Plan · Segment*\nPro · SMB" in fields
    assert any(f.startswith("*Sentiment*\n") and "Negative" in f and "-0.27" in f for f in fields)
    assert "*Themes*\nperformance, bugs, feature request" in fields


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "javascript:alert(1)",
        "ftp://files.example.com/x",
        "/relative/path",
        "https://",
        "https://x.example/" + "a" * 3000,
        "https://x.example/a b",
    ],
)
def test_no_link_button_without_a_usable_http_url(url: str | None) -> None:
    for status in STATUSES:
        _, blocks = item_message(with_status(make_item(url=url), status))
        assert ActionId.OPEN_SOURCE not in [e["action_id"] for e in actions(blocks)]
        assert_valid_blocks(blocks)


def test_http_url_is_linked() -> None:
    _, blocks = item_message(make_item(url="http://crm.example.com/case/7"))
    link = next(e for e in actions(blocks) if e["action_id"] == ActionId.OPEN_SOURCE)
    assert link["url"] == "http://crm.example.com/case/7"


def test_bogus_user_ids_never_become_mentions() -> None:
    item = replace(make_item(), status="claimed", claimed_by="<!channel>", claimed_at=None)
    _, blocks = item_message(item)
    status = block(blocks, "cx_status")["text"]["text"]
    assert "<!channel>" not in status and "&lt;!channel&gt;" in status


def test_context_shows_route_source_team_and_reminders() -> None:
    item = make_item(follow_up_on=date(2024, 5, 3), snoozed_until=datetime(2024, 5, 4, 9, 0, tzinfo=UTC))
    _, blocks = item_message(item)
    texts = [e["text"] for e in block(blocks, "cx_context")["elements"]]
    assert texts[0].startswith("#42 · Routed by 'detractors' to cx-emea · from generic · received <!date^")
    assert "📅 Follow up on Fri 03 May 2024" in texts
    assert any(t.startswith("😴 Reminders snoozed until <!date^") for t in texts)


def test_unknown_status_is_rejected() -> None:
    with pytest.raises(ValueError):
        item_message(make_item(status="pending"))


def test_fallback_is_short_and_escaped() -> None:
    fallback, _ = item_message(make_item(customer_name="Bob <@U999>", comment="x" * 5000))
    assert len(fallback) <= 300
    assert "<@U999>" not in fallback and "&lt;@U999&gt;" in fallback
    assert "x" * 100 not in fallback


def test_ids_fit_slack_limits() -> None:
    _, blocks = item_message(with_status(make_item(item_id=10**17), "claimed"))
    assert_valid_blocks(blocks)
    assert overflow_values(blocks)[0] == f"unclaim:{10**17}"
    assert actions(blocks)[0]["value"] == item_value(10**17)


# --- modals ----------------------------------------------------------------------------------


def input_block(view: dict[str, Any], input_id: InputId) -> dict[str, Any]:
    found = next(b for b in view["blocks"] if b.get("block_id") == input_id)
    assert found["element"]["action_id"] == input_id
    return found


def test_resolve_modal() -> None:
    view = resolve_modal(42, summary="NPS 3 from <!channel> & co " + "x" * 5000)
    assert_valid_modal(view)
    assert view["callback_id"] == ViewId.RESOLVE and view["private_metadata"] == "42"
    assert view["title"]["text"] == "Resolve item" and view["submit"]["text"] == "Resolve"
    assert "<!channel>" not in all_text(view["blocks"])
    outcome = input_block(view, InputId.OUTCOME)
    assert outcome["element"]["type"] == "static_select" and not outcome["optional"]
    assert {o["value"]: o["text"]["text"] for o in outcome["element"]["options"]} == OUTCOMES
    note = input_block(view, InputId.NOTE)
    assert note["optional"] and note["element"]["multiline"] and note["element"]["max_length"] == 2900


def test_note_modal() -> None:
    view = note_modal(7)
    assert_valid_modal(view)
    assert view["callback_id"] == ViewId.NOTE and view["private_metadata"] == "7"
    assert not input_block(view, InputId.NOTE)["optional"]


def test_reassign_modal() -> None:
    view = reassign_modal(7)
    assert_valid_modal(view)
    assert view["callback_id"] == ViewId.REASSIGN
    assert input_block(view, InputId.ASSIGNEE)["element"]["type"] == "users_select"


@pytest.mark.parametrize("initial", [None, date(2024, 6, 30)])
def test_follow_up_modal(initial: date | None) -> None:
    view = follow_up_modal(7, initial)
    assert_valid_modal(view)
    assert view["callback_id"] == ViewId.FOLLOW_UP
    picker = input_block(view, InputId.FOLLOW_UP_ON)["element"]
    assert picker["type"] == "datepicker"
    assert picker.get("initial_date") == (initial.isoformat() if initial else None)


def test_snooze_modal() -> None:
    view = snooze_modal(7)
    assert_valid_modal(view)
    assert view["callback_id"] == ViewId.SNOOZE
    options = input_block(view, InputId.SNOOZE_FOR)["element"]["options"]
    assert [(o["value"], o["text"]["text"]) for o in options] == [
        ("1d", "1 day"),
        ("3d", "3 days"),
        ("7d", "1 week"),
    ]


# --- small messages & mrkdwn helpers ---------------------------------------------------------


def test_thread_note_escapes_the_user_note() -> None:
    fallback, blocks = thread_note(
        f"✅ {user_mention('U0ANA')} resolved this — Fixed", "called <!here> & done\nbye"
    )
    assert_valid_blocks(blocks)
    text = blocks[0]["text"]["text"]
    assert text == "✅ <@U0ANA> resolved this — Fixed\n> called &lt;!here&gt; &amp; done\n> bye"
    assert fallback == "✅ <@U0ANA> resolved this — Fixed"


def test_thread_note_with_huge_note_stays_valid() -> None:
    _, blocks = thread_note(f"🙋 {user_mention('U0ANA')} added a note", HOSTILE * 500)
    assert_valid_blocks(blocks)
    assert blocks[0]["text"]["text"].endswith("…")
    assert "<!channel>" not in blocks[0]["text"]["text"]


def test_ephemeral_text() -> None:
    blocks = ephemeral_text("Already claimed by <@U0ANA>")
    assert_valid_blocks(blocks)
    assert blocks[0]["text"]["text"] == "Already claimed by <@U0ANA>"
    assert_valid_blocks(ephemeral_text("y" * 10_000))


def test_escape_mrkdwn() -> None:
    assert escape_mrkdwn("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert escape_mrkdwn(None) == ""


@pytest.mark.parametrize("limit", range(1, 40))
def test_truncate_never_splits_an_entity(limit: int) -> None:
    escaped = escape_mrkdwn("a&b<c>d" * 10)
    out = truncate(escaped, limit)
    assert len(out) <= limit
    body = out.removesuffix("…")
    assert re.fullmatch(r"(?:[^&]|&(?:amp|lt|gt);)*", body), out
    assert out == escaped_truncated("a&b<c>d" * 10, limit)


def test_truncate_keeps_short_text_and_mentions_whole() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("hi <@U0ANA> there", 10) == "hi…"


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [
        ("U0ANA", "<@U0ANA>"),
        ("W123ABC", "<@W123ABC>"),
        ("u0ana", "u0ana"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("U1", "U1"),
    ],
)
def test_user_mention(user_id: str, expected: str) -> None:
    assert user_mention(user_id) == expected


def test_slack_date_uses_documented_syntax() -> None:
    assert (
        slack_date(RECEIVED)
        == f"<!date^{int(RECEIVED.timestamp())}^{{date_short_pretty}} at {{time}}|Wed 01 May 2024 12:00 UTC>"
    )
