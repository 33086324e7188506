"""Block Kit builders: plain dicts/lists ready for slack_sdk, no Slack calls, no database.

Every piece of customer-supplied text is escaped (so it cannot ping anyone) and truncated to
Slack's limits *after* escaping (so the limit holds for what Slack actually receives).
Strings passed as `text` to `thread_note` / `ephemeral_text` are trusted bot-composed mrkdwn
(they may hold mentions); build them with `user_mention` and `escape_mrkdwn`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.common.durations import hours_label
from bot.common.labels import kind_label, theme_label
from bot.common.vocabulary import SENTIMENT_DISPLAY
from bot.slack.ids import (
    OUTCOMES,
    SNOOZE_CHOICES_HOURS,
    ActionId,
    InputId,
    OverflowChoice,
    ViewId,
    item_value,
    overflow_value,
)
from bot.slack.mrkdwn import ELLIPSIS, escape_mrkdwn, escaped_truncated, slack_date, truncate, user_mention

Block = dict[str, Any]

# Slack Block Kit limits (https://api.slack.com/reference/block-kit).
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
URL_MAX = 3000
MODAL_TITLE_MAX = 24
NOTE_MAX_LENGTH = 2900
FALLBACK_MAX = 300  # our own cap: notification previews are short anyway

STATUSES = ("open", "claimed", "resolved")

_CATEGORY_EMOJI = {"detractor": "🔴", "passive": "🟡", "promoter": "🟢"}
_SENTIMENT_EMOJI = {"negative": "😞", "neutral": "😐", "positive": "🙂", "mixed": "😕", "not_analysed": "🌐"}
_WHITESPACE_RE = re.compile(r"\s+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class ItemView:
    item_id: int
    kind: str  # nps|csat|ces|psat|escalation
    score: int | None
    category: str | None  # detractor|passive|promoter|None
    comment: str | None
    source: str  # source name from config, e.g. "generic"
    team: str
    received_at: datetime  # tz-aware UTC
    status: str  # open|claimed|resolved
    customer_name: str | None = None
    customer_email: str | None = None
    account_name: str | None = None
    plan: str | None = None
    segment: str | None = None
    vip: bool = False
    subject: str | None = None  # escalations
    priority: str | None = None  # escalations
    sentiment_label: str | None = None
    sentiment_polarity: float | None = None
    # The words or cue that decided the sentiment, and the words each theme matched.
    sentiment_reason: str | None = None
    theme_matches: tuple[tuple[str, str], ...] = ()
    themes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    url: str | None = None  # link to the source record
    route_name: str | None = None
    claimed_by: str | None = None  # Slack user id
    claimed_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    outcome: str | None = None  # key of ids.OUTCOMES
    follow_up_on: date | None = None
    snoozed_until: datetime | None = None
    # How a reply would reach the customer ("Zendesk", "Intercom", "e-mail"), or None: no Reply button.
    reply_via: str | None = None
    version: int | None = None  # the follow-up's version (compare-and-set) this message shows
    can_link: bool = False  # an issue tracker is configured: the overflow offers "Link to issue…"
    issues: tuple[str, ...] = ()  # linked issues with their status, trusted mrkdwn ("<url|acme/app#42> open")
    # False: open but waiting for nobody (by default a promoter, thanked / handed off); Claim stays possible.
    needs_follow_up: bool = True
    # Other customers who said something similar in the last 30 days (bot.insights.topics.similar_items),
    # and (item id, Slack message link) of up to three of their items.
    similar_customers: int = 0
    similar_links: tuple[tuple[int, str], ...] = ()


# --- small element helpers -------------------------------------------------------------------


def _plain(text: str, limit: int) -> dict[str, Any]:
    # plain_text is not parsed for mentions, so it is only truncated, never escaped.
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _one_line(text: str | None) -> str:
    return _WHITESPACE_RE.sub(" ", text or "").strip()


def _button(action_id: ActionId, label: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id.value,
        "text": _plain(label, BUTTON_TEXT_MAX),
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _plain(label, 75), "value": value}


def is_link_url(url: str | None) -> bool:
    """Only absolute http(s) URLs within Slack's length limit become link buttons."""
    if not url or len(url) > URL_MAX or any(c.isspace() or ord(c) < 32 for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _quote(text: str, limit: int) -> tuple[str, bool]:
    """Customer text as an escaped mrkdwn block quote of at most `limit` chars; (text, truncated)."""
    normalised = _BLANK_LINES_RE.sub("\n\n", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    quoted = "\n".join(f"> {line}" for line in escape_mrkdwn(normalised).split("\n"))
    shown = truncate(quoted, limit)
    return shown, shown != quoted


def _outcome_label(outcome: str | None) -> str | None:
    if not outcome:
        return None
    return OUTCOMES.get(outcome) or escape_mrkdwn(outcome)


# --- the item message ------------------------------------------------------------------------


def _header_text(item: ItemView) -> str:
    if item.kind == "escalation":
        text = "🚨 Escalation"
        if item.priority:
            text += f" · {_one_line(item.priority)}"
        if item.subject and _one_line(item.subject):
            text += f": {_one_line(item.subject)}"
        return text
    emoji = _CATEGORY_EMOJI.get(item.category or "", "⚪")
    kind = kind_label(item.kind)
    if item.score is None:
        return f"{emoji} {kind} · No score"
    text = f"{emoji} {kind} {item.score}"
    if item.category:
        text += f" · {item.category.capitalize()}"
    return text


def _field(label: str, value: str) -> dict[str, Any]:
    # `value` is already escaped; truncate keeps the whole field within Slack's 2000 chars.
    return _mrkdwn(truncate(f"*{label}*\n{value}", FIELD_TEXT_MAX))


def _detail_fields(item: ItemView) -> list[dict[str, Any]]:
    who = " · ".join(
        escaped_truncated(_one_line(part), 500)
        for part in (item.customer_name, item.customer_email)
        if _one_line(part)
    )
    fields = [_field("Customer", who or "_Unknown_")]

    account = escaped_truncated(_one_line(item.account_name), 500)
    if item.vip:
        account = f"{account} · ⭐ VIP" if account else "⭐ VIP"
    if account:
        fields.append(_field("Account", account))

    plan = " · ".join(
        escaped_truncated(_one_line(part), 300) for part in (item.plan, item.segment) if _one_line(part)
    )
    if plan:
        fields.append(_field("Plan · Segment", plan))

    if item.sentiment_label:
        label = SENTIMENT_DISPLAY.get(item.sentiment_label, item.sentiment_label.capitalize())
        sentiment = f"{_SENTIMENT_EMOJI.get(item.sentiment_label, '')} {escape_mrkdwn(label)}"
        if item.sentiment_polarity is not None and item.sentiment_label != "not_analysed":
            sentiment += f" ({item.sentiment_polarity:+.2f})"
        if item.sentiment_reason and item.sentiment_label != "not_analysed":
            # The words that decided, so a reader can disagree with the machine for a reason.
            sentiment += f"\n_{escaped_truncated(_one_line(item.sentiment_reason), 200)}_"
        fields.append(_field("Sentiment", sentiment.strip()))

    if item.themes:
        matched = dict(item.theme_matches)
        fields.append(_field("Themes", escaped_truncated(", ".join(
            theme_label(theme) + (f" (“{matched[theme]}”)" if matched.get(theme) else "")
            for theme in item.themes), 1900)))
    if item.tags:
        fields.append(_field("Tags", escaped_truncated(", ".join(item.tags), 1900)))
    return fields


def _status_text(item: ItemView) -> str:
    if item.status == "open" and not item.needs_follow_up:
        why = "Promoter — thanked" if item.category == "promoter" and item.kind != "escalation" else "Logged"
        route = f" (route: {escaped_truncated(_one_line(item.route_name), 200)})" if item.route_name else ""
        return f"🙏 {why}, no follow-up needed{route}. Claim it if you want to follow up anyway."
    if item.status == "open":
        return "⏳ *Unclaimed*"
    if item.status == "claimed":
        text = f"🙋 Claimed by {user_mention(item.claimed_by) or 'someone'}"
        if item.claimed_at:
            text += f" · {slack_date(item.claimed_at)}"
        return text
    text = f"✅ Resolved by {user_mention(item.resolved_by) or 'someone'}"
    label = _outcome_label(item.outcome)
    if label:
        text += f" — {label}"
    if item.resolved_at:
        text += f" · {slack_date(item.resolved_at)}"
    return text


def _overflow(item: ItemView) -> dict[str, Any]:
    if item.status == "resolved":
        # An overflow needs at least two options; a post-resolution follow-up is the other
        # thing worth doing on a closed item (everything else needs Reopen first).
        choices = [OverflowChoice.NOTE, OverflowChoice.FOLLOW_UP]
    else:
        choices = [
            OverflowChoice.REASSIGN,
            OverflowChoice.NOTE,
            OverflowChoice.FOLLOW_UP,
            OverflowChoice.SNOOZE,
        ]
        if item.status == "claimed":
            choices.insert(0, OverflowChoice.UNCLAIM)
    if item.can_link:
        if len(choices) == 5:
            # Slack allows 5 options. Snoozing only quiets the SLA nudges of *unclaimed* items
            # (bot/schedule/reminders.py), so on a claimed item it gives way to linking.
            choices.remove(OverflowChoice.SNOOZE)
        choices.append(OverflowChoice.LINK_ISSUE)
    labels = {
        OverflowChoice.UNCLAIM: "Unclaim",
        OverflowChoice.REASSIGN: "Reassign…",
        OverflowChoice.NOTE: "Add note",
        OverflowChoice.FOLLOW_UP: "Follow up on…",
        OverflowChoice.SNOOZE: "Snooze reminders",
        OverflowChoice.LINK_ISSUE: "Link to issue…",
    }
    return {
        "type": "overflow",
        "action_id": ActionId.MORE.value,
        # Unclaim carries the version shown: giving up a claim must not remove one made since.
        "options": [_option(labels[c], overflow_value(c, item.item_id, item.version if c == OverflowChoice.UNCLAIM
                                                      else None)) for c in choices],
    }


def _actions(item: ItemView) -> dict[str, Any]:
    value = item_value(item.item_id)
    elements: list[dict[str, Any]] = []
    if item.status == "open":
        # Needing no follow-up, Claim is still there for whoever wants to take it on, just not the call to action.
        elements.append(_button(ActionId.CLAIM, "Claim", value,
                                style="primary" if item.needs_follow_up else None))
        elements.append(_button(ActionId.RESOLVE, "Resolve", value))
    elif item.status == "claimed":
        elements.append(_button(ActionId.RESOLVE, "Resolve", value, style="primary"))
    else:
        elements.append(_button(ActionId.REOPEN, "Reopen", value))
    if item.reply_via:
        elements.append(_button(ActionId.REPLY, "Reply", value))
    if is_link_url(item.url):
        link = _button(ActionId.OPEN_SOURCE, f"Open in {_one_line(item.source) or 'source'}", value)
        link["url"] = item.url
        elements.append(link)
    elements.append(_overflow(item))
    return {"type": "actions", "block_id": "cx_actions", "elements": elements}


def _context(item: ItemView) -> dict[str, Any]:
    parts = [f"#{item.item_id}"]
    team = escaped_truncated(_one_line(item.team), 200)
    if item.route_name:
        parts.append(f"Routed by '{escaped_truncated(_one_line(item.route_name), 200)}' to {team}")
    else:
        parts.append(f"No route matched: default team {team}")
    parts.append(f"from {escaped_truncated(_one_line(item.source), 200)}")
    parts.append(f"received {slack_date(item.received_at)}")
    elements = [_mrkdwn(" · ".join(p for p in parts if p))]
    if item.follow_up_on:
        # A calendar date, not an instant: a <!date> token would shift it by the reader's timezone.
        elements.append(_mrkdwn(f"📅 Follow up on {item.follow_up_on:%a %d %b %Y}"))
    if item.snoozed_until:
        elements.append(_mrkdwn(f"😴 Reminders snoozed until {slack_date(item.snoozed_until)}"))
    if item.issues:
        elements.append(_mrkdwn(truncate("🔗 " + " · ".join(item.issues), 2000)))
    if item.similar_customers:
        elements.append(_mrkdwn(_similar_text(item)))
    return {"type": "context", "block_id": "cx_context", "elements": elements}


def _similar_text(item: ItemView) -> str:
    """ "💬 3 other customers said something similar this month: #12 · #15 · #19" (each a link)."""
    who = "other customer" if item.similar_customers == 1 else "other customers"
    links = " · ".join(f"<{url}|#{other}>" for other, url in item.similar_links if is_link_url(url))
    return truncate(f"💬 {item.similar_customers} {who} said something similar this month"
                    + (f": {links}" if links else ""), 2000)


def _fallback(item: ItemView) -> str:
    parts = [_header_text(item)]
    if item.status != "open":
        parts.append(item.status)
    elif not item.needs_follow_up:
        parts.append("no follow-up needed")
    who = _one_line(item.customer_name) or _one_line(item.customer_email)
    if who:
        parts.append(who + (f" ({_one_line(item.account_name)})" if _one_line(item.account_name) else ""))
    excerpt = truncate(_one_line(item.comment), 80)
    if excerpt:
        parts.append(f"“{excerpt}”")
    # Top-level text is parsed as mrkdwn too, so it is escaped like everything else.
    return escaped_truncated(" — ".join(parts), FALLBACK_MAX)


def item_message(item: ItemView) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for chat.postMessage / chat.update. Raises ValueError on unknown status."""
    if item.status not in STATUSES:
        raise ValueError(f"unknown status: {item.status[:40]!r}")
    blocks: list[Block] = [
        {"type": "header", "block_id": "cx_header", "text": _plain(_header_text(item), HEADER_TEXT_MAX)},
        {"type": "section", "block_id": "cx_details", "fields": _detail_fields(item)[:10]},
    ]
    comment = (item.comment or "").strip()
    if comment:
        quoted, truncated = _quote(comment, SECTION_TEXT_MAX)
        blocks.append({"type": "section", "block_id": "cx_comment", "text": _mrkdwn(quoted)})
        if truncated:
            note = f"{ELLIPSIS} Comment truncated ({len(comment):,} characters in full)"
            note += (
                f"; open it in {escaped_truncated(_one_line(item.source), 200)} to read it all."
                if is_link_url(item.url)
                else "."
            )
            blocks.append({"type": "context", "block_id": "cx_truncated", "elements": [_mrkdwn(note)]})
    else:
        blocks.append({"type": "context", "block_id": "cx_comment", "elements": [_mrkdwn("_No comment._")]})
    blocks.append({"type": "section", "block_id": "cx_status", "text": _mrkdwn(_status_text(item))})
    blocks.append(_actions(item))
    blocks.append(_context(item))
    return _fallback(item), blocks


# --- modals ----------------------------------------------------------------------------------


def _modal(callback_id: ViewId, item_id: int, title: str, submit: str, blocks: list[Block]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id.value,
        # The item id only; the handler re-reads the item from the database.
        "private_metadata": str(item_id),
        "title": _plain(title, MODAL_TITLE_MAX),
        "submit": _plain(submit, MODAL_TITLE_MAX),
        "close": _plain("Cancel", MODAL_TITLE_MAX),
        "blocks": blocks,
    }


def _input(
    input_id: InputId, label: str, element: dict[str, Any], *, optional: bool = False
) -> dict[str, Any]:
    # block_id and action_id are both the InputId, so state.values[id][id] finds the value.
    element = {**element, "action_id": input_id.value}
    return {
        "type": "input",
        "block_id": input_id.value,
        "label": _plain(label, 2000),
        "element": element,
        "optional": optional,
    }


def _note_input(label: str, *, optional: bool) -> dict[str, Any]:
    return _input(
        InputId.NOTE,
        label,
        {"type": "plain_text_input", "multiline": True, "max_length": NOTE_MAX_LENGTH},
        optional=optional,
    )


def resolve_modal(item_id: int, *, summary: str) -> dict[str, Any]:
    """Outcome (required) + note (optional). `summary` is raw text; it is escaped here."""
    outcome = _input(
        InputId.OUTCOME,
        "Outcome",
        {
            "type": "static_select",
            "placeholder": _plain("Choose an outcome", 150),
            "options": [_option(label, key) for key, label in OUTCOMES.items()],
        },
    )
    blocks: list[Block] = []
    if _one_line(summary):
        blocks.append(
            {"type": "section", "block_id": "cx_summary", "text": _mrkdwn(escaped_truncated(summary, 1000))}
        )
    blocks += [outcome, _note_input("Note", optional=True)]
    return _modal(ViewId.RESOLVE, item_id, "Resolve item", "Resolve", blocks)


def reply_modal(item_id: int, *, via: str, to: str) -> dict[str, Any]:
    """Reply to the customer; `via` and `to` are shown so the sender knows where it goes."""
    intro = {"type": "section", "block_id": "cx_reply_to",
             "text": _mrkdwn(f"Your reply goes to *{escaped_truncated(to, 300)}* via {escaped_truncated(via, 50)}, "
                             "and is logged in the thread.")}
    text = _input(InputId.REPLY_TEXT, "Reply", {"type": "plain_text_input", "multiline": True,
                                                "max_length": NOTE_MAX_LENGTH})
    return _modal(ViewId.REPLY, item_id, "Reply to customer", "Send", [intro, text])


def note_modal(item_id: int) -> dict[str, Any]:
    return _modal(ViewId.NOTE, item_id, "Add note", "Add note", [_note_input("Note", optional=False)])


def reassign_modal(item_id: int) -> dict[str, Any]:
    assignee = _input(
        InputId.ASSIGNEE, "Assign to", {"type": "users_select", "placeholder": _plain("Choose a person", 150)}
    )
    return _modal(ViewId.REASSIGN, item_id, "Reassign item", "Reassign", [assignee])


def follow_up_modal(item_id: int, initial: date | None = None) -> dict[str, Any]:
    picker: dict[str, Any] = {"type": "datepicker", "placeholder": _plain("Pick a date", 150)}
    if initial:
        picker["initial_date"] = initial.isoformat()
    return _modal(
        ViewId.FOLLOW_UP, item_id, "Follow up", "Save", [_input(InputId.FOLLOW_UP_ON, "Follow up on", picker)]
    )


def snooze_modal(item_id: int) -> dict[str, Any]:
    options = [_option(hours_label(hours), key) for key, hours in SNOOZE_CHOICES_HOURS.items()]
    select = {"type": "static_select", "options": options, "initial_option": options[0]}
    return _modal(
        ViewId.SNOOZE,
        item_id,
        "Snooze reminders",
        "Snooze",
        [_input(InputId.SNOOZE_FOR, "Snooze for", select)],
    )


# --- small messages --------------------------------------------------------------------------


def thread_note(text: str, quote: str | None = None) -> tuple[str, list[Block]]:
    """Thread reply. `text` is trusted mrkdwn (e.g. f"🙋 {user_mention(uid)} claimed this");
    `quote` is raw user-entered text (a note), escaped and shown as a block quote."""
    head = truncate(text, 1000)
    body = head
    if quote and quote.strip():
        quoted, _ = _quote(quote.strip(), SECTION_TEXT_MAX - len(head) - 1)
        body = f"{head}\n{quoted}"
    return truncate(head, FALLBACK_MAX), [{"type": "section", "text": _mrkdwn(body)}]


def ephemeral_text(text: str) -> list[Block]:
    """One section of trusted mrkdwn, for chat.postEphemeral / respond()."""
    return [{"type": "section", "text": _mrkdwn(truncate(text, SECTION_TEXT_MAX) or " ")}]
