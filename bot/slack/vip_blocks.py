"""Block Kit for the VIP book: the account card, /vip result lists, due lists and the two modals.

Pure builders: plain dicts, no Slack calls, no database. Every stored string (account names, notes,
comments, domains, item labels) comes from customers or CSV files, so it is escaped before it goes
into mrkdwn and truncated after escaping. plain_text (headers, button labels) is never parsed for
mentions, so it is only truncated, as in bot/slack/blocks.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.common.labels import kind_label
from bot.followups.triage import ORDER_LABEL
from bot.slack.blocks import (
    BUTTON_TEXT_MAX,
    FIELD_TEXT_MAX,
    HEADER_TEXT_MAX,
    MODAL_TITLE_MAX,
    NOTE_MAX_LENGTH,
    SECTION_TEXT_MAX,
    is_link_url,
)
from bot.slack.ids import ActionId, InputId, ViewId, account_value
from bot.slack.mrkdwn import ELLIPSIS, escape_mrkdwn, escaped_truncated, slack_date, truncate, user_mention

if TYPE_CHECKING:
    from bot.vip.search import Match

Block = dict[str, Any]

CONTEXT_TEXT_MAX = 2000
NAME_MAX = 200  # an account name inside mrkdwn, after escaping
TOUCH_NOTE_SHOWN = 500  # of the last touch's note on the card
COMMENT_SHOWN = 300  # per comment on the card
COMMENTS_SHOWN = 3
# The card lists every open item; only Slack's limits cut it (50 blocks a message, 3000 characters a
# section). Item lines fill up to ITEM_SECTIONS_MAX sections, which with the card's other blocks
# (at most 11) stays far inside 50; a cut list ends with "… and N more" and the command that lists all.
ITEM_SECTIONS_MAX = 8
ITEM_LINES_PER_SECTION = 15  # keeps one section readable; Slack's 3000 characters may cut it sooner
SCORES_SHOWN = 5
LIST_ROWS_MAX = 45  # rows in a choice or due list; the rest is summarised in one line
SPARK_BARS = "▁▂▃▄▅▆▇█"

TOUCH_CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    "call": ("📞", "Call"),
    "email": ("✉️", "Email"),
    "meeting": ("🤝", "Meeting"),
    "social": ("🌐", "Social"),
    "slack": ("💬", "Slack"),
}
SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "psat": (1, 5), "ces": (1, 7)}
_WHITESPACE_RE = re.compile(r"\s+")
_USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class TouchView:
    when: datetime
    who: str  # Slack user id of whoever logged it
    channel: str  # one of models.account.TOUCH_CHANNELS
    note: str | None


@dataclass(frozen=True)
class ItemLine:
    item_id: int
    label: str  # e.g. "NPS 3 · Detractor"; escaped here
    link: str | None  # permalink or source URL; only http(s) becomes a link
    received_at: datetime
    claimed_by: str | None = None  # Slack user id of whoever holds it; None: unclaimed


@dataclass(frozen=True)
class AccountCard:
    account_id: int
    name: str
    vip: bool
    tier: str | None
    owner: str | None  # Slack user id
    plan: str | None
    arr: float | None
    renewal_on: date | None
    domains: tuple[str, ...]
    cadence_days: int
    cadence_status: str  # from bot.vip.accounts.cadence_status, e.g. "5 days overdue"
    last_touch: TouchView | None
    scores: tuple[tuple[datetime, str, int], ...]  # (when, kind, score), newest first; 5 are shown
    open_items: tuple[ItemLine, ...]  # escalations, detractors (lowest first), passives, promoters
    comments: tuple[tuple[datetime, str], ...]  # (when, text), newest first; 3 are shown
    # The items whose customer words the card shows (open items, comments): a shared card records
    # them, so `cxloop forget` can rewrite it (bot/privacy/erasure.py).
    quoted_items: tuple[int, ...] = ()
    # How many items are open in all (open_items may hold fewer); None: len(open_items).
    open_count: int | None = None
    # Where a cut list can be read whole, e.g. "`/vip items acme`" (mrkdwn, already escaped).
    all_items_hint: str | None = None
    # Issues the account's feedback is linked to, with their status: trusted mrkdwn (bot.product.service).
    issues: tuple[str, ...] = ()


# --- small helpers ---------------------------------------------------------------------------


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def _mrkdwn(text: str, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, limit) or " "}


def _one_line(text: str | None) -> str:
    return _WHITESPACE_RE.sub(" ", text or "").strip()


def _safe(text: str | None, limit: int) -> str:
    """Stored text for mrkdwn: one line, escaped, then truncated."""
    return escaped_truncated(_one_line(text), limit)


def _button(action_id: ActionId, label: str, account_id: int, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id.value,
                              "text": _plain(label, BUTTON_TEXT_MAX), "value": account_value(account_id)}
    if style:
        button["style"] = style
    return button


def _section(block_id: str, text: str, accessory: dict[str, Any] | None = None) -> Block:
    block: Block = {"type": "section", "block_id": block_id, "text": _mrkdwn(text)}
    if accessory:
        block["accessory"] = accessory
    return block


def _context(block_id: str, *texts: str) -> Block:
    return {"type": "context", "block_id": block_id,
            "elements": [_mrkdwn(t, CONTEXT_TEXT_MAX) for t in texts if t][:10] or [_mrkdwn(" ")]}


def _field(label: str, value: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(f"*{label}*\n{value}", FIELD_TEXT_MAX)}


def _quoted(text: str, limit: int) -> str:
    """Customer text as an escaped mrkdwn block quote of at most `limit` characters."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    compact = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return truncate("\n".join(f"> {line}" for line in escape_mrkdwn(compact).split("\n")), limit)


