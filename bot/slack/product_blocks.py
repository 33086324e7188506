"""Block Kit of the product loop: the "Link to issue" modal, the "shipped: tell your customers"
message, and the `/cxloop demand` answer. Plain dicts, no Slack calls, no database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.slack.blocks import (
    NOTE_MAX_LENGTH,
    SECTION_TEXT_MAX,
    _button,
    _input,
    _modal,
    _mrkdwn,
    _option,
    _plain,
)
from bot.slack.ids import ActionId, InputId, ViewId
from bot.slack.mrkdwn import escaped_truncated, truncate, user_mention

# A message holds at most 50 blocks: each customer takes two, the head and the "Send to all" two more.
SHIP_ENTRIES_MAX = 20
DEMAND_LIMIT = 15


def link_modal(item_id: int, *, summary: str, title: str, body: str,
               trackers: list[tuple[str, str]]) -> dict[str, Any]:
    """Link an existing issue (URL or key), or create a new one with the prefilled title and body."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": "cx_summary", "text": _mrkdwn(escaped_truncated(summary, 1000))},
        _input(InputId.ISSUE_REF, "Existing issue (URL or key)",
               {"type": "plain_text_input", "max_length": 300,
                "placeholder": _plain("https://github.com/owner/repo/issues/42", 150)}, optional=True),
        {"type": "context", "elements": [_mrkdwn("Leave it empty to create a new issue from the fields below.")]},
        _input(InputId.ISSUE_TITLE, "New issue: title",
               {"type": "plain_text_input", "max_length": 250, "initial_value": truncate(title, 250)}, optional=True),
        _input(InputId.ISSUE_BODY, "New issue: description",
               {"type": "plain_text_input", "multiline": True, "max_length": NOTE_MAX_LENGTH,
                "initial_value": truncate(body, NOTE_MAX_LENGTH)}, optional=True),
    ]
    if len(trackers) > 1:
        options = [_option(label, name) for name, label in trackers]
        blocks.append(_input(InputId.TRACKER, "Create it in",
                             {"type": "static_select", "options": options, "initial_option": options[0]}))
    return _modal(ViewId.LINK_ISSUE, item_id, "Link to issue", "Link", blocks)


@dataclass(frozen=True)
class ShipEntry:
    link_id: int
    item_id: int
    customer: str | None
    account: str | None
    comment: str | None
    draft: str
    via: str | None  # how a reply reaches this customer; None: it cannot
    status: str  # pending | told | skipped
    by: str | None = None


def link_value(link_id: int) -> str:
    return f"link:{link_id}"


def issue_value(issue_id: int) -> str:
    return f"issue:{issue_id}"


def shipped_message(*, issue_id: int, link: str, title: str | None,
                    entries: list[ShipEntry]) -> tuple[str, list[dict[str, Any]]]:
    """`link` is trusted mrkdwn (`<url|acme/app#42>`); everything from customers is escaped here."""
    head = f"🚀 *Shipped:* {link}" + (f" — {escaped_truncated(title, 300)}" if title else "")
    pending = [e for e in entries if e.status == "pending" and e.via]
    head += f"\n{len(entries)} of your customer(s) asked for this. Tell them?"
    blocks: list[dict[str, Any]] = [{"type": "section", "block_id": "cx_ship_head", "text": _mrkdwn(head)}]
    for entry in entries[:SHIP_ENTRIES_MAX]:
        who = escaped_truncated(entry.customer or "Unknown customer", 200)
        if entry.account:
            who += f" ({escaped_truncated(entry.account, 200)})"
        lines = [f"*{who}* · item #{entry.item_id}"]
        if entry.comment:
            lines.append("> " + escaped_truncated(" ".join(entry.comment.split()), 300))
        if entry.status == "told":
            lines.append(f"✅ Told by {user_mention(entry.by) or 'someone'}")
        elif entry.status == "skipped":
            lines.append(f"⏭️ Skipped by {user_mention(entry.by) or 'someone'}")
        elif entry.via:
            lines.append(f"Draft reply (via {escaped_truncated(entry.via, 80)}):\n"
                         + "\n".join("> " + line for line in escaped_truncated(entry.draft, 1200).splitlines()))
        else:
            lines.append("_This customer cannot be reached from here: tell them yourself._")
        section: dict[str, Any] = {"type": "section", "block_id": f"cx_ship_{entry.link_id}",
                                   "text": _mrkdwn(truncate("\n".join(lines), SECTION_TEXT_MAX))}
        blocks.append(section)
        if entry.status == "pending":
            buttons = [_button(ActionId.SHIP_SKIP, "Skip", link_value(entry.link_id))]
            if entry.via:
                buttons.insert(0, _button(ActionId.SHIP_SEND, "Send", link_value(entry.link_id), style="primary"))
            blocks.append({"type": "actions", "block_id": f"cx_ship_actions_{entry.link_id}", "elements": buttons})
    if len(entries) > SHIP_ENTRIES_MAX:
        blocks.append({"type": "context", "elements": [
            _mrkdwn(f"… and {len(entries) - SHIP_ENTRIES_MAX} more: *Send to all* includes them.")]})
    if len(pending) > 1:
        blocks.append({"type": "actions", "block_id": "cx_ship_all", "elements": [
            _button(ActionId.SHIP_SEND_ALL, f"Send to all {len(pending)}", issue_value(issue_id), style="primary")]})
    text = truncate(f"Shipped: {title or 'an issue'} — tell {len(entries)} customer(s)", 300)
    return text, blocks


@dataclass(frozen=True)
class DemandRow:
    link: str  # trusted mrkdwn
    title: str | None
    customers: int
    arr: float
    vip_accounts: int
    detractors: int
    status: str
    age_days: int  # since its first linked feedback
    url: str | None = None
    label: str = ""  # plain text: `acme/app#42`
    told: int = 0  # customers told it shipped
    days_to_ship: float | None = None  # from its first linked feedback to shipped


def demand_text(rows: list[DemandRow]) -> str:
    if not rows:
        return ("No feedback is linked to an issue yet. Link an item from its ⋯ menu (*Link to issue…*) or with "
                "`cxloop link ITEM_ID ISSUE_URL`.")
    lines = ["*Demand: linked issues, by customers and ARR behind them*"]
    for rank, row in enumerate(rows[:DEMAND_LIMIT], 1):
        title = f" {escaped_truncated(row.title, 80)}" if row.title else ""
        figures = [f"{row.customers} customer{'s' if row.customers != 1 else ''}"]
        if row.arr:
            figures.append(f"${row.arr:,.0f} ARR")
        if row.vip_accounts:
            figures.append(f"{row.vip_accounts} VIP")
        if row.detractors:
            figures.append(f"{row.detractors} detractor{'s' if row.detractors != 1 else ''}")
        figures += [row.status, f"{row.age_days} d old"]
        if row.told:
            figures.append(f"{row.told} told")
        lines.append(f"{rank}. {row.link}{title} — {' · '.join(figures)}")
    if len(rows) > DEMAND_LIMIT:
        lines.append(f"… and {len(rows) - DEMAND_LIMIT} more.")
    return "\n".join(lines)
