"""Every action_id and callback_id the app sends to Slack, and the small payloads buttons carry.

Slack echoes these strings back in interactions; keeping them in one enum means the Block Kit
builders and the listeners cannot drift apart.
"""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    CLAIM = "cx_claim"
    RESOLVE = "cx_resolve"
    REOPEN = "cx_reopen"
    OPEN_SOURCE = "cx_open_source"  # link button: Slack still sends block_actions, which we only ack
    MORE = "cx_more"  # the overflow menu
    # VIP book
    VIP_OPEN = "cx_vip_open"  # pick one account from a /vip result list
    VIP_LOG_TOUCH = "cx_vip_log_touch"
    VIP_ASSIGN_OWNER = "cx_vip_assign_owner"
    VIP_SHARE = "cx_vip_share"  # post the card in the channel instead of only to me
    HOME_RESOLVE = "cx_home_resolve"  # Resolve from the App Home
    # Reminder DMs
    FOLLOW_UP_PUSH = "cx_follow_up_push"  # push the follow-up date to the next working day
    FOLLOW_UP_PICK = "cx_follow_up_pick"  # open the date picker
    VIP_SNOOZE = "cx_vip_snooze"  # no check-in reminder for this account for a week
    REPLY = "cx_reply"  # reply to the customer (through the source, or by e-mail)
    # A linked issue shipped: tell the customer (the drafted reply), all of this person's, or skip one.
    SHIP_SEND = "cx_ship_send"
    SHIP_SEND_ALL = "cx_ship_send_all"
    SHIP_SKIP = "cx_ship_skip"
    # The drafted status report's DM: post it in the team channel, or open it as Markdown.
    STATUS_SHARE = "cx_status_share"
    STATUS_MARKDOWN = "cx_status_markdown"


class ShortcutId(StrEnum):
    ESCALATE = "cx_escalate"  # message shortcut "Escalate to CX"


class OverflowChoice(StrEnum):
    UNCLAIM = "unclaim"
    REASSIGN = "reassign"
    NOTE = "note"
    FOLLOW_UP = "follow_up"
    SNOOZE = "snooze"
    LINK_ISSUE = "link_issue"


class ViewId(StrEnum):
    RESOLVE = "cx_resolve_modal"
    REASSIGN = "cx_reassign_modal"
    NOTE = "cx_note_modal"
    FOLLOW_UP = "cx_follow_up_modal"
    SNOOZE = "cx_snooze_modal"
    VIP_TOUCH = "cx_vip_touch_modal"
    VIP_OWNER = "cx_vip_owner_modal"
    ESCALATE = "cx_escalate_modal"
    REPLY = "cx_reply_modal"
    LINK_ISSUE = "cx_link_issue_modal"
    STATUS_MARKDOWN = "cx_status_markdown_modal"


# Inputs inside modals: block ids and action ids, read back from view.state.values.
class InputId(StrEnum):
    OUTCOME = "outcome"
    NOTE = "note"
    ASSIGNEE = "assignee"
    FOLLOW_UP_ON = "follow_up_on"
    SNOOZE_FOR = "snooze_for"
    TOUCH_CHANNEL = "touch_channel"
    TOUCH_NOTE = "touch_note"
    OWNER = "owner"
    CUSTOMER = "customer"
    SEVERITY = "severity"
    TEAM = "team"
    REPLY_TEXT = "reply_text"
    ISSUE_REF = "issue_ref"
    ISSUE_TITLE = "issue_title"
    ISSUE_BODY = "issue_body"
    TRACKER = "tracker"


OUTCOMES: dict[str, str] = {
    "contacted": "Contacted customer",
    "fixed": "Fixed",
    "no_response": "No response",
    "not_actionable": "Not actionable",
    # A feature request or an idea handed to the product team: dealt with for CX, not "not actionable".
    "logged_for_product": "Logged for product",
    "churn_risk": "Churn risk",
}

SNOOZE_CHOICES_HOURS: dict[str, int] = {"1d": 24, "3d": 72, "7d": 168}

SEVERITIES: dict[str, str] = {"urgent": "🔴 Urgent", "high": "🟠 High", "normal": "🟡 Normal", "low": "⚪ Low"}


# Record ids are INTEGER columns (32-bit on Postgres): an id from Slack above this cannot exist.
MAX_ID = 2**31 - 1


def account_value(account_id: int) -> str:
    return f"account:{account_id}"


def item_value(item_id: int) -> str:
    """Button value for an item: its id only. State is read from the database, never trusted from Slack."""
    return f"item:{item_id}"


def overflow_value(choice: OverflowChoice, item_id: int, version: int | None = None) -> str:
    """'unclaim:42', or 'unclaim:42@7' with the follow-up version the message showed: not state (that
    is read from the database), a precondition, so a click prepared before a change loses; a forged
    version can only make the click lose."""
    return f"{choice.value}:{item_id}" + (f"@{version}" if version is not None else "")


def split_version(value: str) -> tuple[str, int | None]:
    """'unclaim:42@7' -> ('unclaim:42', 7); a value without a version (older messages) -> (value, None).
    Raises ValueError on a version that is not a small non-negative integer."""
    if not isinstance(value, str) or "@" not in value:
        return value, None
    head, _, raw = value.rpartition("@")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_ID:
        raise ValueError(f"not a version: {value[:40]!r}")
    return head, int(raw)


def parse_item_value(value: str) -> tuple[str, int]:
    """'item:42' -> ('item', 42); 'note:42' -> ('note', 42). Raises ValueError on anything else."""
    if not isinstance(value, str):
        raise ValueError(f"not an item value: {type(value).__name__}")
    prefix, sep, raw_id = value.partition(":")
    # ASCII digits ("²".isdigit() is true), at most MAX_ID: a larger id overflows Postgres's integer column.
    if not sep or not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 10 or int(raw_id) > MAX_ID:
        raise ValueError(f"not an item value: {value[:40]!r}")
    return prefix, int(raw_id)