def _query_label(query: str) -> str:
    return _safe(query, 100) or "…"


def _account_name(name: str | None, account_id: int) -> str:
    return _safe(name, NAME_MAX) or f"Account #{account_id}"


def _calendar_date(day: date) -> str:
    # A calendar date, not an instant: a <!date> token would shift it by the reader's timezone.
    return f"{day:%a %d %b %Y}"


def pick_line(name: str | None, reasons: Sequence[str]) -> str:
    """One of today's VIP picks: '*Acme Corp* — 2 open detractors (lowest score 1) · renews in 23 days'."""
    why = " · ".join(escape_mrkdwn(reason) for reason in reasons) or "check-in due"
    return f"*{_safe(name, NAME_MAX) or 'An account'}* — {why}"


def money(amount: float) -> str:
    """1200000 → '$1,200,000'; cents only when there are some."""
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    text = f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"
    return f"{sign}${text}"


def sparkline(values: Sequence[float], low: float, high: float) -> str:
    """One bar per value, ▁ at `low` to █ at `high` (values outside are clamped). '' for no values."""
    if not values:
        return ""
    if high <= low:
        return SPARK_BARS[len(SPARK_BARS) // 2] * len(values)
    top = len(SPARK_BARS) - 1
    bars = []
    for value in values:
        clamped = min(max(float(value), low), high)
        bars.append(SPARK_BARS[int((clamped - low) / (high - low) * top + 0.5)])
    return "".join(bars)


# --- the account card ------------------------------------------------------------------------


def _header(card: AccountCard) -> str:
    name = _one_line(card.name) or f"Account #{card.account_id}"
    suffix = " ⭐ VIP" if card.vip else ""
    return truncate(name, HEADER_TEXT_MAX - len(suffix)) + suffix


def _cadence(card: AccountCard) -> str:
    every = "every day" if card.cadence_days == 1 else f"every {card.cadence_days} days"
    status = _safe(card.cadence_status, 100)
    return f"{every} — {status}" if status else every


def _details(card: AccountCard) -> Block:
    fields = [
        # user_mention escapes anything that is not a Slack user id.
        _field("Owner", truncate(user_mention(_one_line(card.owner)), 100) or "_No owner_"),
        _field("Tier", _safe(card.tier, 300) or "—"),
        _field("Plan", _safe(card.plan, 300) or "—"),
        _field("ARR", money(card.arr) if card.arr is not None else "—"),
        _field("Renewal", _calendar_date(card.renewal_on) if card.renewal_on else "—"),
        _field("Check-in cadence", _cadence(card)),
    ]
    return {"type": "section", "block_id": "vip_details", "fields": fields}


def _touch_text(touch: TouchView | None) -> str:
    if touch is None:
        return "_No touches logged yet._"
    icon, label = TOUCH_CHANNEL_LABELS.get(touch.channel, ("📝", _safe(touch.channel, 20).capitalize() or "Touch"))
    who = user_mention(touch.who) or "someone"
    text = f"{icon} *Last touch:* {label} by {who} · {slack_date(touch.when)}"
    note = (touch.note or "").strip()
    if note:
        text += "\n" + _quoted(note, TOUCH_NOTE_SHOWN)
    return text


def _scores_text(scores: Sequence[tuple[datetime, str, int]]) -> str | None:
    shown = list(scores[:SCORES_SHOWN])
    if not shown:
        return None
    by_kind: dict[str, list[tuple[datetime, int]]] = {}
    for when, kind, score in shown:  # newest first; kinds in the order they were last seen
        by_kind.setdefault(kind, []).append((when, score))
    lines = ["📊 *Recent scores*"]
    for kind, points in by_kind.items():
        points.reverse()  # oldest → newest, left to right
        values = [score for _, score in points]
        low, high = SCORE_RANGES.get(kind.lower(), (min(values), max(values)))
        label = _safe(kind_label(kind), 20) or "Score"
        dates = slack_date(points[0][0], "{date_short}")
        if len(points) > 1:
            dates += f" – {slack_date(points[-1][0], '{date_short}')}"
        lines.append(f"{label} {' · '.join(map(str, values))}  {sparkline(values, low, high)}  ({dates})")
    return "\n".join(lines)


def _link(url: str | None, label: str) -> str:
    """`label` is already escaped. Links that could break the <url|label> syntax stay plain text."""
    if not url or not is_link_url(url) or any(c in url for c in "<>|") or len(url) > 350:
        return label
    return f"<{url.replace('&', '&amp;')}|{label}>"


def item_line(item: ItemLine) -> str:
    """'• <link|NPS 1 · Detractor> · <date> · claimed by @ben' (or '_unclaimed_')."""
    label = _safe(item.label, 150) or f"Item #{item.item_id}"
    holder = f"claimed by {user_mention(_one_line(item.claimed_by))}" if item.claimed_by else "_unclaimed_"
    return f"• {_link(item.link, label)} · {slack_date(item.received_at)} · {truncate(holder, 120)}"


def item_sections(items: Sequence[ItemLine], *, total: int, head: str, block_id: str, max_sections: int,
                  more_hint: str | None) -> list[Block]:
    """`head` and one line per item, in the order given, over at most `max_sections` sections of at most
    3000 characters. When not all `total` items fit, the last line says how many more and `more_hint`."""
    sections: list[list[str]] = [[head]]
    used = len(head)
    shown = 0
    # Room kept in the last section for the "… and N more" line and its hint.
    reserve = 60 + len(more_hint or "")
    for item in items:
        line = item_line(item)
        full = used + len(line) + 1 > SECTION_TEXT_MAX - reserve or len(sections[-1]) > ITEM_LINES_PER_SECTION
        if full:
            if len(sections) == max_sections:
                break
            sections.append([])
            used = 0
        sections[-1].append(line)
        used += len(line) + 1
        shown += 1
    if shown < total:
        more = f"{ELLIPSIS} and {total - shown} more"
        sections[-1].append(f"{more}: {more_hint}" if more_hint else more)
    return [_section(block_id if i == 0 else f"{block_id}_{i}", "\n".join(lines)) for i, lines in enumerate(sections)]


def _item_blocks(card: AccountCard) -> list[Block]:
    total = len(card.open_items) if card.open_count is None else max(card.open_count, len(card.open_items))
    if not total:
        return [_section("vip_items", "📥 *Open items:* none")]
    head = f"📥 *Open items ({total})*, {ORDER_LABEL}"
    return item_sections(card.open_items, total=total, head=head, block_id="vip_items",
                         max_sections=ITEM_SECTIONS_MAX, more_hint=card.all_items_hint)


def _comment_blocks(comments: Sequence[tuple[datetime, str]]) -> list[Block]:
    blocks: list[Block] = []
    for when, text in comments:
        if len(blocks) == COMMENTS_SHOWN:
            break
        if not (text or "").strip():
            continue
        head = f"💬 {slack_date(when)}"
        blocks.append(_section(f"vip_comment_{len(blocks)}", f"{head}\n{_quoted(text, COMMENT_SHOWN)}"))
    return blocks


def _card_actions(card: AccountCard, shareable: bool) -> Block:
    elements = [_button(ActionId.VIP_LOG_TOUCH, "Log touch", card.account_id, style="primary"),
                _button(ActionId.VIP_ASSIGN_OWNER, "Assign owner", card.account_id)]
    if shareable:
        elements.append(_button(ActionId.VIP_SHARE, "Share in channel", card.account_id))
    return {"type": "actions", "block_id": "vip_actions", "elements": elements}


def account_card(card: AccountCard, *, shareable: bool = True) -> list[Block]:
    """The account at a glance, with Log touch / Assign owner (/ Share in channel) buttons.

    At most 11 + ITEM_SECTIONS_MAX blocks, every text within Slack's limits whatever the stored data holds.
    Pass shareable=False when the card is already posted in a channel.
    """
    blocks: list[Block] = [
        {"type": "header", "block_id": "vip_header", "text": _plain(_header(card), HEADER_TEXT_MAX)},
        _details(card),
        _section("vip_last_touch", _touch_text(card.last_touch)),
    ]
    scores = _scores_text(card.scores)
    if scores:
        blocks.append(_section("vip_scores", scores))
    blocks += _item_blocks(card)
    if card.issues:
        blocks.append(_section("vip_issues", truncate("🔗 *Linked issues:* " + " · ".join(card.issues), 3000)))
    blocks += _comment_blocks(card.comments)
    blocks.append(_card_actions(card, shareable))
    context = [f"Account #{card.account_id}"]
    domains = ", ".join(_one_line(d) for d in card.domains if _one_line(d))
    if domains:
        context.append(f"🌐 {escaped_truncated(domains, 1500)}")
    blocks.append(_context("vip_context", " · ".join(context)))
    return blocks


def account_card_text(card: AccountCard) -> str:
    """Fallback `text` for chat.postMessage (notifications, screen readers): escaped, short."""
    parts = [_one_line(card.name) or f"Account #{card.account_id}"]
    if card.vip:
        parts.append("VIP")
    if card.cadence_status:
        parts.append(_one_line(card.cadence_status))
    return escaped_truncated(" · ".join(parts), 300)


def open_items_list(account_id: int, name: str, items: Sequence[ItemLine], *, total: int) -> list[Block]:
    """`/vip items <account>`: every open item, in the card's order, over up to LIST_ROWS_MAX sections."""
    blocks: list[Block] = [{"type": "header", "block_id": "vip_all_items_header",
                            "text": _plain(f"Open items · {_one_line(name) or f'Account #{account_id}'}",
                                           HEADER_TEXT_MAX)}]
    if not total:
        return [*blocks, _section("vip_all_items", "📥 Nothing open. 🎉")]
    head = (f"📥 *{total} open*, {ORDER_LABEL}: escalations (by severity), VIP detractors, detractors, passives, "
            "promoters; oldest first within each")
    return [*blocks, *item_sections(items, total=total, head=head, block_id="vip_all_items",
                                    max_sections=LIST_ROWS_MAX, more_hint=None)]


# --- /vip result lists -----------------------------------------------------------------------


def _match_text(match: Match) -> str:
    text = f"*{_account_name(match.name, match.account_id)}*"
    if match.matched and match.matched != match.name:
        text += f"\n_matched {_safe(match.matched, 400)}_"
    return text


def _match_blocks(matches: Sequence[Match], prefix: str) -> list[Block]:
    return [_section(f"{prefix}_{i}", _match_text(m), _button(ActionId.VIP_OPEN, "Open", m.account_id))
            for i, m in enumerate(matches[:LIST_ROWS_MAX])]


def account_choices(matches: Sequence[Match], query: str) -> list[Block]:
    """'Several accounts match …' and one section per match with an Open button (VIP_OPEN)."""
    head = f"🔎 Several accounts match '{_query_label(query)}'. Pick one:"
    return [_section("vip_choices_head", head), *_match_blocks(matches, "vip_choice")]


def no_match(query: str, suggestions: Sequence[Match]) -> list[Block]:
    """'No account matches …' with Open buttons for the closest accounts, or a hint."""
    head = f"🤷 No account matches '{_query_label(query)}'."
    if not suggestions:
        hint = "Check the spelling, try a domain (`acme.com`) or a contact's e-mail, or add it with `/vip add`."
        return [_section("vip_none_head", f"{head}\n{hint}")]
    return [_section("vip_none_head", f"{head} Closest:"), *_match_blocks(suggestions, "vip_suggestion")]


def due_list(items: Sequence[tuple[int, str, str]], *, title: str) -> list[Block]:
    """(account_id, name, status) rows, in the order given (pass them most overdue first, as
    bot.vip.accounts.due_accounts returns them), each with a Log touch button. Empty → 'Nothing due. 🎉'."""
    blocks: list[Block] = [{"type": "header", "block_id": "vip_due_header",
                            "text": _plain(_one_line(title) or "Due check-ins", HEADER_TEXT_MAX)}]
    if not items:
        blocks.append(_section("vip_due_empty", "Nothing due. 🎉"))
        return blocks
    for i, (account_id, name, status) in enumerate(items[:LIST_ROWS_MAX]):
        text = f"*{_account_name(name, account_id)}* — {_safe(status, 100) or 'due'}"
        blocks.append(_section(f"vip_due_{i}", text,
                               _button(ActionId.VIP_LOG_TOUCH, "Log touch", account_id, style="primary")))
    if len(items) > LIST_ROWS_MAX:
        blocks.append(_context("vip_due_more", f"{ELLIPSIS} and {len(items) - LIST_ROWS_MAX} more"))
    return blocks


# --- modals ----------------------------------------------------------------------------------


def _modal(callback_id: ViewId, account_id: int, title: str, submit: str, blocks: list[Block]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id.value,
        # The account id only; the handler re-reads the account from the database.
        "private_metadata": str(account_id),
        "title": _plain(title, MODAL_TITLE_MAX),
        "submit": _plain(submit, MODAL_TITLE_MAX),
        "close": _plain("Cancel", MODAL_TITLE_MAX),
        "blocks": blocks,
    }


def _input(input_id: InputId, label: str, element: dict[str, Any], *, optional: bool = False) -> Block:
    # block_id and action_id are both the InputId, so state.values[id][id] finds the value.
    return {"type": "input", "block_id": input_id.value, "label": _plain(label, 2000),
            "element": {**element, "action_id": input_id.value}, "optional": optional}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _plain(label, 75), "value": value}


def log_touch_modal(account_id: int, account_name: str) -> dict[str, Any]:
    """Channel (static_select TOUCH_CHANNEL, default call) + optional note (TOUCH_NOTE, ≤ 2900 chars)."""
    options = [_option(f"{icon} {label}", key) for key, (icon, label) in TOUCH_CHANNEL_LABELS.items()]
    channel = _input(InputId.TOUCH_CHANNEL, "How did you reach them?",
                     {"type": "static_select", "options": options, "initial_option": options[0]})
    note = _input(InputId.TOUCH_NOTE, "Note",
                  {"type": "plain_text_input", "multiline": True, "max_length": NOTE_MAX_LENGTH,
                   "placeholder": _plain("What was said, what's next", 150)}, optional=True)
    summary = _section("vip_touch_account", f"Check-in with *{_account_name(account_name, account_id)}*")
    return _modal(ViewId.VIP_TOUCH, account_id, "Log touch", "Log touch", [summary, channel, note])


def assign_owner_modal(account_id: int, account_name: str, current_owner: str | None) -> dict[str, Any]:
    """users_select OWNER, preset to the current owner when there is one."""
    picker: dict[str, Any] = {"type": "users_select", "placeholder": _plain("Choose a person", 150)}
    if current_owner and _USER_ID_RE.match(current_owner):
        picker["initial_user"] = current_owner
    summary = _section("vip_owner_account", f"Owner of *{_account_name(account_name, account_id)}*")
    return _modal(ViewId.VIP_OWNER, account_id, "Assign owner", "Assign",
                  [summary, _input(InputId.OWNER, "Owner", picker)])
